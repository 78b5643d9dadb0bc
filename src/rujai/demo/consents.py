"""The consent mix of the demo customers: who grants what, when, and who changes their mind.

Every grant is an affirmative act recorded against the purpose's current notice (TH-CON-01,
TH-CON-04). Shares of adult customers:

======================  =====  ==================================================================
label                   share  what happens
======================  =====  ==================================================================
everything              35 %   recommendations, personalized_offers, email_marketing, analytics;
                               one in seven (``everything_and_health``, about 5 % of all) also
                               grants health_tailored_offers explicitly (TH-SEN-01)
recommendations         25 %   recommendations only
recommendations_offers  15 %   recommendations and personalized_offers
nothing                 15 %   no optional purpose: they still buy (TH-CON-02), browsing is dropped
withdrew                 7 %   grants recommendations, offers and e-mail; later withdraws all three
                               (3 in 5) or only the marketing two (TH-CON-03)
objected_marketing       2 %   as everything, later objects to direct marketing (TH-DSR-03)
restricted               1 %   recommendations and offers, later restricted (TH-DSR-05)
======================  =====  ==================================================================

Minors (TH-MIN-01; about 1 % of customers are under 10 and 6 % are 10 to 19). Below the policy's
strictest guardian-only age (16 with the EU rule in ``examples/policy.yaml``, else 10) only a
parent's consent counts: a parent grants recommendations (``guardian_consent``; always under 10,
65 % of the others), or only the child's own grant is on file (``guardian_required``). From that
age to 19 the minor grants recommendations and analytics and a parent co-consents to
recommendations 1 to 10 days later (``minor_co_consent``, 65 %), or the minor grants
recommendations alone and the co-consent never comes (``minor_pending``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

from rujai.consent.schemas import Actor, ConsentCreate
from rujai.policy.rules import Objection
from rujai.policy.schemas import Lang, LawfulBasis, Policy

RECS, OFFERS, EMAIL = "recommendations", "personalized_offers", "email_marketing"
ANALYTICS, HEALTH = "analytics", "health_tailored_offers"
ADULT_MIX: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("everything", 0.35, (RECS, OFFERS, EMAIL, ANALYTICS)),
    ("recommendations", 0.25, (RECS,)),
    ("recommendations_offers", 0.15, (RECS, OFFERS)),
    ("nothing", 0.15, ()),
    ("withdrew", 0.07, (RECS, OFFERS, EMAIL)),
    ("objected_marketing", 0.02, (RECS, OFFERS, EMAIL, ANALYTICS)),
    ("restricted", 0.01, (RECS, OFFERS)),
)
HEALTH_SHARE_OF_EVERYTHING = 1 / 7
CO_CONSENT_SHARE = 0.65
CHANNELS = {"web": 0.5, "app": 0.35, "store": 0.15}


@dataclass(frozen=True, slots=True)
class Change:
    """One step of a customer's timeline that is not an event: a consent, a restriction, ..."""

    at: datetime
    consent: ConsentCreate | None = None
    restrict: bool = False
    objection: Objection | None = None


def weighted(rng: random.Random, shares: dict[str, float]) -> str:
    """Draw a key of ``shares`` with probability proportional to its value."""
    return rng.choices(list(shares), cum_weights=list(accumulate(shares.values())))[0]


def consent_plan(
    rng: random.Random,
    policy: Policy,
    *,
    age: int,
    signup: datetime,
    now: datetime,
    number: int,
) -> tuple[str, list[Change]]:
    """Draw a customer's consent label and the changes it implies, from signup to ``now``."""
    language: Lang = "th" if rng.random() < 0.85 else "en"
    channel = weighted(rng, CHANNELS)
    if age < 20:
        return _minor(rng, policy, age, signup, language, channel, number)
    label, changes = _adult_grants(rng, policy, signup, language, channel)
    later = signup + (now - signup) * rng.uniform(0.3, 0.8)
    return label, changes + _adult_later(rng, label, later, language, channel)


def _adult_grants(
    rng: random.Random, policy: Policy, signup: datetime, language: Lang, channel: str
) -> tuple[str, list[Change]]:
    """Draw an adult's label and the grants made at signup (health for one in seven of all)."""
    label, purposes = adult_mix(rng.random())
    changes = [Change(signup, grant(policy, p, language, channel, "self")) for p in purposes]
    if label == "everything" and rng.random() < HEALTH_SHARE_OF_EVERYTHING:
        changes.append(Change(signup, grant(policy, HEALTH, language, channel, "self")))
        label = "everything_and_health"
    return label, changes


def _adult_later(
    rng: random.Random, label: str, later: datetime, language: Lang, channel: str
) -> list[Change]:
    """The change of mind the label implies: withdrawals, an objection or a restriction."""
    if label == "withdrew":
        gone = (RECS, OFFERS, EMAIL) if rng.random() < 0.6 else (OFFERS, EMAIL)
        return [Change(later, withdrawal(p, language, channel)) for p in gone]
    if label == "objected_marketing":
        return [Change(later, objection=Objection.DIRECT_MARKETING)]
    if label == "restricted":
        return [Change(later, restrict=True)]
    return []


def adult_mix(u: float) -> tuple[str, tuple[str, ...]]:
    """Return the label and purposes of the share of ``ADULT_MIX`` that ``u`` in [0, 1) falls in."""
    for label, share, purposes in ADULT_MIX:
        if u < share:
            return label, purposes
        u -= share
    return ADULT_MIX[0][0], ADULT_MIX[0][2]


def grant(
    policy: Policy, purpose: str, language: Lang, channel: str, actor: Actor
) -> ConsentCreate:
    """A grant citing the purpose's current notice; explicit where the basis asks (TH-SEN-01)."""
    spec = policy.purposes[purpose]
    return ConsentCreate(
        purpose=purpose,
        action="grant",
        language=language,
        channel=channel,
        actor=actor,
        notice_version=spec.notice.version,
        explicit=spec.basis is LawfulBasis.EXPLICIT_CONSENT,
    )


def withdrawal(purpose: str, language: Lang, channel: str) -> ConsentCreate:
    """A withdrawal: no more than a grant asks for (TH-CON-03)."""
    return ConsentCreate(purpose=purpose, action="withdraw", language=language, channel=channel)


def _minor(
    rng: random.Random,
    policy: Policy,
    age: int,
    signup: datetime,
    language: Lang,
    channel: str,
    number: int,
) -> tuple[str, list[Change]]:
    """TH-MIN-01: young children consent through a parent; older minors need co-consent."""
    parent = grant(policy, RECS, language, "store", "parent").model_copy(
        update={"actor_ref": f"guardian-{number:06d}"}
    )
    own = [Change(signup, grant(policy, RECS, language, channel, "self"))]
    parent_comes = rng.random() < CO_CONSENT_SHARE
    if age < policy.strictest_age_rule.guardian_only_below:
        if age < 10 or parent_comes:
            return "guardian_consent", [Change(signup, parent)]
        return "guardian_required", own
    if not parent_comes:
        return "minor_pending", own
    own.append(Change(signup, grant(policy, ANALYTICS, language, channel, "self")))
    co_consent_at = signup + timedelta(days=rng.uniform(1, 10))
    return "minor_co_consent", [*own, Change(co_consent_at, parent)]
