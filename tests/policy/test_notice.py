"""The privacy notice (TH-NOT-01) and the per-purpose consent text and hash (TH-CON-04)."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Any

import pytest
from hypothesis import assume, given, settings, strategies as st

from rujai.policy.errors import PurposeNotFound
from rujai.policy.labels import format_date, retention_phrase
from rujai.policy.notice import (
    list_purposes,
    notice_html,
    purpose_notice_hash,
    purpose_notice_text,
    render_notice,
)
from rujai.policy.schemas import Lang, Policy

LANGS: tuple[Lang, ...] = ("th", "en")


def _with(policy: Policy, purpose_id: str, **changes: Any) -> Policy:
    data = policy.model_dump(mode="json")
    data["purposes"][purpose_id].update(changes)
    return Policy.model_validate(data)


@pytest.mark.parametrize("lang", LANGS)
def test_notice_lists_every_purpose_with_basis_data_and_retention(
    policy: Policy, lang: Lang
) -> None:
    notice = render_notice(policy, lang)
    assert [p.id for p in notice.purposes] == list(policy.purposes)
    health = next(p for p in notice.purposes if p.id == "health_tailored_offers")
    assert health.basis_label == ("ความยินยอมโดยชัดแจ้ง" if lang == "th" else "Your explicit consent")
    assert health.categories[0].sensitive
    assert health.categories[0].title == policy.categories["health"].title.get(lang)
    assert health.retention == ("1 ปี" if lang == "th" else "1 year")
    assert health.retention_days == 365


def test_notice_is_in_the_requested_language(policy: Policy) -> None:
    th, en = render_notice(policy, "th"), render_notice(policy, "en")
    assert th.purposes[0].title == policy.purposes["recommendations"].title.th
    assert en.purposes[0].title == policy.purposes["recommendations"].title.en
    assert th.controller.name == policy.controller.name.th
    assert en.controller.address == policy.controller.address.en


def test_notice_shows_controller_and_dpo_contacts_th_dpo_01(policy: Policy) -> None:
    notice = render_notice(policy, "en")
    assert notice.controller.email == "privacy@example.com"
    assert notice.dpo.email == "dpo@example.com"
    assert notice.dpo.phone == policy.controller.dpo.phone
    assert "dpo@example.com" in notice.how_to_exercise


def test_required_purpose_says_what_happens_without_the_data(policy: Policy) -> None:
    notice = render_notice(policy, "en")
    order = next(p for p in notice.purposes if p.id == "order_fulfilment")
    assert order.required
    assert order.consequence == "Without this data we cannot deliver your order."
    optional = next(p for p in notice.purposes if p.id == "email_marketing")
    assert not optional.required
    assert optional.consequence is not None
    assert "withdraw" in optional.consequence


@pytest.mark.parametrize("lang", LANGS)
def test_notice_lists_all_rights_and_the_pdpc_complaint_s73(policy: Policy, lang: Lang) -> None:
    notice = render_notice(policy, lang)
    assert [r.id for r in notice.rights] == [
        "access",
        "portability",
        "rectification",
        "erasure",
        "restriction",
        "objection",
        "object_profiling",
        "withdraw_consent",
    ]
    assert all(r.title and r.text for r in notice.rights)
    assert "73" in notice.complaint
    assert ("สคส." if lang == "th" else "PDPC") in notice.complaint


def test_notice_marks_transfers_abroad_with_their_mechanism_th_xb_01(policy: Policy) -> None:
    notice = render_notice(policy, "en")
    by_id = {r.id: r for r in notice.recipients}
    assert by_id["lumen_mail"].abroad
    assert by_id["lumen_mail"].mechanism_label == "Standard data protection clauses"
    assert not by_id["swift_delivery"].abroad
    offers = next(p for p in notice.purposes if p.id == "personalized_offers")
    assert offers.recipients == ["lumen_mail"]
    assert by_id["chao_phraya_pay"].purposes == ["order_fulfilment", "fraud_prevention"]


def test_notice_version_is_policy_version_plus_short_hash(policy: Policy) -> None:
    notice = render_notice(policy, "th")
    assert notice.policy_version == policy.version
    assert re.fullmatch(r"[0-9a-f]{12}", notice.content_hash)
    assert notice.version == f"{policy.version}+{notice.content_hash}"
    changed = _with(policy, "analytics", retention_days=90)
    assert render_notice(changed, "th").content_hash != notice.content_hash


@pytest.mark.parametrize(
    ("days", "th", "en"),
    [
        (1, "1 วัน", "1 day"),
        (45, "45 วัน", "45 days"),
        (30, "1 เดือน", "1 month"),
        (180, "6 เดือน", "6 months"),
        (365, "1 ปี", "1 year"),
        (1825, "5 ปี", "5 years"),
    ],
)
def test_retention_phrase(days: int, th: str, en: str) -> None:
    assert retention_phrase(days, "th") == th
    assert retention_phrase(days, "en") == en


def test_thai_dates_are_in_the_buddhist_era() -> None:
    assert format_date(date(2025, 1, 15), "th") == "15 มกราคม พ.ศ. 2568"
    assert format_date(date(2025, 12, 31), "en") == "31 December 2025"


@pytest.mark.parametrize("lang", LANGS)
def test_notice_html_is_self_contained_with_lang(policy: Policy, lang: Lang) -> None:
    html = notice_html(render_notice(policy, lang))
    assert f'<html lang="{lang}">' in html
    for external in ("http://", "https://", "<script", "<link", " src="):
        assert external not in html
    assert "dpo@example.com" in html
    assert ("พ.ศ. 2568" if lang == "th" else "15 January 2025") in html
    for purpose in policy.purposes.values():
        assert purpose.title.get(lang) in html


def test_notice_html_escapes_policy_text(policy: Policy) -> None:
    hostile = _with(policy, "analytics", title={"th": "<b>วิเคราะห์</b>", "en": "<script>x</script>"})
    html = notice_html(render_notice(hostile, "en"))
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_purpose_notice_text_has_title_data_consequence_and_version(policy: Policy) -> None:
    text = purpose_notice_text(policy, "personalized_offers", "en")
    assert text.splitlines()[0] == "Personalized offers and coupons"
    assert "Contact details" in text
    assert "Lumen Mail Pte. Ltd. (SG)" in text
    assert "you can withdraw" in text
    assert text.endswith("Notice version: 2")


def test_sensitive_purpose_text_asks_for_explicit_consent_th_sen_01(policy: Policy) -> None:
    text = purpose_notice_text(policy, "health_tailored_offers", "th")
    assert "ความยินยอมโดยชัดแจ้ง" in text
    assert "[ข้อมูลอ่อนไหว]" in text


def test_purpose_notice_hash_is_sha256_of_the_text_th_con_04(policy: Policy) -> None:
    for lang in LANGS:
        text = purpose_notice_text(policy, "recommendations", lang)
        expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert purpose_notice_hash(policy, "recommendations", lang) == expected
    assert purpose_notice_hash(policy, "recommendations", "th") != purpose_notice_hash(
        policy, "recommendations", "en"
    )


def test_purpose_notice_hash_changes_with_the_notice_version(policy: Policy) -> None:
    bumped = _with(policy, "recommendations", notice={"version": 2, "material_version": 1})
    assert purpose_notice_hash(bumped, "recommendations", "th") != purpose_notice_hash(
        policy, "recommendations", "th"
    )


@settings(max_examples=40, deadline=None)
@given(
    field=st.sampled_from(["title", "description"]),
    lang=st.sampled_from(LANGS),
    new_text=st.text(min_size=1, max_size=40).filter(lambda t: t.strip() == t and t.strip()),
)
def test_purpose_notice_hash_changes_when_its_text_changes_th_con_04(
    policy: Policy, field: str, lang: Lang, new_text: str
) -> None:
    old = getattr(policy.purposes["email_marketing"], field)
    assume(old.get(lang) != new_text)
    texts = old.model_dump() | {lang: new_text}
    changed = _with(policy, "email_marketing", **{field: texts})
    assert purpose_notice_hash(changed, "email_marketing", lang) != purpose_notice_hash(
        policy, "email_marketing", lang
    )
    assert purpose_notice_hash(changed, "analytics", lang) == purpose_notice_hash(
        policy, "analytics", lang
    )


def test_unknown_purpose_is_not_found(policy: Policy) -> None:
    with pytest.raises(PurposeNotFound) as caught:
        purpose_notice_hash(policy, "telepathy", "th")
    assert caught.value.field == "purpose"
    assert caught.value.status == 404


def test_list_purposes_flags_sensitive_and_notice_version(policy: Policy) -> None:
    reads = {p.id: p for p in list_purposes(policy)}
    assert list(reads) == list(policy.purposes)
    assert reads["health_tailored_offers"].sensitive
    assert not reads["recommendations"].sensitive
    assert reads["personalized_offers"].notice_version == 2
    assert reads["order_fulfilment"].required


def test_non_consent_purpose_text_has_no_consent_consequence(policy: Policy) -> None:
    text = purpose_notice_text(policy, "fraud_prevention", "en")
    assert "If you say no" not in text
    assert "Lawful basis: Our legitimate interest" in text


def test_purpose_text_shows_an_undeclared_category_by_its_id(policy: Policy) -> None:
    unchecked = _with(
        policy, "analytics", categories=["browsing", "heatmaps"]
    )  # not via the loader
    assert "Data used: Browsing activity, heatmaps" in purpose_notice_text(
        unchecked, "analytics", "en"
    )
