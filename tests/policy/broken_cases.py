"""Broken policies made from examples/policy.yaml by small text edits, each with its problem.

Each case edits the example text and names the line where the problem must be reported by a chain of
markers: the line of the last marker, searched after the previous ones, in the edited text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.yaml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")

Edit = Callable[[str], str]


def _seek(text: str, markers: tuple[str, ...]) -> int:
    pos = 0
    for marker in markers:
        pos = text.index(marker, pos)
    return pos


def replace_after(*markers: str, old: str, new: str) -> Edit:
    """Replace the first ``old`` found after the chain of ``markers``."""

    def edit(text: str) -> str:
        start = _seek(text, markers)
        i = text.index(old, start)
        return text[:i] + new + text[i + len(old) :]

    return edit


def line_of(text: str, *markers: str) -> int:
    """Return the 1-based line of the last marker, searched after the previous ones."""
    last = markers[-1]
    start = _seek(text, markers) + len(last) - len(last.lstrip("\n"))
    return text.count("\n", 0, start) + 1


@dataclass(frozen=True)
class Broken:
    id: str
    edit: Edit
    at: tuple[str, ...]
    field: str
    rule: str
    ref: str | None

    def text(self) -> str:
        edited = self.edit(EXAMPLE_TEXT)
        assert edited != EXAMPLE_TEXT, f"edit {self.id} changed nothing"
        return edited

    def line(self) -> int:
        return line_of(self.text(), *self.at)


P = "\npurposes:"
R = "\nrecipients:"

BROKEN: list[Broken] = [
    Broken(
        "unknown_category_in_purpose",
        replace_after(P, "\n  recommendations:", old="- preferences", new="- preferencez"),
        (P, "\n  recommendations:", "- preferencez"),
        "purposes.recommendations.categories[2]",
        "unknown-category",
        None,
    ),
    Broken(
        "sensitive_category_on_plain_consent",
        replace_after(
            "\n  health_tailored_offers:", old="basis: explicit_consent", new="basis: consent"
        ),
        ("\n  health_tailored_offers:", "basis: consent"),
        "purposes.health_tailored_offers.basis",
        "sensitive-needs-explicit-consent",
        "TH-SEN-01",
    ),
    Broken(
        "consent_purpose_without_thai_title",
        replace_after("\n  email_marketing:", old="{th: จดหมายข่าวทางอีเมล, en:", new="{en:"),
        ("\n  email_marketing:", "title:"),
        "purposes.email_marketing.title.th",
        "missing-thai",
        "TH-CON-05",
    ),
    Broken(
        "consent_purpose_without_english_description",
        replace_after(
            "\n  analytics:",
            old="      en: We count visits to our website and stores in aggregate to plan our range"
            " and opening hours.\n",
            new="",
        ),
        ("\n  analytics:", "description:"),
        "purposes.analytics.description.en",
        "missing-english",
        "TH-CON-05",
    ),
    Broken(
        "legitimate_interest_without_balancing",
        replace_after(
            "\n  fraud_prevention:",
            old="    li_balancing: >-\n"
            "      Preventing payment fraud and coupon abuse is a legitimate interest that"
            " customers expect.\n"
            "      Only device data and order patterns are used, no marketing use, 1-year"
            " retention, and\n"
            "      flagged orders are reviewed by a person before any account is blocked.\n",
            new="",
        ),
        ("\n  fraud_prevention:",),
        "purposes.fraud_prevention.li_balancing",
        "li-balancing-missing",
        "TH-LB-01",
    ),
    Broken(
        "recipient_abroad_with_mechanism_none",
        replace_after(
            R, "\n  lumen_mail:", old="mechanism: standard_clauses", new="mechanism: none"
        ),
        (R, "\n  lumen_mail:", "mechanism: none"),
        "recipients.lumen_mail.mechanism",
        "transfer-without-mechanism",
        "TH-XB-01",
    ),
    Broken(
        "recipient_abroad_without_mechanism",
        replace_after(R, "\n  lumen_mail:", old="    mechanism: standard_clauses\n", new=""),
        (R, "\n  lumen_mail:"),
        "recipients.lumen_mail.mechanism",
        "transfer-without-mechanism",
        "TH-XB-01",
    ),
    Broken(
        "purpose_names_unknown_recipient",
        replace_after(P, "\n  personalized_offers:", old="- lumen_mail", new="- lumen_mial"),
        (P, "\n  personalized_offers:", "- lumen_mial"),
        "purposes.personalized_offers.recipients[0]",
        "unknown-recipient",
        "TH-USE-01",
    ),
    Broken(
        "recipient_names_unknown_purpose",
        replace_after(R, "\n  chao_phraya_pay:", old="fraud_prevention]", new="fraud_detection]"),
        (R, "\n  chao_phraya_pay:", "fraud_detection]"),
        "recipients.chao_phraya_pay.purposes[1]",
        "unknown-purpose",
        "TH-USE-01",
    ),
    Broken(
        "event_type_with_unknown_category",
        replace_after("\n  store_visit:", old="category: location", new="category: locaton"),
        ("\n  store_visit:", "category: locaton"),
        "event_types.store_visit.category",
        "unknown-category",
        "TH-MIN-02",
    ),
    Broken(
        "trait_with_unknown_category",
        replace_after("\n  allergies:", old="category: health", new="category: medical"),
        ("\n  allergies:",),
        "traits.allergies.category",
        "unknown-category",
        "TH-MIN-02",
    ),
    Broken(
        "material_version_above_version",
        replace_after(
            "\n  personalized_offers:", old="material_version: 2", new="material_version: 3"
        ),
        ("\n  personalized_offers:", "material_version: 3"),
        "purposes.personalized_offers.notice.material_version",
        "notice-version",
        "TH-NOT-01",
    ),
    Broken(
        "direct_marketing_on_legitimate_interest",
        replace_after(
            "\n  fraud_prevention:",
            old="basis: legitimate_interest\n",
            new="basis: legitimate_interest\n    direct_marketing: true\n",
        ),
        ("\n  fraud_prevention:", "direct_marketing: true"),
        "purposes.fraud_prevention.direct_marketing",
        "marketing-needs-consent",
        "TH-CON-01",
    ),
    Broken(
        "optional_consent_made_required",
        replace_after(
            P,
            "\n  recommendations:",
            old="basis: consent\n",
            new="basis: consent\n    required: true\n",
        ),
        (P, "\n  recommendations:", "required: true"),
        "purposes.recommendations.required",
        "optional-consent-as-condition",
        "TH-CON-02",
    ),
    Broken(
        "guardian_age_above_majority",
        replace_after("\nage_rules:", old="guardian_only_below: 10", new="guardian_only_below: 25"),
        ("\nage_rules:", "TH:"),
        "age_rules.TH.guardian_only_below",
        "age-rule-order",
        "TH-MIN-01",
    ),
    Broken(
        "controller_without_dpo_email",
        replace_after("\n  dpo:", old="    email: dpo@example.com\n", new=""),
        ("\n  dpo:",),
        "controller.dpo.email",
        "dpo-contact-missing",
        "TH-DPO-01",
    ),
    Broken(
        "required_purpose_without_consequence",
        replace_after(
            "\n  order_fulfilment:",
            old="    consequence:\n"
            "      th: หากไม่ให้ข้อมูลนี้ เราจะไม่สามารถจัดส่งคำสั่งซื้อของคุณได้\n"
            "      en: Without this data we cannot deliver your order.\n",
            new="",
        ),
        ("\n  order_fulfilment:",),
        "purposes.order_fulfilment.consequence",
        "consequence-missing",
        "TH-NOT-01",
    ),
    Broken(
        "duplicate_key",
        replace_after(
            "\n  analytics:",
            old="retention_days: 180\n",
            new="retention_days: 180\n    retention_days: 90\n",
        ),
        ("\n  analytics:", "retention_days: 90"),
        "purposes.analytics.retention_days",
        "duplicate-key",
        None,
    ),
    Broken(
        "yaml_syntax_error",
        replace_after(R, old="name: Siam Swift Delivery", new="name: Siam Swift: Delivery"),
        (R, "name: Siam Swift: Delivery"),
        "(file)",
        "yaml-syntax",
        None,
    ),
    Broken(
        "misspelt_field",
        replace_after("\n  analytics:", old="retention_days: 180", new="retention_day: 180"),
        ("\n  analytics:", "retention_day: 180"),
        "purposes.analytics.retention_day",
        "extra_forbidden",
        None,
    ),
    Broken(
        "unknown_lawful_basis",
        replace_after("\n  analytics:", old="basis: consent", new="basis: consnet"),
        ("\n  analytics:", "basis: consnet"),
        "purposes.analytics.basis",
        "enum",
        None,
    ),
]
