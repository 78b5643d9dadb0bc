"""Outcomes of decisions, the bandit statistics they feed, exact unlearning, and lift.

Bandit reward: ``shown`` adds an impression and ``converted`` a conversion to the arm
``(offer, decision segment)``. ``clicked`` is recorded (for reports and the subject's access copy)
but is not a reward: a click without a purchase says little about an offer's value, and counting
it would make the Beta posterior a mix of two different rates. A click or conversion implies the
offer was shown, so it records ``shown`` first when that is missing (the arm never has more
conversions than impressions).

Only personalized decisions feed the arms. Holdout decisions are recorded but never counted:
they are the control group of the lift. Each outcome is recorded once per (decision, kind);
repeating a call returns the stored one and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from rujai.audit import service as audit_service
from rujai.errors import Invalid, NotFound
from rujai.kit import signals
from rujai.kit.time import utcnow
from rujai.personalize import bandit, offers_cache
from rujai.personalize.models import Decision, DecisionOutcome, Offer, OfferArm
from rujai.personalize.schemas import (
    ArmRead,
    LiftRead,
    OfferStatsRead,
    OutcomeRead,
    UnlearnedRead,
)

ANY_SEGMENT = "all"  # the arm segment of decisions made without a segment
OUTCOME_KINDS = ("shown", "clicked", "converted")
REWARDS = ("shown", "converted")
ArmKey = tuple[str, str]


class DecisionNotFound(NotFound):
    """No decision with this id."""


def record_outcome(
    session: Session, *, decision_id: UUID, kind: str, now: datetime, actor: str = "api"
) -> OutcomeRead:
    """Record what happened after a decision, once per kind, and update the bandit (audited)."""
    if kind not in OUTCOME_KINDS:
        raise Invalid(f"kind must be one of {', '.join(OUTCOME_KINDS)}", field="kind")
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise DecisionNotFound(f"decision {decision_id} not found", field="decision_id")
    offer_id = offer_of(decision.offers)
    arm = _arm_key(session, decision, offer_id)
    if kind != "shown":
        _record(session, decision.id, "shown", offer_id, now, arm)
    new = _record(session, decision.id, kind, offer_id, now, arm)
    at = session.scalars(
        select(DecisionOutcome.at).where(
            DecisionOutcome.decision_id == decision.id, DecisionOutcome.kind == kind
        )
    ).one()
    read = OutcomeRead(
        decision_id=decision.id,
        kind=kind,
        offer_id=offer_id,
        at=at,
        already_recorded=not new,
        counted=new and arm is not None and kind in REWARDS,
    )
    _audit_outcome(session, decision, read, actor, now)
    return read


def _audit_outcome(
    session: Session, decision: Decision, read: OutcomeRead, actor: str, now: datetime
) -> None:
    detail = {
        "decision": str(read.decision_id),
        "offer": read.offer_id,
        "new": not read.already_recorded,
        "counted": read.counted,
    }
    audit_service.record(
        session,
        actor=actor,
        action="decision.outcome",
        now=now,
        subject_id=decision.subject_id,
        purpose=decision.purpose,
        outcome=read.kind,
        detail=detail,
    )


def offer_of(offers: list[dict[str, Any]]) -> str | None:
    """Return the offer a decision showed: the ``offer_id`` of its first offer entry."""
    if not offers:
        return None
    offer_id = offers[0].get("offer_id")
    return str(offer_id) if offer_id else None


def _arm_key(session: Session, decision: Decision, offer_id: str | None) -> ArmKey | None:
    if offer_id is None or decision.is_holdout or not decision.personalized:
        return None
    if not session.scalar(select(exists().where(Offer.id == offer_id))):
        return None  # the offer was deleted since; nothing to learn
    return offer_id, decision.segment or ANY_SEGMENT


def _record(
    session: Session,
    decision_id: UUID,
    kind: str,
    offer_id: str | None,
    now: datetime,
    arm: ArmKey | None,
) -> bool:
    values = {"decision_id": decision_id, "kind": kind, "offer_id": offer_id, "at": now}
    insert = _insert_for(session)
    stmt = insert(DecisionOutcome).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["decision_id", "kind"])
    inserted = session.execute(stmt.returning(DecisionOutcome.id)).first() is not None
    if inserted and arm is not None and kind in REWARDS:
        _bump(session, arm, kind)
    if inserted and kind == "converted" and offer_id is not None:
        offers_cache.note_conversion(offer_id)  # budget caps count conversions
    return inserted


def _bump(session: Session, arm: ArmKey, kind: str) -> None:
    column = "impressions" if kind == "shown" else "conversions"
    insert = _insert_for(session)
    stmt = insert(OfferArm).values(
        offer_id=arm[0],
        segment=arm[1],
        impressions=int(kind == "shown"),
        conversions=int(kind == "converted"),
    )
    table = OfferArm.__table__.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["offer_id", "segment"], set_={column: table[column] + 1}
    )
    session.execute(stmt)


def _insert_for(session: Session) -> Any:
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


# ---- Erasure: exact unlearning (TH-DSR-04) ---------------------------------------------------


@signals.on_subject_narrowed
def _forget_on_erasure(session: Session, *, subject_id: UUID, reason: str, **context: Any) -> None:
    """Unlearn the subject's outcomes from the arms when, and only when, they are erased."""
    if reason == "erased":
        unlearn_subject(session, subject_id=subject_id, now=context.get("now"))


def unlearn_subject(
    session: Session, *, subject_id: UUID, now: datetime | None = None
) -> UnlearnedRead:
    """Subtract exactly what the subject's outcomes added to the arms, then delete the outcomes.

    For erasure (TH-DSR-04: "including ... models"). Run it before the subject's decisions are
    deleted; deleting the outcomes makes a second call a no-op. Withdrawal, objection and
    restriction do not unlearn (TH-CON-03): they stop all further use at once, while the counts
    already in an arm are anonymous aggregates over many subjects, holding no subject id and no
    value of any one person, so they are kept as statistics.
    """
    per_decision = _outcomes_by_decision(session, subject_id)
    deltas = _deltas(per_decision.values())
    for arm_key, (impressions, conversions) in deltas.items():
        _subtract(session, arm_key, impressions, conversions)
    if per_decision:
        session.execute(
            delete(DecisionOutcome).where(DecisionOutcome.decision_id.in_(list(per_decision)))
        )
    unlearned = UnlearnedRead(
        decisions=len(per_decision),
        impressions=sum(d[0] for d in deltas.values()),
        conversions=sum(d[1] for d in deltas.values()),
    )
    audit_service.record(
        session,
        actor="system",
        action="offer.unlearn",
        now=now or utcnow(),
        subject_id=subject_id,
        detail=unlearned.model_dump(),
    )
    return unlearned


def _deltas(decisions: Iterable[tuple[ArmKey | None, set[str]]]) -> dict[ArmKey, list[int]]:
    """Return per arm the impressions and conversions these decisions' outcomes added."""
    deltas: dict[ArmKey, list[int]] = defaultdict(lambda: [0, 0])
    for arm_key, kinds in decisions:
        if arm_key is not None and "shown" in kinds:
            deltas[arm_key][0] += 1
            deltas[arm_key][1] += int("converted" in kinds)
    return deltas


def _outcomes_by_decision(
    session: Session, subject_id: UUID
) -> dict[UUID, tuple[ArmKey | None, set[str]]]:
    rows = session.execute(
        select(
            Decision.id,
            Decision.personalized,
            Decision.is_holdout,
            Decision.segment,
            DecisionOutcome.kind,
            DecisionOutcome.offer_id,
        )
        .join(DecisionOutcome, DecisionOutcome.decision_id == Decision.id)
        .where(Decision.subject_id == subject_id)
    )
    found: dict[UUID, tuple[ArmKey | None, set[str]]] = {}
    for decision_id, personalized, holdout, segment, kind, offer_id in rows:
        counted = personalized and not holdout and offer_id is not None
        arm_key = (str(offer_id), segment or ANY_SEGMENT) if counted else None
        found.setdefault(decision_id, (arm_key, set()))[1].add(kind)
    return found


def _subtract(session: Session, arm_key: ArmKey, impressions: int, conversions: int) -> None:
    where = (OfferArm.offer_id == arm_key[0], OfferArm.segment == arm_key[1])
    row = session.execute(
        select(OfferArm.impressions, OfferArm.conversions).where(*where).with_for_update()
    ).one_or_none()
    if row is None:
        return  # the offer (and its arms) were deleted
    arm = bandit.BetaArm(conversions=row.conversions, impressions=row.impressions)
    for i in range(impressions):
        arm = bandit.unlearn(arm, converted=i < conversions)
    session.execute(
        update(OfferArm)
        .where(*where)
        .values(impressions=arm.impressions, conversions=arm.conversions)
        .execution_options(synchronize_session=False)
    )


# ---- Reports ---------------------------------------------------------------------------------


def list_arms(session: Session) -> list[ArmRead]:
    """Return every arm with its posterior mean under the Beta(1, 1) prior."""
    query = select(OfferArm).order_by(OfferArm.offer_id, OfferArm.segment)
    rows = session.scalars(query.execution_options(populate_existing=True))
    return [_arm_read(row) for row in rows]


def _arm_read(row: OfferArm) -> ArmRead:
    alpha, beta = bandit.BetaArm(
        conversions=row.conversions, impressions=row.impressions
    ).posterior()
    return ArmRead(
        offer_id=row.offer_id,
        segment=row.segment,
        impressions=row.impressions,
        conversions=row.conversions,
        posterior_mean=alpha / (alpha + beta),
    )


def lift_report(session: Session, *, since: datetime | None = None) -> LiftRead:
    """Return the conversion of shown personalized offers against shown holdout offers."""
    shown, converted = aliased(DecisionOutcome), aliased(DecisionOutcome)
    query = (
        select(Decision.is_holdout, func.count(shown.id), func.count(converted.id))
        .join(
            shown,
            and_(
                shown.decision_id == Decision.id,
                shown.kind == "shown",
                shown.offer_id.is_not(None),
            ),
        )
        .outerjoin(
            converted, and_(converted.decision_id == Decision.id, converted.kind == "converted")
        )
        .where(or_(Decision.personalized, Decision.is_holdout))
        .group_by(Decision.is_holdout)
    )
    if since is not None:
        query = query.where(Decision.created_at >= since)
    counts = {bool(h): (int(n), int(c)) for h, n, c in session.execute(query)}
    return _lift(since, counts.get(False, (0, 0)), counts.get(True, (0, 0)))


def _lift(since: datetime | None, treat: tuple[int, int], hold: tuple[int, int]) -> LiftRead:
    both = treat[0] > 0 and hold[0] > 0
    diff, low, high = bandit.lift(treat[1], treat[0], hold[1], hold[0]) if both else (None,) * 3
    return LiftRead(
        since=since,
        treatment_shown=treat[0],
        treatment_converted=treat[1],
        holdout_shown=hold[0],
        holdout_converted=hold[1],
        treatment_rate=treat[1] / treat[0] if treat[0] else None,
        holdout_rate=hold[1] / hold[0] if hold[0] else None,
        lift=diff,
        low=low,
        high=high,
    )


def stats(session: Session, *, since: datetime | None = None) -> OfferStatsRead:
    """Return every arm and the treatment-versus-holdout lift (for ``rujai offers stats``)."""
    return OfferStatsRead(arms=list_arms(session), lift=lift_report(session, since=since))
