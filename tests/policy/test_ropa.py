"""The record of processing (PDPA s.39, TH-ROPA-01): a row per purpose, Thai or English headers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from rujai.errors import Invalid
from rujai.policy.ropa import COLUMNS, build_ropa, render_ropa
from rujai.policy.schemas import Lang, Policy


def test_one_row_per_purpose_with_controller_dpo_basis_and_retention(policy: Policy) -> None:
    rows = build_ropa(policy, "en")
    assert [r.purpose_id for r in rows] == list(policy.purposes)
    fraud = next(r for r in rows if r.purpose_id == "fraud_prevention")
    assert fraud.controller == "Baan Suay Living Co., Ltd."
    assert "dpo@example.com" in fraud.dpo
    assert fraud.basis == "legitimate_interest"
    assert fraud.lawful_basis == "Our legitimate interest"
    assert (fraud.retention_days, fraud.retention) == (365, "1 year")


def test_sensitive_categories_are_flagged_th_sen_01(policy: Policy) -> None:
    rows = {r.purpose_id: r for r in build_ropa(policy, "en")}
    assert rows["health_tailored_offers"].sensitive
    assert "Health data (allergies) [sensitive]" in rows["health_tailored_offers"].data_categories
    assert not rows["recommendations"].sensitive


def test_recipients_and_transfers_abroad_with_mechanism_th_xb_01(policy: Policy) -> None:
    rows = {r.purpose_id: r for r in build_ropa(policy, "en")}
    assert rows["email_marketing"].recipients == ["Lumen Mail Pte. Ltd. (SG)"]
    assert rows["email_marketing"].transfers_abroad == [
        "Lumen Mail Pte. Ltd. (SG): Standard data protection clauses"
    ]
    assert rows["order_fulfilment"].transfers_abroad == []
    assert len(rows["order_fulfilment"].recipients) == 2


def test_rights_security_and_refused_requests_placeholder(policy: Policy) -> None:
    row = build_ropa(policy, "th")[0]
    assert len(row.data_subject_rights) == 8  # objection to profiling on its own (EU-02)
    assert "dpo@example.com" in row.how_to_exercise
    assert len(row.security_measures) == len(policy.security_measures)
    assert row.refused_requests == 0
    assert "39(7)" in row.note


@pytest.mark.parametrize("lang", ["th", "en"])
def test_csv_has_headers_in_the_language_and_a_row_per_purpose(policy: Policy, lang: Lang) -> None:
    text = render_ropa(build_ropa(policy, lang), "csv", lang)
    table = list(csv.reader(io.StringIO(text)))
    index = 0 if lang == "th" else 1
    assert table[0] == [pair[index] for pair in COLUMNS.values()]
    assert len(table) == len(policy.purposes) + 1
    assert all(len(row) == len(COLUMNS) for row in table)


def test_csv_cells_join_lists_and_localise_booleans(policy: Policy) -> None:
    text = render_ropa(build_ropa(policy, "th"), "csv", "th")
    rows = list(csv.DictReader(io.StringIO(text)))
    health = next(r for r in rows if r["รหัสวัตถุประสงค์"] == "health_tailored_offers")
    assert health["ข้อมูลอ่อนไหว"] == "ใช่"
    assert "; " in health["ประเภทข้อมูล"]
    assert health["คำขอที่ถูกปฏิเสธ"] == "0"


def test_json_is_machine_readable(policy: Policy) -> None:
    body = json.loads(render_ropa(build_ropa(policy, "en"), "json", "en"))
    assert body["lang"] == "en"
    assert body["columns"]["purpose"] == "Purpose"
    assert [r["purpose_id"] for r in body["rows"]] == list(policy.purposes)
    assert body["rows"][0]["refused_requests"] == 0


def test_html_is_a_self_contained_page_with_lang(policy: Policy) -> None:
    html = render_ropa(build_ropa(policy, "th"), "html", "th")
    assert '<html lang="th">' in html
    assert "บันทึกรายการกิจกรรมการประมวลผล" in html
    assert html.count("<tr>") == len(policy.purposes) + 1
    assert "https://" not in html


def test_html_escapes_cells(policy: Policy) -> None:
    data = policy.model_dump(mode="json")
    data["purposes"]["analytics"]["title"]["en"] = "<img onerror=x>"
    hostile = Policy.model_validate(data)
    html = render_ropa(build_ropa(hostile, "en"), "html", "en")
    assert "<img onerror=x>" not in html
    assert "&lt;img onerror=x&gt;" in html


def test_unknown_format_is_invalid_naming_format(policy: Policy) -> None:
    with pytest.raises(Invalid) as caught:
        render_ropa(build_ropa(policy, "en"), "xml", "en")  # type: ignore[arg-type]  # wrong on purpose
    assert caught.value.field == "format"


def test_unknown_lang_is_invalid_naming_lang(policy: Policy) -> None:
    with pytest.raises(Invalid) as caught:
        build_ropa(policy, "fr")  # type: ignore[arg-type]  # wrong on purpose
    assert caught.value.field == "lang"
    with pytest.raises(Invalid) as caught:
        render_ropa([], "csv", "fr")  # type: ignore[arg-type]  # wrong on purpose
    assert caught.value.field == "lang"


def test_processor_agreements_with_sub_processors_th_prc_01(policy: Policy) -> None:
    """TH-PRC-01 / TH-ROPA-01: each processor's agreement, its term and sub-processors."""
    for lang, until in (("en", "until"), ("th", "ถึง")):
        rows = {r.purpose_id: r for r in build_ropa(policy, lang)}
        [lumen] = rows["email_marketing"].processor_agreements
        assert lumen.startswith(f"Lumen Mail Pte. Ltd.: DPA-LUMEN-2025-02, {until} 2030-12-31")
        assert "Example Cloud Hosting Pte. Ltd. (SG)" in lumen
        assert rows["analytics"].processor_agreements == []
