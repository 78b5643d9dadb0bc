"""Offers: CRUD, eligibility, the Thompson-sampling choice, the generic default and the holdout.

An offer (coupon, discount or message) has eligibility rules over insights, a validity window, a
budget cap and message variants per audience: the same product sold by a different point to a
different segment. Rules and variant audiences that target or infer a sensitive category are
refused unless the offer's purpose rests on explicit consent (TH-SEN-01); rules reading a
category the purpose does not declare are refused (TH-PUR-01). See ``offers_rules``.

Outcomes, unlearning and lift live in ``offers_outcomes`` and are re-exported here, so callers
use one module: ``from rujai.personalize import offers as offers_service``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Conflict, Invalid, NotFound
from rujai.kit.time import utcnow
from rujai.personalize import bandit, offers_cache, offers_rules
from rujai.personalize.models import Offer, OfferArm
from rujai.personalize.offers_outcomes import (
    ANY_SEGMENT,
    DecisionNotFound,
    lift_report,
    list_arms,
    record_outcome,
    stats,
    unlearn_subject,
)
from rujai.personalize.schemas import Chosen, OfferCreate, OfferRead, OfferUpdate
from rujai.policy.schemas import Policy

__all__ = [
    "ANY_SEGMENT",
    "DecisionNotFound",
    "OfferExists",
    "OfferNotFound",
    "choose",
    "clear_cache",
    "create",
    "create_many",
    "deactivate",
    "delete",
    "eligible",
    "generic",
    "get",
    "is_holdout",
    "lift_report",
    "list_arms",
    "list_offers",
    "parse_offers",
    "record_outcome",
    "stats",
    "unlearn_subject",
    "update",
]


class OfferNotFound(NotFound):
    """No offer with this id."""


class OfferExists(Conflict):
    """An offer with this id already exists."""


# ---- CRUD -----------------------------------------------------------------------------------


def parse_offers(raw: Any) -> list[OfferCreate]:
    """Validate one offer, a list, or ``{"offers": [...]}``; ``Invalid`` names the field."""
    if isinstance(raw, Mapping) and "offers" in raw:
        raw = raw["offers"]
    items = raw if isinstance(raw, list) else [raw]
    offers = []
    for i, item in enumerate(items):
        prefix = f"offers[{i}]." if isinstance(raw, list) else ""
        offers.append(_validate(item, prefix))
    return offers


def create(
    session: Session, *, policy: Policy, offer: OfferCreate, now: datetime, actor: str
) -> OfferRead:
    """Create an offer the policy allows (TH-SEN-01, TH-PUR-01); 409 if the id is taken."""
    _check_policy(policy, offer)
    if session.get(Offer, offer.id) is not None:
        raise OfferExists(f"offer {offer.id!r} already exists", field="id")
    row = Offer(id=offer.id, created_at=now)
    _apply(row, offer, now)
    session.add(row)
    session.flush()
    _audit(session, actor, "offer.create", offer.id, now)
    return offers_cache.read(row)


def create_many(
    session: Session, *, policy: Policy, offers: Sequence[OfferCreate], now: datetime, actor: str
) -> list[OfferRead]:
    """Create several offers, all or none."""
    ids = [o.id for o in offers]
    if len(set(ids)) != len(ids):
        raise Invalid("the same offer id appears twice", field="id")
    return [create(session, policy=policy, offer=o, now=now, actor=actor) for o in offers]


def get(session: Session, *, offer_id: str) -> OfferRead:
    """Return one offer; ``OfferNotFound`` if there is none."""
    return offers_cache.read(_load(session, offer_id))


def list_offers(session: Session, *, active_only: bool = False) -> list[OfferRead]:
    """Return every offer by id, or only the active ones."""
    query = select(Offer).order_by(Offer.id)
    if active_only:
        query = query.where(Offer.is_active)
    return [offers_cache.read(row) for row in session.scalars(query)]


def update(
    session: Session,
    *,
    policy: Policy,
    offer_id: str,
    change: OfferUpdate,
    now: datetime,
    actor: str,
) -> OfferRead:
    """Change the fields sent; the changed offer is validated as a whole and against the policy."""
    row = _load(session, offer_id)
    merged = _as_create(offers_cache.read(row)) | change.model_dump(exclude_unset=True)
    offer = _validate(merged, "")
    _check_policy(policy, offer)
    _apply(row, offer, now)
    session.flush()
    _audit(session, actor, "offer.update", offer_id, now)
    return offers_cache.read(row)


def deactivate(session: Session, *, offer_id: str, now: datetime, actor: str) -> OfferRead:
    """Stop offering ``offer_id``; its statistics stay."""
    row = _load(session, offer_id)
    row.is_active = False
    row.updated_at = now
    session.flush()
    _audit(session, actor, "offer.deactivate", offer_id, now)
    return offers_cache.read(row)


def delete(session: Session, *, offer_id: str, now: datetime, actor: str) -> None:
    """Delete an offer and its arms (decisions keep the id they showed)."""
    session.delete(_load(session, offer_id))
    session.flush()
    _audit(session, actor, "offer.delete", offer_id, now)


def _load(session: Session, offer_id: str) -> Offer:
    row = session.get(Offer, offer_id)
    if row is None:
        raise OfferNotFound(f"offer {offer_id!r} not found", field="offer_id")
    return row


def _validate(data: Any, prefix: str) -> OfferCreate:
    try:
        return OfferCreate.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = prefix + (".".join(str(p) for p in first["loc"]) or "body")
        raise Invalid(f"{field}: {first['msg']}", field=field) from e


def _check_policy(policy: Policy, offer: OfferCreate) -> None:
    offers_rules.check_offer(
        policy,
        purpose=offer.purpose,
        is_generic=offer.is_generic,
        eligibility=offer.eligibility.rules(),
        audiences=offer.variants,
    )


def _as_create(offer: OfferRead) -> dict[str, Any]:
    data = offer.model_dump(exclude={"created_at", "updated_at"})
    data["variants"] = {k: v.model_dump(exclude_none=True) for k, v in offer.variants.items()}
    data["title"] = offer.title.model_dump(exclude_none=True)
    return data


def _apply(row: Offer, offer: OfferCreate, now: datetime) -> None:
    row.kind = offer.kind
    row.title_th, row.title_en = offer.title.th, offer.title.en
    row.purpose = offer.purpose
    row.eligibility = offer.eligibility.rules()
    row.variants = {k: v.model_dump() for k, v in offer.variants.items()}
    row.is_generic = offer.is_generic
    row.is_active = offer.is_active
    row.valid_from, row.valid_until = offer.valid_from, offer.valid_until
    row.budget_cap = offer.budget_cap or None
    row.updated_at = now


def _audit(session: Session, actor: str, action: str, offer_id: str, now: datetime) -> None:
    offers_cache.invalidate()
    audit_service.record(session, actor=actor, action=action, now=now, detail={"offer": offer_id})


def clear_cache() -> None:
    """Forget the cached active offers of this process (they reload on the next call)."""
    offers_cache.invalidate()


# ---- Decide: eligibility, choice, generic, holdout ------------------------------------------


def eligible(
    session: Session,
    *,
    policy: Policy,
    insights: Mapping[str, Any],
    now: datetime,
    purpose: str | None = None,
) -> list[OfferRead]:
    """Return the personalized offers ``insights`` qualify for now (never generic ones).

    Active, within validity, under budget, every rule satisfied (a rule over an absent insight
    fails), and still allowed by ``policy``. Pass the placement's ``purpose`` to keep only its
    offers; without it, offers of explicit-consent purposes are left out, because the caller's
    permission does not cover them (TH-SEN-01). Reads the in-process cache, not the database.
    """
    snap = offers_cache.snapshot(session)
    candidates = [
        offer
        for offer in snap.offers
        if not offer.is_generic
        and _live(offer, now, snap.converted)
        and offers_rules.satisfied(offer.eligibility, insights)
    ]
    if not candidates:
        return []
    permitted = _permitted(snap, policy, purpose)
    return [offer for offer in candidates if offer.id in permitted]


def choose(
    session: Session,
    *,
    offers: Sequence[OfferRead],
    segment: str | None,
    rng: np.random.Generator,
    tier: str | None = None,
    age_band: str | None = None,
) -> Chosen:
    """Pick one offer by Thompson sampling over its arm for ``segment``, with its variant.

    One query loads the arms; an offer without an arm starts at Beta(1, 1). The variant is the
    offer's message for the first of segment, tier, age band that it has, else ``default``.
    """
    if not offers:
        raise Invalid("no offers to choose from; use generic() instead", field="offers")
    arm_segment = segment or ANY_SEGMENT
    by_id = {o.id: o for o in offers}
    arms = _arms(session, list(by_id), arm_segment) if len(by_id) > 1 else {}
    picked = by_id[bandit.thompson_choose({i: arms.get(i, bandit.BetaArm()) for i in by_id}, rng)]
    key, text = offers_rules.pick_variant(
        picked.variants, segment=segment, tier=tier, age_band=age_band
    )
    return Chosen(offer=picked, variant_key=key, variant={"th": text.th or "", "en": text.en or ""})


def generic(session: Session, *, now: datetime | None = None) -> OfferRead | None:
    """Return the generic offer for fallback and the holdout (the first live one by id)."""
    snap = offers_cache.snapshot(session)
    at = now or utcnow()
    return next((o for o in snap.offers if o.is_generic and _live(o, at, snap.converted)), None)


def is_holdout(subject_id: UUID, *, share: float, salt: str) -> bool:
    """Return whether the subject is in the persistent holdout (its UUID, never an identifier)."""
    return bandit.in_holdout(str(subject_id), share, salt=salt)


_ARM_COLUMNS = OfferArm.__table__.c
# One cached statement for the hot path: every arm of one segment (a few rows per offer).
_ARMS_OF_SEGMENT = select(
    _ARM_COLUMNS.offer_id, _ARM_COLUMNS.impressions, _ARM_COLUMNS.conversions
).where(_ARM_COLUMNS.segment == bindparam("segment"))


def _arms(session: Session, offer_ids: list[str], segment: str) -> dict[str, bandit.BetaArm]:
    wanted = set(offer_ids)
    rows = session.execute(_ARMS_OF_SEGMENT, {"segment": segment})
    return {o: bandit.BetaArm(conversions=c, impressions=n) for o, n, c in rows if o in wanted}


def _live(offer: OfferRead, now: datetime, converted: Mapping[str, int]) -> bool:
    if offer.valid_from is not None and now < offer.valid_from:
        return False
    if offer.valid_until is not None and now >= offer.valid_until:
        return False
    return not offer.budget_cap or converted.get(offer.id, 0) < offer.budget_cap


def _permitted(snap: offers_cache.Snapshot, policy: Policy, purpose: str | None) -> frozenset[str]:
    """Return the ids of the snapshot's offers ``policy`` allows for ``purpose`` (memoized)."""
    key = f"permitted:{id(policy)}:{purpose}"
    memo = snap.memo.get(key)
    if memo is not None and memo[0] is policy:
        return memo[1]
    permitted = frozenset(o.id for o in snap.offers if _purpose_fits(policy, o, purpose))
    snap.memo[key] = (policy, permitted)
    return permitted


def _purpose_fits(policy: Policy, offer: OfferRead, purpose: str | None) -> bool:
    spec = policy.index.purposes.get(offer.purpose)
    if spec is None or (purpose is not None and offer.purpose != purpose):
        return False
    if purpose is None and spec.is_explicit:
        return False
    return offers_rules.allowed(
        policy,
        purpose=offer.purpose,
        is_generic=offer.is_generic,
        eligibility=offer.eligibility,
        audiences=offer.variants,
    )
