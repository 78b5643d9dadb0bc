"""Disclosures through the door, on SQLite and PostgreSQL: refusals with their reason, the log,
and what the log feeds (the subject's copy, the record of processing), and erasure."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rujai.audit import service as audit_service
from rujai.disclosures import flows, service
from rujai.disclosures.models import Disclosure
from rujai.disclosures.pseudonym import subject_ref
from rujai.disclosures.schemas import DisclosureFilter, ExportCreate
from rujai.errors import PolicyDenied
from rujai.policy.ropa import build_ropa
from rujai.rights import erasure, export as rights_export, verify
from rujai.writer import session_scope
from tests.disclosures.helpers import TRAITS, customer, edited
from tests.factories import NOW, rights_permit


def _export(session, keyring, policy, *, recipient="lumen_mail", purpose="email_marketing",
            categories=("contact", "identity"), customers=("C-1",), fmt="json"):  # fmt: skip
    body = ExportCreate(
        recipient=recipient, purpose=purpose, categories=list(categories),
        customer_ids=list(customers), format=fmt,
    )  # fmt: skip
    return flows.export_audience(
        session, policy=policy, keyring=keyring, body=body, now=NOW, actor="test"
    )


def _rows(session) -> int:
    return session.scalar(select(func.count()).select_from(Disclosure))


REFUSALS = [
    ("undeclared_recipient_TH_USE_01", {}, "nobody_ltd", "email_marketing", "unknown_recipient"),
    ("abroad_without_mechanism_TH_XB_01", {"mechanism": "none"}, "lumen_mail", "email_marketing",
     "no_transfer_mechanism"),
    ("expired_mechanism_TH_XB_01", {"mechanism_expires": "2026-11-30"}, "lumen_mail",
     "email_marketing", "transfer_mechanism_expired"),
    ("processor_without_agreement_TH_PRC_01", {"agreement": None}, "swift_delivery",
     "order_fulfilment", "no_processor_agreement"),
    ("expired_agreement_TH_PRC_01", {"agreement.expires": "2026-11-30"}, "lumen_mail",
     "email_marketing", "processor_agreement_expired"),
    ("purpose_outside_agreement_TH_PRC_01", {"agreement.purposes": ["personalized_offers"]},
     "lumen_mail", "email_marketing", "purpose_not_in_agreement"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "recipient", "purpose", "reason"),
    [c[1:] for c in REFUSALS],
    ids=[c[0] for c in REFUSALS],
)
def test_a_refused_flow_raises_its_reason_logs_nothing_and_audits_counts(
    factory, keyring, policy, edit, recipient, purpose, reason
):
    """TH-USE-01, TH-XB-01, TH-PRC-01: an undeclared recipient, a country without a transfer
    mechanism or with a lapsed one, a processor without an agreement, with a lapsed one or outside
    it: refused with its reason code, naming the recipient and country, nothing sent or logged."""
    changed = edited(policy, recipient, **edit) if edit else policy
    with session_scope(factory) as s:
        customer(s, keyring, changed, "C-1", grants=("email_marketing",))
    with pytest.raises(PolicyDenied) as caught, session_scope(factory) as s:
        _export(s, keyring, changed, recipient=recipient, purpose=purpose, categories=["contact"])
    assert caught.value.reason == reason
    if recipient != "nobody_ltd":
        declared = changed.recipients[recipient]
        assert f"{declared.name} ({declared.country})" in caught.value.message
    assert "C-1" not in caught.value.message
    with session_scope(factory) as s:
        assert _rows(s) == 0
        entries = audit_service.list_entries(s, action="policy.authorize_disclosure", limit=5)
    assert [(e.outcome, e.detail["asked"]) for e in entries] == [(reason, 1)]  # kept on rollback


def test_a_withdrawn_subject_is_left_out_and_counted_th_con_03(session, keyring, policy):
    """TH-USE-01, TH-CON-03: only subjects whose basis holds now are sent; the rest are counts."""
    kept = customer(session, keyring, policy, "C-1", grants=("email_marketing",))
    customer(session, keyring, policy, "C-2", grants=("email_marketing",),
             withdraws=("email_marketing",))  # fmt: skip
    customer(session, keyring, policy, "C-3")
    result = _export(session, keyring, policy, customers=("C-1", "C-2", "C-3", "C-404"))
    assert (result.asked, result.disclosed) == (4, 1)
    assert result.refused == {"no_consent": 1, "unknown_subject": 1, "withdrawn": 1}
    document = json.loads(result.content)
    ref = subject_ref(keyring, recipient="lumen_mail", subject_id=kept)
    assert [r["subject_ref"] for r in document["records"]] == [ref]
    assert document["records"][0]["traits"] == TRAITS  # contact and identity, as asked
    for customer_id in ("C-1", "C-2", "C-3"):
        assert customer_id not in result.content
    assert str(kept) not in result.content  # the recipient's pseudonym, never rujai's id
    assert _rows(session) == 1


def test_only_the_permitted_categories_leave(session, keyring, policy):
    """TH-PUR-01: asking for contact only sends the e-mail, not the name."""
    customer(session, keyring, policy, "C-1", grants=("email_marketing",))
    result = _export(session, keyring, policy, categories=["contact"], fmt="csv")
    header, row = result.content.splitlines()
    assert header == "subject_ref,email,events"
    assert "somchai.j@example.com" in row
    assert "สมชาย" not in result.content


def test_each_allowed_subject_is_logged_with_the_flow_in_one_audit_entry(session, keyring, policy):
    """TH-USE-01: recipient, purpose, basis, country, mechanism, processor, channel, batch."""
    sid = customer(session, keyring, policy, "C-1", grants=("email_marketing",))
    result = _export(session, keyring, policy)
    row = session.scalars(select(Disclosure)).one()
    assert (row.subject_id, row.batch_id, row.recipient, row.purpose) == (
        sid, result.batch_id, "lumen_mail", "email_marketing",
    )  # fmt: skip
    assert (row.basis, row.with_consent, row.country, row.mechanism, row.processor) == (
        "consent", True, "SG", "standard_clauses", True,
    )  # fmt: skip
    assert (row.channel, row.policy_version, row.categories) == (
        "audience_export", policy.version, ["contact", "identity"],
    )  # fmt: skip
    sent = audit_service.list_entries(session, action="disclosure.sent", limit=5)
    assert [e.detail["batch_id"] for e in sent] == [str(result.batch_id)]
    assert sent[0].detail["disclosed"] == 1
    assert "somchai" not in json.dumps([e.detail for e in sent])
    [door] = audit_service.list_entries(session, action="policy.authorize_disclosure", limit=5)
    assert door.subject_id is None  # one entry per flow, counts only
    assert (door.detail["asked"], door.detail["granted"], door.detail["refused"]) == (1, 1, {})
    assert (door.detail["recipient"], door.detail["country"]) == ("lumen_mail", "SG")


def test_an_allowed_disclosure_is_in_the_subjects_access_export_th_dsr_01(session, keyring, policy):
    sid = customer(session, keyring, policy, "C-1", grants=("email_marketing",))
    _export(session, keyring, policy)
    permit = rights_permit(session, keyring, policy, sid)
    document = rights_export.collect(
        session, keyring=keyring, policy=policy, permit=permit, subject_id=sid, now=NOW
    )
    [shown] = document.disclosures
    assert (shown.recipient, shown.recipient_name, shown.country) == (
        "lumen_mail", "Lumen Mail Pte. Ltd.", "SG",
    )  # fmt: skip
    assert shown.subject_ref == subject_ref(keyring, recipient="lumen_mail", subject_id=sid)
    copy = rights_export.build_export(
        session, keyring=keyring, policy=policy, subject_id=sid, now=NOW
    )
    with zipfile.ZipFile(io.BytesIO(copy)) as archive:
        table = archive.read("csv/disclosures.csv").decode("utf-8-sig")
        summary = archive.read("summary.html").decode()
    assert shown.subject_ref in table
    assert "ข้อมูลของคุณที่ส่งให้ผู้รับ" in summary
    assert "Who received your data" in summary
    assert "Lumen Mail Pte. Ltd." in summary


def test_the_record_of_processing_counts_disclosures_and_those_without_consent_th_ropa_01(
    session, keyring, policy
):
    """TH-ROPA-01, TH-USE-01 (s.27): per recipient and purpose, and those made without consent."""
    for cid in ("C-1", "C-2"):
        customer(session, keyring, policy, cid, grants=("email_marketing",))
    _export(session, keyring, policy, customers=("C-1", "C-2"))
    _export(session, keyring, policy, recipient="swift_delivery", purpose="order_fulfilment",
            categories=["contact"], customers=("C-1",))  # fmt: skip
    stats = {(s.recipient, s.purpose): s for s in service.ropa_stats(session)}
    mail = stats[("lumen_mail", "email_marketing")]
    assert (mail.disclosures, mail.subjects, mail.without_consent) == (2, 2, 0)
    delivery = stats[("swift_delivery", "order_fulfilment")]
    assert (delivery.basis, delivery.without_consent, delivery.country) == ("contract", 1, "TH")
    for lang in ("th", "en"):
        rows = build_ropa(policy, lang, disclosures=service.ropa_counts(session))
        by_purpose = {r.purpose_id: r for r in rows}
        assert by_purpose["order_fulfilment"].disclosures_without_consent == 1
        assert by_purpose["email_marketing"].disclosures_without_consent == 0
        [line] = by_purpose["order_fulfilment"].disclosures
        assert line.startswith("Siam Swift Delivery Co., Ltd. (TH): 1")
        assert ("ครั้ง" in line) == (lang == "th")


def test_the_dpo_list_shows_flows_with_counts_and_filters(session, keyring, policy):
    customer(session, keyring, policy, "C-1", grants=("email_marketing",))
    first = _export(session, keyring, policy)
    _export(session, keyring, policy, recipient="swift_delivery", purpose="order_fulfilment",
            categories=["contact"])  # fmt: skip
    everything = service.list_batches(session, filters=DisclosureFilter())
    assert len(everything) == 2
    mail = service.list_batches(session, filters=DisclosureFilter(recipient="lumen_mail"))
    assert [(b.batch_id, b.subjects, b.categories) for b in mail] == [
        (first.batch_id, 1, ["contact", "identity"])
    ]
    later = DisclosureFilter(since=NOW + timedelta(seconds=1))
    assert service.list_batches(session, filters=later) == []


def test_erasure_cuts_the_link_and_leaves_the_anonymous_row_th_dsr_04(factory, keyring, policy):
    """The subject goes; the row stays for s.39 with the recipient's pseudonym, unlinked."""
    with session_scope(factory) as s:
        sid = customer(s, keyring, policy, "C-1", grants=("email_marketing",))
        _export(s, keyring, policy)
    with session_scope(factory) as s:
        report = erasure.erase(
            s, keyring=keyring, policy=policy, subject_id=sid, request_id=None, now=NOW,
            actor="test",
        )  # fmt: skip
    assert report.is_complete, report.leftovers
    with session_scope(factory) as s:
        row = s.scalars(select(Disclosure)).one()
        assert row.subject_id is None
        assert row.subject_ref == subject_ref(keyring, recipient="lumen_mail", subject_id=sid)
        assert verify.scan(s, keyring=keyring, customer_id="C-1").leftovers == []
        assert service.ropa_stats(s)[0].disclosures == 1
