"""The privacy center's "who received my data" (TH-DSR-01, TH-USE-01), in Thai and English."""

from __future__ import annotations

from datetime import UTC, datetime

from rujai.disclosures import service as disclosures_service
from rujai.web.i18n import format_date
from rujai.writer import session_scope
from tests.factories import make_consent
from tests.web import seeding


def _disclose(factory, keyring, policy, customer, *, recipient, purpose, categories) -> None:
    with session_scope(factory) as s:
        disclosures_service.disclose(
            s, policy=policy, keyring=keyring, subject_ids=[customer.id], recipient=recipient,
            purpose=purpose, categories=categories, channel="audience_export",
            now=datetime.now(UTC), actor="test",
        )  # fmt: skip


def test_my_data_lists_who_received_it_th_dsr_01(signed_in, customer, factory, keyring, policy):
    empty = signed_in.get("/privacy/data").text
    assert "เรายังไม่เคยส่งข้อมูลของคุณให้ผู้อื่น" in empty
    with session_scope(factory) as s:
        make_consent(s, keyring, policy, "email_marketing", customer_id=seeding.SIGNED_IN,
                     now=datetime.now(UTC))  # fmt: skip
    _disclose(factory, keyring, policy, customer, recipient="lumen_mail",
              purpose="email_marketing", categories=["contact"])  # fmt: skip
    _disclose(factory, keyring, policy, customer, recipient="swift_delivery",
              purpose="order_fulfilment", categories=["contact"])  # fmt: skip
    thai = signed_in.get("/privacy/data").text
    assert "ใครได้รับข้อมูลของคุณ" in thai
    assert "Lumen Mail Pte. Ltd.</strong> (SG)" in thai
    assert "Siam Swift Delivery Co., Ltd.</strong> (TH)" in thai
    assert "การโอนไปต่างประเทศ" in thai  # Singapore, under standard clauses (TH-XB-01)
    assert format_date(datetime.now(UTC), "th") in thai  # Buddhist Era, Bangkok day
    english = signed_in.get("/privacy/data?lang=en").text
    assert "Who received your data" in english
    assert "1 times, last on" in english
    assert "A processor working on our behalf" in english
