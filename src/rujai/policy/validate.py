"""Legal rules that span fields of a structurally valid policy, each citing a PDPA.md id.

``check_rules`` returns every problem with a field path (a tuple of keys and list indexes); the
loader turns paths into file lines. Every rule is a small generator in ``RULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from rujai.policy.rule_problem import FieldPath, RuleProblem, bilingual as _bilingual
from rujai.policy.schemas import (
    LawfulBasis,
    Policy,
    Purpose,
)
from rujai.policy.validate_processor import processor_expired, processor_rules
from rujai.policy.validate_recipients import (
    _agreements,
    _expired,
    _purpose_recipients,
    _recipients,
    recipients_purposes,
)

__all__ = ["FieldPath", "RuleProblem", "check_rules", "recipients_purposes"]


def check_rules(policy: Policy, *, today: date | None = None) -> list[RuleProblem]:
    """Return every legal problem in ``policy`` (empty when it is sound).

    ``today``: also report transfer mechanisms and processor agreements expired by then
    and processor-mode instructions expired by then (``rujai policy check`` passes the date; a
    server loading its policy does not, and the door refuses each disclosure under a lapsed
    instrument, or everything under lapsed instructions, at the time it is asked, TH-XB-01,
    TH-PRC-01).
    """
    found = [problem for rule in RULES for problem in rule(policy)]
    if today is not None:
        found += list(_expired(policy, today))
        found += list(processor_expired(policy, today))
    return found


def _purpose_categories(policy: Policy) -> Iterator[RuleProblem]:
    for pid, purpose in policy.purposes.items():
        seen: set[str] = set()
        for i, category in enumerate(purpose.categories):
            path = ("purposes", pid, "categories", i)
            if category not in policy.categories:
                known = ", ".join(sorted(policy.categories))
                yield RuleProblem(
                    path,
                    "unknown-category",
                    f"category {category!r} is not declared under categories (declared: {known})",
                    None,
                )
            if category in seen:
                yield RuleProblem(
                    path, "duplicate-category", f"category {category!r} is listed twice", None
                )
            seen.add(category)


def _sensitive(policy: Policy) -> Iterator[RuleProblem]:
    for pid, purpose in policy.purposes.items():
        if purpose.basis is LawfulBasis.EXPLICIT_CONSENT:
            continue
        for category in purpose.categories:
            declared = policy.categories.get(category)
            if declared is not None and declared.sensitive:
                yield RuleProblem(
                    ("purposes", pid, "basis"),
                    "sensitive-needs-explicit-consent",
                    f"category {category!r} is sensitive (PDPA s.26): set basis to "
                    f"explicit_consent, not {purpose.basis.value}, or drop the category",
                    "TH-SEN-01",
                )


def _texts(policy: Policy) -> Iterator[RuleProblem]:
    yield from _bilingual(("controller", "name"), policy.controller.name, "TH-NOT-01")
    for cid, category in policy.categories.items():
        yield from _bilingual(("categories", cid, "title"), category.title, "TH-NOT-01")
    for pid, purpose in policy.purposes.items():
        ref = "TH-CON-05" if purpose.basis.is_consent else "TH-NOT-01"
        yield from _bilingual(("purposes", pid, "title"), purpose.title, ref)
        yield from _bilingual(("purposes", pid, "description"), purpose.description, ref)
        if purpose.consequence is not None:
            yield from _bilingual(("purposes", pid, "consequence"), purpose.consequence, ref)


def _bases(policy: Policy) -> Iterator[RuleProblem]:
    for pid, purpose in policy.purposes.items():
        yield from _basis_of(pid, purpose)
        yield from _required(pid, purpose)


def _basis_of(pid: str, purpose: Purpose) -> Iterator[RuleProblem]:
    at = ("purposes", pid)
    basis = purpose.basis
    if basis is LawfulBasis.LEGITIMATE_INTEREST and not (purpose.li_balancing or "").strip():
        yield RuleProblem(
            (*at, "li_balancing"),
            "li-balancing-missing",
            "a legitimate_interest purpose needs li_balancing: why the interest outweighs the "
            "subject's rights and what safeguards apply",
            "TH-LB-01",
        )
    if purpose.direct_marketing and not basis.is_consent:
        yield RuleProblem(
            (*at, "direct_marketing"),
            "marketing-needs-consent",
            f"direct marketing needs consent in rujai: set basis to consent, not {basis.value}",
            "TH-CON-01",
        )


def _required(pid: str, purpose: Purpose) -> Iterator[RuleProblem]:
    if not purpose.required:
        return
    if purpose.basis.is_consent:
        yield RuleProblem(
            ("purposes", pid, "required"),
            "optional-consent-as-condition",
            "a consent purpose cannot be required: optional consents must not be a condition "
            "of the service; set required: false or use another basis",
            "TH-CON-02",
        )
    elif purpose.consequence is None:
        yield RuleProblem(
            ("purposes", pid, "consequence"),
            "consequence-missing",
            "a required purpose needs consequence: say what happens if the data is not provided",
            "TH-NOT-01",
        )


def _notice_versions(policy: Policy) -> Iterator[RuleProblem]:
    for pid, purpose in policy.purposes.items():
        notice = purpose.notice
        if notice.material_version > notice.version:
            yield RuleProblem(
                ("purposes", pid, "notice", "material_version"),
                "notice-version",
                f"material_version ({notice.material_version}) is above version "
                f"({notice.version}); raise version to at least {notice.material_version}",
                "TH-NOT-01",
            )


def _collected(policy: Policy) -> Iterator[RuleProblem]:
    used = {c for purpose in policy.purposes.values() for c in purpose.categories}
    sources = [("event_types", k, v.category) for k, v in policy.event_types.items()]
    sources += [("traits", k, v.category) for k, v in policy.traits.items()]
    for section, key, category in sources:
        path = (section, key, "category")
        if category not in policy.categories:
            yield RuleProblem(
                path,
                "unknown-category",
                f"category {category!r} is not declared under categories; only declared data "
                "may be collected",
                "TH-MIN-02",
            )
        elif category not in used:
            yield RuleProblem(
                path,
                "collected-without-purpose",
                f"no purpose uses category {category!r}: add it to a purpose or stop collecting it",
                "TH-LB-01",
            )


def _controller(policy: Policy) -> Iterator[RuleProblem]:
    if not (policy.controller.dpo.email or "").strip():
        yield RuleProblem(
            ("controller", "dpo", "email"),
            "dpo-contact-missing",
            "add the DPO's email: notices must show how to reach the data protection officer",
            "TH-DPO-01",
        )
    for jurisdiction, rule in policy.age_rules.items():
        if rule.guardian_only_below > rule.majority_age:
            yield RuleProblem(
                ("age_rules", jurisdiction, "guardian_only_below"),
                "age-rule-order",
                f"guardian_only_below ({rule.guardian_only_below}) is above majority_age "
                f"({rule.majority_age}); it must be at most majority_age",
                "TH-MIN-01",
            )


def _placements(policy: Policy) -> Iterator[RuleProblem]:
    for name, placement in policy.placements.items():
        purpose = policy.purposes.get(placement.purpose)
        if purpose is None:
            yield RuleProblem(
                ("placements", name, "purpose"),
                "unknown-purpose",
                f"placement uses purpose {placement.purpose!r}, which is not declared",
                "TH-LB-01",
            )
            continue
        for i, category in enumerate(placement.categories):
            if category not in purpose.categories:
                yield RuleProblem(
                    ("placements", name, "categories", i),
                    "category-not-in-purpose",
                    f"category {category!r} is not declared by purpose {placement.purpose!r}",
                    "TH-PUR-01",
                )


AGE_TRAITS = ("birth_date", "age_band")


def _age_learnable(policy: Policy) -> Iterator[RuleProblem]:
    """A consent to profiling or marketing needs the age; something must be able to learn it.

    TH-MIN-01, EU-03: a purpose not resting on consent (the capacity check is a legal duty,
    PDPA s.20) must collect the category of a ``birth_date`` or ``age_band`` trait, or every
    such grant waits for an age that can never be kept.
    """
    needs = [
        pid
        for pid, p in policy.purposes.items()
        if p.basis.is_consent and (p.profiling or p.direct_marketing)
    ]
    if not needs or _age_learned(policy):
        return
    where: FieldPath = ("traits", "birth_date") if "birth_date" in policy.traits else ("traits",)
    yield RuleProblem(
        where,
        "age-not-learnable",
        f"purposes {', '.join(needs)} need the subject's age before a grant counts, but no "
        "purpose that does not rest on consent collects a birth_date or age_band trait: declare "
        "one and a purpose (e.g. age_verification, basis legal_obligation) collecting its category",
        "TH-MIN-01",
    )


def _age_learned(policy: Policy) -> bool:
    """Return True if a purpose not resting on consent collects a birth date or age band."""
    categories = {policy.traits[name].category for name in AGE_TRAITS if name in policy.traits}
    return any(
        not p.basis.is_consent and p.collects and not categories.isdisjoint(p.categories)
        for p in policy.purposes.values()
    )


RULES: tuple[Callable[[Policy], Iterator[RuleProblem]], ...] = (
    _controller,
    _purpose_categories,
    _sensitive,
    _texts,
    _bases,
    _notice_versions,
    _recipients,
    _agreements,
    _purpose_recipients,
    _collected,
    _placements,
    _age_learnable,
    processor_rules,
)
