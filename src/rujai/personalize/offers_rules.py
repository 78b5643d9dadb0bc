"""Offer eligibility rules: what each rule reads, whether the policy allows it, and evaluation.

Pure: no I/O, no clock, no ORM. Every rule key declares the insight it reads and the data
categories that insight's lineage can include (for ``traits_any`` the categories of the named
traits). An offer is refused when a rule or a variant audience reads:

- a sensitive category (PDPA s.26) while the offer's purpose is not based on explicit consent:
  targeting people by it would also let the offer infer it (TH-SEN-01);
- a category the offer's purpose does not declare: data is used only for the purposes it was
  collected for (TH-PUR-01).

A rule over an insight the subject does not have (absent, or not permitted for the purpose)
is not satisfied: eligibility fails closed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from rujai.errors import Invalid
from rujai.personalize.rfm import SEGMENT_LABELS, TIER_LABELS
from rujai.policy.schemas import LawfulBasis, Policy, Purpose

PURCHASES = frozenset({"purchase_history"})
VISITS = frozenset({"browsing", "location"})
AFFINITY = frozenset({"purchase_history", "browsing"})
AGE = frozenset({"age"})  # the age_band insight comes from the birth date (category age)
NOTHING: frozenset[str] = frozenset()

DEFAULT_AUDIENCE = "default"
SEGMENTS = frozenset(SEGMENT_LABELS)
TIERS = frozenset(TIER_LABELS)
# Age bands as the age_band insight names them (``insights_compute.age_band``).
AGE_BANDS = frozenset({"under_20", "20_29", "30_39", "40_49", "50_59", "60_plus"})
TRAITS_INSIGHT = "traits"

T = TypeVar("T")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _at_least(rule: Any, value: Any) -> bool:
    number = _number(value)
    return number is not None and number >= rule


def _at_most(rule: Any, value: Any) -> bool:
    number = _number(value)
    return number is not None and number <= rule


def _member(rule: Any, value: Any) -> bool:
    return isinstance(value, str) and value in rule


def _any_category(rule: Any, value: Any) -> bool:
    """Match ``category_affinity`` (a list of {category, share}) on any listed category."""
    if not isinstance(value, list):
        return False
    wanted = set(rule)
    for entry in value:
        if isinstance(entry, Mapping) and entry.get("category") in wanted:
            share = _number(entry.get("share"))
            if share is not None and share > 0:
                return True
    return False


def _any_trait(rule: Any, value: Any) -> bool:
    """Match ``{trait: [values]}`` against the subject's permitted traits (a mapping)."""
    if not isinstance(value, Mapping):
        return False
    for trait, wanted in rule.items():
        have = value.get(trait)
        have_list = have if isinstance(have, list) else [have]
        if any(isinstance(h, str) and h in wanted for h in have_list):
            return True
    return False


def _traits_read(rule: Any, policy: Policy) -> frozenset[str]:
    categories = set()
    for trait in rule:
        spec = policy.traits.get(trait)
        if spec is None:
            known = ", ".join(sorted(policy.traits))
            raise Invalid(
                f"unknown trait {trait!r} (known: {known})",
                field=f"eligibility.traits_any.{trait}",
            )
        categories.add(spec.category)
    return frozenset(categories)


@dataclass(frozen=True, slots=True)
class Rule:
    """One eligibility rule: the insight it reads, what that can reveal, and its test."""

    insight: str
    categories: frozenset[str]
    test: Callable[[Any, Any], bool]
    reads_value: Callable[[Any, Policy], frozenset[str]] | None = None

    def reads(self, rule: Any, policy: Policy) -> frozenset[str]:
        """Return the data categories this rule reads with this value under ``policy``."""
        extra = self.reads_value(rule, policy) if self.reads_value else NOTHING
        return self.categories | extra


RULES: Mapping[str, Rule] = {
    "segments": Rule("rfm_segment", PURCHASES, _member),
    "tiers": Rule("vip_tier", PURCHASES, _member),
    "age_bands": Rule("age_band", AGE, _member),
    "max_recency_days": Rule("recency_days", PURCHASES, _at_most),
    "max_last_visit_days": Rule("last_visit_days", VISITS, _at_most),
    "min_total_spend": Rule("total_spend", PURCHASES, _at_least),
    "min_monetary": Rule("monetary", PURCHASES, _at_least),
    "min_orders": Rule("orders", PURCHASES, _at_least),
    "min_frequency": Rule("frequency", PURCHASES, _at_least),
    "min_churn_risk": Rule("churn_risk", PURCHASES, _at_least),
    "max_churn_risk": Rule("churn_risk", PURCHASES, _at_most),
    "min_expected_purchases_90d": Rule("expected_purchases_90d", PURCHASES, _at_least),
    "categories_any": Rule("category_affinity", AFFINITY, _any_category),
    "traits_any": Rule(TRAITS_INSIGHT, NOTHING, _any_trait, _traits_read),
}


def is_audience(key: str) -> bool:
    """Return whether ``key`` can name a variant's audience: segment, tier, age band, default."""
    return key == DEFAULT_AUDIENCE or key in SEGMENTS or key in TIERS or key in AGE_BANDS


def audience_reads(key: str) -> frozenset[str]:
    """Return the data categories that showing a variant to audience ``key`` reveals."""
    if key == DEFAULT_AUDIENCE:
        return NOTHING
    if key in SEGMENTS or key in TIERS:
        return PURCHASES
    return AGE


def satisfied(eligibility: Mapping[str, Any], insights: Mapping[str, Any]) -> bool:
    """Return whether every rule holds for ``insights``; a missing insight fails the rule."""
    for key, rule_value in eligibility.items():
        rule = RULES.get(key)
        if rule is None or rule.insight not in insights:
            return False
        if not rule.test(rule_value, insights[rule.insight]):
            return False
    return True


def pick_variant(
    variants: Mapping[str, T], *, segment: str | None, tier: str | None, age_band: str | None
) -> tuple[str, T]:
    """Return the variant for the first audience key present: segment, tier, age band, default."""
    for key in (segment, tier, age_band):
        if key is not None and key in variants:
            return key, variants[key]
    return DEFAULT_AUDIENCE, variants[DEFAULT_AUDIENCE]


def check_offer(
    policy: Policy,
    *,
    purpose: str,
    is_generic: bool,
    eligibility: Mapping[str, Any],
    audiences: Iterable[str],
) -> None:
    """Raise ``Invalid`` naming the field unless the policy allows this offer's targeting."""
    spec = policy.purposes.get(purpose)
    if spec is None:
        known = ", ".join(sorted(policy.purposes))
        raise Invalid(f"unknown purpose {purpose!r} (known: {known})", field="purpose")
    if not is_generic and not (spec.direct_marketing or spec.profiling):
        raise Invalid(
            f"purpose {purpose!r} is neither direct marketing nor profiling; targeted offers "
            "need such a purpose (TH-PUR-01)",
            field="purpose",
        )
    for key, value in eligibility.items():
        reads = RULES[key].reads(value, policy)
        check_reads(policy, purpose=purpose, spec=spec, field=f"eligibility.{key}", reads=reads)
    for key in audiences:
        reads = audience_reads(key)
        check_reads(policy, purpose=purpose, spec=spec, field=f"variants.{key}", reads=reads)


def check_reads(
    policy: Policy, *, purpose: str, spec: Purpose, field: str, reads: frozenset[str]
) -> None:
    """Refuse sensitive categories without explicit consent (TH-SEN-01) and undeclared ones."""
    sensitive = sorted(reads & policy.index.sensitive_categories)
    if sensitive and spec.basis is not LawfulBasis.EXPLICIT_CONSENT:
        raise Invalid(
            f"{field} targets or infers the sensitive category {', '.join(sensitive)}; purpose "
            f"{purpose!r} is not based on explicit consent (TH-SEN-01, PDPA s.26)",
            field=field,
        )
    undeclared = sorted(reads - set(spec.categories))
    if undeclared:
        raise Invalid(
            f"{field} reads {', '.join(undeclared)}, which purpose {purpose!r} does not declare "
            "(TH-PUR-01, PDPA s.21)",
            field=field,
        )


def allowed(
    policy: Policy,
    *,
    purpose: str,
    is_generic: bool,
    eligibility: Mapping[str, Any],
    audiences: Iterable[str],
) -> bool:
    """Return whether a stored offer is still allowed under ``policy`` (it may have changed)."""
    try:
        check_offer(
            policy,
            purpose=purpose,
            is_generic=is_generic,
            eligibility=eligibility,
            audiences=audiences,
        )
    except (Invalid, KeyError):
        return False
    return True
