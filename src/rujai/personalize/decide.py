"""Decide: the answer to a personalization request, always given, explained, and stored.

Flow (DESIGN.md "decide"): resolve the subject → the chokepoint's verdict for the placement's
purpose and categories → if allowed and not in the holdout: insights (only those whose lineage
the verdict covers) + recommender + offer bandit; otherwise the non-personalized fallback (popular
items, the generic offer), never an error → one stored decision with what it relied on → one
audit entry (the chokepoint's). Reasons reveal at most one personal data point per item or offer.

Throughput: the chokepoint's audit entry and the decision row (``decision_record``) are deferred to
the writer's batch (``rujai.writer``), which stores every decision and entry of the batch in one
statement each and commits before the response is sent. The subject is found with one indexed read
that also returns its serving version; its consent facts, insights and recommendations come from the
per-process ``serving_cache`` under that version, which database triggers move on every change (a
withdrawal by any process is seen by the next decide). The verdict itself is evaluated and audited
on every decide. Item names, models and offers come from per-process caches with version rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.config import PersonalizeSettings
from rujai.consent import service as consent_service
from rujai.errors import Invalid
from rujai.kit.crypto import Keyring
from rujai.personalize import (
    decision_record,
    insights as insights_service,
    offers as offers_service,
    recommend as recommend_service,
    recommend_serving,
)
from rujai.personalize.decision_record import Plan
from rujai.personalize.decision_schemas import (
    DecideCreate,
    DecidedItem,
    DecidedOffer,
    DecisionRead,
)
from rujai.personalize.models import Decision
from rujai.personalize.rfm import SEGMENT_LABELS, TIER_LABELS
from rujai.personalize.serving_cache import CACHE, RECS_TTL_S
from rujai.policy import service as policy_service
from rujai.policy.rules import Verdict
from rujai.policy.schemas import Placement, Policy, Text
from rujai.policy.service import Permit
from rujai.profiles import identity_resolve
from rujai.profiles.schemas import SubjectRef

_rng = np.random.default_rng()

POPULAR = Text(th="สินค้ายอดนิยมของร้าน", en="Popular with our customers")
PICKED = Text(th="เลือกให้ตามสิ่งที่คุณชอบ", en="Picked for what you like")
GENERIC_OFFER = Text(th="ข้อเสนอสำหรับลูกค้าทุกคน", en="An offer for every customer")
FOR_YOU_OFFER = Text(th="ข้อเสนอที่เลือกให้คุณ", en="An offer picked for you")


def decide(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    settings: PersonalizeSettings,
    body: DecideCreate,
    now: datetime,
    actor: str,
    store: bool = True,
) -> DecisionRead:
    """Return a personalized decision where the policy allows it, else the fallback; store it.

    ``store=False`` is the console's preview: the door still decides (and audits the check, the
    staff member its actor), but no decision row is written: not a decision about the person.
    """
    placement = _placement(policy, body.placement)
    found = _find_subject(session, keyring, body)
    subject_id, version = found if found is not None else (None, -1)
    facts = CACHE.get(
        ("facts", subject_id, version, now.date()),
        lambda: consent_service.subject_facts(
            session, keyring=keyring, subject_id=subject_id, now=now
        ),
        owner=(subject_id, version) if subject_id is not None else None,
    )
    verdict = policy_service.check_facts(  # the door: evaluated and audited on every decide
        session, policy=policy, facts=facts, purpose=placement.purpose,
        categories=placement.categories, now=now, actor=actor,
    )  # fmt: skip
    k = min(body.k, settings.max_items)
    holdout = _in_holdout(verdict, subject_id, settings)
    if verdict.allowed and not holdout and subject_id is not None:
        permit = policy_service.issue_batch_permit(verdict, now=now)  # audited just above
        serving = _Serving(subject_id, version, keyring, permit, body, k, now)
        plan = _personalized(session, policy, placement, verdict, serving)
    else:
        plan = _fallback(session, placement, body, k)
    if not store:
        return decision_record.unstored(body.placement, placement, verdict, holdout, plan, now)
    return decision_record.store(session, body.placement, placement, verdict, holdout, plan, now)


def _placement(policy: Policy, name: str) -> Placement:
    placement = policy.placements.get(name)
    if placement is None:
        known = ", ".join(sorted(policy.placements))
        raise Invalid(f"unknown placement {name!r} (known: {known})", field="placement")
    return placement


def _find_subject(
    session: Session, keyring: Keyring, body: DecideCreate
) -> tuple[uuid.UUID, int] | None:
    """The subject's id and serving version; None when unknown or erased (no data to use)."""
    ref = SubjectRef(customer_id=body.customer_id, anonymous_id=body.anonymous_id)
    return identity_resolve.resolve_versions(session, keyring, [ref]).get(ref)


def _in_holdout(
    verdict: Verdict, subject_id: uuid.UUID | None, settings: PersonalizeSettings
) -> bool:
    if not verdict.allowed or subject_id is None:
        return False
    return offers_service.is_holdout(
        subject_id, share=settings.holdout_share, salt=settings.holdout_salt
    )


@dataclass(frozen=True, slots=True)
class _Serving:
    """Who is served and how: the subject at its serving version (the cache key) and the ask."""

    subject_id: uuid.UUID
    version: int
    keyring: Keyring
    permit: Permit
    body: DecideCreate
    k: int
    now: datetime


def _personalized(
    session: Session, policy: Policy, placement: Placement, verdict: Verdict, serving: _Serving
) -> Plan:
    subject_id, body, k = serving.subject_id, serving.body, serving.k
    exclude = _context_items(body)
    model = recommend_serving.current_model(session)
    picked = CACHE.get(  # the explained items, ready to serve
        ("items", subject_id, serving.version, model.version if model else None, k, exclude),
        lambda: _picked_items(session, serving, exclude),
        ttl_s=RECS_TTL_S,
        owner=(subject_id, serving.version),
    )
    if picked is None:
        return _fallback(session, placement, body, k)
    items, model_version = picked
    if placement.kind == "items":  # no offer: no insight is read, none is used (lineage)
        return Plan(items, [], model_version, [], None)
    permitted = frozenset(verdict.categories)
    values = CACHE.get(
        ("insights", subject_id, serving.version, permitted),
        lambda: {
            name: read.value
            for name, read in insights_service.read_for_use(session, permit=serving.permit).items()
        },
        owner=(subject_id, serving.version),
    )
    segment = values.get("rfm_segment")
    offers = _offers(session, policy, placement, values, segment, serving.now)
    used = sorted(values) if offers else []
    return Plan(items, offers, model_version, used, segment)


def _picked_items(
    session: Session, serving: _Serving, exclude: tuple[str, ...]
) -> tuple[list[DecidedItem], str | None] | None:
    """The recommender's picks for the subject, named and explained; None when it has none."""
    recs = recommend_service.recommend_for(
        session, subject_id=serving.subject_id, k=serving.k, exclude=exclude, now=serving.now,
        keyring=serving.keyring, permit=serving.permit,
    )  # fmt: skip
    if not recs.items:
        return None
    names = recommend_serving.item_names(session, item_ids=_named_ids(recs.items))
    return [_item(r.item_id, r.score, r.because, names) for r in recs.items], recs.model_version


def _offers(
    session: Session,
    policy: Policy,
    placement: Placement,
    values: Mapping[str, Any],
    segment: str | None,
    now: datetime,
) -> list[DecidedOffer]:
    if placement.kind == "items":
        return []
    eligible = offers_service.eligible(
        session, policy=policy, insights=values, now=now, purpose=placement.purpose
    )
    if not eligible:
        return _generic_offers(session, placement)
    chosen = offers_service.choose(
        session,
        offers=eligible,
        segment=segment,
        rng=_rng,
        tier=values.get("vip_tier"),
        age_band=values.get("age_band"),
    )
    reason = _offer_reason(chosen.variant_key, values)
    return [
        DecidedOffer(
            offer_id=chosen.offer.id,
            title=chosen.offer.title,
            message=Text(th=chosen.variant["th"], en=chosen.variant["en"]),
            variant=chosen.variant_key,
            reason=reason,
        )
    ]


def _offer_reason(variant_key: str, values: Mapping[str, Any]) -> Text:
    tier = values.get("vip_tier")
    if variant_key == tier and tier in TIER_LABELS:
        label = TIER_LABELS[tier]
        return Text(th=f"สำหรับสมาชิก{label.th}", en=f"For our {label.en} members")
    if variant_key in SEGMENT_LABELS:
        label = SEGMENT_LABELS[variant_key]
        return Text(th=f"สำหรับกลุ่ม{label.th}", en=f"For {label.en.lower()}")
    return FOR_YOU_OFFER


def _fallback(session: Session, placement: Placement, body: DecideCreate, k: int) -> Plan:
    exclude = _context_items(body)
    items = CACHE.get(  # the same for everyone: no personal data in it
        ("popular", k, exclude), lambda: _popular_items(session, k, exclude), ttl_s=RECS_TTL_S
    )
    offers = _generic_offers(session, placement) if placement.kind != "items" else []
    return Plan(items, offers, None, [], None)


def _popular_items(session: Session, k: int, exclude: tuple[str, ...]) -> list[DecidedItem]:
    popular = recommend_service.popular(session, k=k, exclude=exclude)
    names = recommend_serving.item_names(session, item_ids=popular)
    return [
        DecidedItem.model_construct(item_id=i, name=_name(i, names), score=None, reason=POPULAR)
        for i in popular
    ]


def _generic_offers(session: Session, placement: Placement) -> list[DecidedOffer]:
    if placement.kind == "items":
        return []
    offer = offers_service.generic(session)
    if offer is None:
        return []
    default = offer.variants.get("default")
    message = Text(th=default.th, en=default.en) if default is not None else offer.title
    return [
        DecidedOffer(
            offer_id=offer.id,
            title=offer.title,
            message=message,
            variant="default",
            reason=GENERIC_OFFER,
        )
    ]


def _context_items(body: DecideCreate) -> tuple[str, ...]:
    item = body.context.get("item_id")
    return (str(item),) if item else ()


def _named_ids(recs: Sequence[Any]) -> list[str]:
    ids = [r.item_id for r in recs]
    ids += [b for r in recs for b in r.because[:1]]
    return ids


def _name(item_id: str, names: Mapping[str, tuple[str, str]]) -> Text:
    th, en = names.get(item_id, (item_id, item_id))
    return Text.model_construct(th=th, en=en)


def _item(
    item_id: str, score: float, because: Sequence[str], names: Mapping[str, tuple[str, str]]
) -> DecidedItem:
    if because:  # one personal data point at most (PDPA.md: a little data, not a lot)
        th, en = names.get(because[0], (because[0], because[0]))
        reason = Text.model_construct(
            th=f"เพราะคุณสนใจ {th}", en=f"Because you were interested in {en}"
        )
    else:
        reason = PICKED
    # Built from stored, valid values: constructed without validation (the hot path).
    return DecidedItem.model_construct(
        item_id=item_id, name=_name(item_id, names), score=float(score), reason=reason
    )


def list_for_subject(
    session: Session, *, permit: Permit, subject_id: uuid.UUID, limit: int = 50
) -> list[DecisionRead]:
    """Return the subject's latest decisions with their reasons ("why am I seeing this?")."""
    permit.require_subject(subject_id)
    rows = session.scalars(
        select(Decision)
        .where(Decision.subject_id == subject_id)
        .order_by(Decision.created_at.desc())
        .limit(limit)
    )
    return [decision_record.read(row) for row in rows]


def export_subject(
    session: Session, *, permit: Permit, subject_id: uuid.UUID, batch: int = 500
) -> Iterator[DecisionRead]:
    """Yield every decision made about the subject, newest first, read ``batch`` rows at a time
    (a server-side cursor on PostgreSQL), for access requests (TH-DSR-01)."""
    permit.require_subject(subject_id)
    rows = session.scalars(
        select(Decision)
        .where(Decision.subject_id == subject_id)
        .order_by(Decision.created_at.desc())
        .execution_options(yield_per=batch)
    )
    return map(decision_record.read, rows)


def erase_subject(session: Session, *, subject_id: uuid.UUID, now: datetime) -> int:
    """Delete the subject's decisions (outcomes go with them); audited with the count only."""
    result = session.execute(delete(Decision).where(Decision.subject_id == subject_id))
    count = int(getattr(result, "rowcount", 0))
    audit_service.record(
        session,
        actor="system",
        action="decisions.erase",
        now=now,
        subject_id=subject_id,
        detail={"count": count},
    )
    return int(count)
