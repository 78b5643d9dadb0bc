"""The legal rules of a policy as a decision table: one edit of the example, one problem."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from rujai.policy.schemas import Policy
from rujai.policy.validate import RULES, check_rules

Data = dict[str, Any]


def _edited(policy: Policy, edit: Callable[[Data], None]) -> Policy:
    data = policy.model_dump(mode="json")
    edit(data)
    return Policy.model_validate(data)


def _set(path: str, value: Any) -> Callable[[Data], None]:
    *parents, last = path.split(".")

    def edit(data: Data) -> None:
        node = data
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


def _drop_location(data: Data) -> None:
    for purpose in data["purposes"].values():
        if "location" in purpose["categories"]:
            purpose["categories"].remove("location")


def _add_consent_recipient(data: Data) -> None:
    data["recipients"]["ads_eu"] = {
        "name": "Example Ads GmbH",
        "country": "DE",
        "mechanism": "consent",
        "purposes": [],
        "processor": False,  # a controller of its own: no processing agreement (TH-PRC-01)
    }
    data["purposes"]["fraud_prevention"]["recipients"].append("ads_eu")


def _drop_age_traits(data: Data) -> None:
    del data["traits"]["birth_date"], data["traits"]["age_band"]


def _processor(**instructions: Any) -> Callable[[Data], None]:
    def edit(data: Data) -> None:
        data["processor"] = {
            "name": {"th": "บริษัท ตัวอย่าง ประมวลผล จำกัด", "en": "Example Processing Co., Ltd."},
            "contact": {"email": "processor@example.com"},
            "instructions": {
                "agreement_ref": "DPA-2026-01", "signed_on": "2026-01-05",
                "expires_on": "2099-12-31", "purposes": ["order_fulfilment"], **instructions,
            },
        }  # fmt: skip

    return edit


CASES: list[tuple[str, Callable[[Data], None], tuple[str | int, ...], str, str | None]] = [
    (
        "placement_with_unknown_purpose",
        _set("placements.home_for_you.purpose", "mind_reading"),
        ("placements", "home_for_you", "purpose"),
        "unknown-purpose",
        "TH-LB-01",
    ),
    (
        "placement_reads_category_its_purpose_lacks",
        _set("placements.home_for_you.categories", ["purchase_history", "health"]),
        ("placements", "home_for_you", "categories", 1),
        "category-not-in-purpose",
        "TH-PUR-01",
    ),
    (
        "unknown_category",
        _set("purposes.analytics.categories", ["browsing", "cookies"]),
        ("purposes", "analytics", "categories", 1),
        "unknown-category",
        None,
    ),
    (
        "duplicate_category",
        _set("purposes.analytics.categories", ["browsing", "browsing", "device", "location"]),
        ("purposes", "analytics", "categories", 1),
        "duplicate-category",
        None,
    ),
    (
        "sensitive_on_legitimate_interest_TH_SEN_01",
        _set("purposes.fraud_prevention.categories", ["device", "health"]),
        ("purposes", "fraud_prevention", "basis"),
        "sensitive-needs-explicit-consent",
        "TH-SEN-01",
    ),
    (
        "consent_title_without_thai_TH_CON_05",
        _set("purposes.analytics.title.th", "  "),
        ("purposes", "analytics", "title", "th"),
        "missing-thai",
        "TH-CON-05",
    ),
    (
        "contract_description_without_english_TH_NOT_01",
        _set("purposes.order_fulfilment.description.en", None),
        ("purposes", "order_fulfilment", "description", "en"),
        "missing-english",
        "TH-NOT-01",
    ),
    (
        "consequence_without_english",
        _set("purposes.order_fulfilment.consequence.en", ""),
        ("purposes", "order_fulfilment", "consequence", "en"),
        "missing-english",
        "TH-NOT-01",
    ),
    (
        "category_title_without_thai",
        _set("categories.device.title.th", None),
        ("categories", "device", "title", "th"),
        "missing-thai",
        "TH-NOT-01",
    ),
    (
        "controller_name_without_english",
        _set("controller.name.en", None),
        ("controller", "name", "en"),
        "missing-english",
        "TH-NOT-01",
    ),
    (
        "legitimate_interest_blank_balancing_TH_LB_01",
        _set("purposes.fraud_prevention.li_balancing", "   "),
        ("purposes", "fraud_prevention", "li_balancing"),
        "li-balancing-missing",
        "TH-LB-01",
    ),
    (
        "transfer_abroad_without_mechanism_TH_XB_01",
        _set("recipients.lumen_mail.mechanism", "none"),
        ("recipients", "lumen_mail", "mechanism"),
        "transfer-without-mechanism",
        "TH-XB-01",
    ),
    (
        "consent_transfer_for_non_consent_purpose_TH_XB_01",
        _add_consent_recipient,
        ("purposes", "fraud_prevention", "recipients", 1),
        "transfer-consent-needs-consent-basis",
        "TH-XB-01",
    ),
    (
        "standard_clauses_not_on_file_TH_XB_01",
        _set("recipients.lumen_mail.mechanism_reference", None),
        ("recipients", "lumen_mail", "mechanism_reference"),
        "mechanism-reference-missing",
        "TH-XB-01",
    ),
    (
        "standard_clauses_without_expiry_TH_XB_01",
        _set("recipients.lumen_mail.mechanism_expires", None),
        ("recipients", "lumen_mail", "mechanism_expires"),
        "mechanism-expiry-missing",
        "TH-XB-01",
    ),
    (
        "processor_without_agreement_TH_PRC_01",
        _set("recipients.swift_delivery.agreement", None),
        ("recipients", "swift_delivery", "agreement"),
        "processor-without-agreement",
        "TH-PRC-01",
    ),
    (
        "agreement_not_signed_TH_PRC_01",
        _set("recipients.swift_delivery.agreement.signed", None),
        ("recipients", "swift_delivery", "agreement", "signed"),
        "agreement-not-signed",
        "TH-PRC-01",
    ),
    (
        "agreement_not_covering_a_purpose_TH_PRC_01",
        _set("recipients.chao_phraya_pay.agreement.purposes", ["order_fulfilment"]),
        ("recipients", "chao_phraya_pay", "agreement", "purposes"),
        "purpose-not-in-agreement",
        "TH-PRC-01",
    ),
    (
        "unknown_recipient",
        _set("purposes.analytics.recipients", ["nobody"]),
        ("purposes", "analytics", "recipients", 0),
        "unknown-recipient",
        "TH-USE-01",
    ),
    (
        "unknown_purpose_of_recipient",
        _set("recipients.swift_delivery.purposes", ["order_fulfilment", "ads"]),
        ("recipients", "swift_delivery", "purposes", 1),
        "unknown-purpose",
        "TH-USE-01",
    ),
    (
        "event_type_unknown_category_TH_MIN_02",
        _set("event_types.search.category", "searches"),
        ("event_types", "search", "category"),
        "unknown-category",
        "TH-MIN-02",
    ),
    (
        "trait_unknown_category_TH_MIN_02",
        _set("traits.gender.category", "sex"),
        ("traits", "gender", "category"),
        "unknown-category",
        "TH-MIN-02",
    ),
    (
        "collected_without_purpose_TH_LB_01",
        _drop_location,
        ("event_types", "store_visit", "category"),
        "collected-without-purpose",
        "TH-LB-01",
    ),
    (
        "material_version_above_version",
        _set("purposes.recommendations.notice", {"version": 1, "material_version": 2}),
        ("purposes", "recommendations", "notice", "material_version"),
        "notice-version",
        "TH-NOT-01",
    ),
    (
        "direct_marketing_on_contract_TH_CON_01",
        _set("purposes.order_fulfilment.direct_marketing", True),
        ("purposes", "order_fulfilment", "direct_marketing"),
        "marketing-needs-consent",
        "TH-CON-01",
    ),
    (
        "required_consent_TH_CON_02",
        _set("purposes.email_marketing.required", True),
        ("purposes", "email_marketing", "required"),
        "optional-consent-as-condition",
        "TH-CON-02",
    ),
    (
        "required_contract_without_consequence_TH_NOT_01",
        _set("purposes.accounting_records.consequence", None),
        ("purposes", "accounting_records", "consequence"),
        "consequence-missing",
        "TH-NOT-01",
    ),
    (
        "guardian_age_above_majority_TH_MIN_01",
        _set("age_rules.EU", {"majority_age": 16, "guardian_only_below": 18}),
        ("age_rules", "EU", "guardian_only_below"),
        "age-rule-order",
        "TH-MIN-01",
    ),
    (
        "age_collected_only_with_consent_TH_MIN_01",
        _set("purposes.age_verification.categories", ["demographics"]),
        ("traits", "birth_date"),
        "age-not-learnable",
        "TH-MIN-01",
    ),
    (
        "no_age_trait_at_all_TH_MIN_01",
        _drop_age_traits,
        ("traits",),
        "age-not-learnable",
        "TH-MIN-01",
    ),
    (
        "dpo_without_email_TH_DPO_01",
        _set("controller.dpo.email", None),
        ("controller", "dpo", "email"),
        "dpo-contact-missing",
        "TH-DPO-01",
    ),
    (
        "processor_instructed_undeclared_purpose_TH_PRC_01",
        _processor(purposes=["order_fulfilment", "mind_reading"]),
        ("processor", "instructions", "purposes", 1),
        "unknown-purpose",
        "TH-PRC-01",
    ),
]


def test_processor_instructions_expired_on_the_day_checked(policy: Policy) -> None:
    """TH-PRC-01: ``rujai policy check`` (a day given) reports lapsed instructions; a server
    loading the policy does not refuse to start, the door refuses everything from the next day."""
    edited = _edited(policy, _processor(expires_on="2020-12-31"))
    problems = check_rules(edited, today=date(2021, 1, 1))
    assert [(p.path, p.rule, p.ref) for p in problems] == [
        (("processor", "instructions", "expires_on"), "instructions-expired", "TH-PRC-01")
    ]
    assert check_rules(edited, today=date(2020, 12, 31)) == []  # in force through its last day
    assert check_rules(edited) == []


def test_example_policy_breaks_no_rule(policy: Policy) -> None:
    assert check_rules(policy) == []


@pytest.mark.parametrize(
    ("edit", "path", "rule", "ref"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule_reports_field_path_rule_and_ref(
    policy: Policy,
    edit: Callable[[Data], None],
    path: tuple[str | int, ...],
    rule: str,
    ref: str | None,
) -> None:
    problems = check_rules(_edited(policy, edit))
    assert [(p.path, p.rule, p.ref) for p in problems] == [(path, rule, ref)]
    assert problems[0].message.strip()


def test_every_rule_function_is_exercised_by_the_table(policy: Policy) -> None:
    exercised: set[str] = set()
    for _, edit, *_ in CASES:
        broken = _edited(policy, edit)
        for rule in RULES:
            if list(rule(broken)):
                exercised.add(rule.__name__)
    assert exercised == {rule.__name__ for rule in RULES}


def test_required_only_needs_consequence_when_not_consent_th_not_01(policy: Policy) -> None:
    broken = _edited(policy, _set("purposes.fraud_prevention.required", True))
    assert [(p.path, p.rule) for p in check_rules(broken)] == [
        (("purposes", "fraud_prevention", "consequence"), "consequence-missing")
    ]
    with_text = _edited(
        policy,
        lambda d: d["purposes"]["fraud_prevention"].update(
            required=True, consequence={"th": "สั่งซื้อไม่ได้", "en": "You cannot order."}
        ),
    )
    assert check_rules(with_text) == []


def test_transfer_within_the_controller_country_needs_no_mechanism(policy: Policy) -> None:
    assert check_rules(_edited(policy, _set("recipients.lumen_mail.country", "TH"))) == []
    moved = _edited(policy, _set("controller.country", "SG"))
    paths = {p.path for p in check_rules(moved)}
    assert ("recipients", "swift_delivery", "mechanism") in paths
    assert ("recipients", "lumen_mail", "mechanism") not in paths


def test_sensitive_message_names_the_category_and_the_fix(policy: Policy) -> None:
    broken = _edited(policy, _set("purposes.health_tailored_offers.basis", "consent"))
    (problem,) = check_rules(broken)
    assert "'health'" in problem.message
    assert "explicit_consent" in problem.message


@pytest.mark.parametrize(
    ("edit", "path", "rule", "ref"),
    [
        (
            _set("recipients.lumen_mail.mechanism_expires", "2026-01-01"),
            ("recipients", "lumen_mail", "mechanism_expires"),
            "transfer-mechanism-expired",
            "TH-XB-01",
        ),
        (
            _set("recipients.swift_delivery.agreement.expires", "2026-05-31"),
            ("recipients", "swift_delivery", "agreement", "expires"),
            "processor-agreement-expired",
            "TH-PRC-01",
        ),
    ],
    ids=["transfer_mechanism_expired_TH_XB_01", "processor_agreement_expired_TH_PRC_01"],
)
def test_expired_instrument_is_a_problem_on_the_day_checked(
    policy: Policy,
    edit: Callable[[Data], None],
    path: tuple[str | int, ...],
    rule: str,
    ref: str,
) -> None:
    edited = _edited(policy, edit)
    problems = check_rules(edited, today=date(2026, 6, 1))
    assert [(p.path, p.rule, p.ref) for p in problems] == [(path, rule, ref)]
    assert "expired on 2026-" in problems[0].message
    assert check_rules(edited) == []  # without a day (a server loading it), the door decides
    assert check_rules(edited, today=date(2026, 1, 1)) == []  # in force through its last day


def test_a_policy_without_profiling_or_marketing_needs_no_age(policy: Policy) -> None:
    """TH-MIN-01: the age is asked only where consent depends on it."""

    def edit(data: Data) -> None:
        _drop_age_traits(data)
        for purpose in data["purposes"].values():
            purpose["profiling"] = purpose["direct_marketing"] = False

    assert [p.rule for p in check_rules(_edited(policy, edit))] == []
