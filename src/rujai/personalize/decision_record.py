"""The stored decision: what ``decide`` planned, kept as one row and read back with its reason.

The row is built as a dict and deferred to the writer's batch (``rujai.writer``), which stores every
decision of the batch in one statement; the answer is the schema of that dict, built without
validation from parts that are already valid models.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from rujai import db
from rujai.personalize.decision_schemas import DecidedItem, DecidedOffer, DecisionRead
from rujai.personalize.models import Decision
from rujai.policy.rules import REASON_TEXT, Reason, Verdict
from rujai.policy.schemas import Placement, Text

HOLDOUT_TEXT = Text(
    th="คุณอยู่ในกลุ่มเปรียบเทียบ จึงเห็นรายการมาตรฐาน",
    en="You are in our comparison group, so you see our standard selection.",
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a decision shows and what it relied on."""

    items: list[DecidedItem]
    offers: list[DecidedOffer]
    model_version: str | None
    insights_used: list[str]
    segment: str | None


def store(
    session: Session,
    placement_name: str,
    placement: Placement,
    verdict: Verdict,
    holdout: bool,
    plan: Plan,
    now: datetime,
) -> DecisionRead:
    """Defer the decision's row to the writer's batch and return its schema."""
    values = _values(placement_name, placement, verdict, holdout, plan, now)
    db.defer(session, db.Deferred(_DEFERRED_KIND, values))  # stored with the writer's batch
    return _read_values(values, plan)


def unstored(
    placement_name: str,
    placement: Placement,
    verdict: Verdict,
    holdout: bool,
    plan: Plan,
    now: datetime,
) -> DecisionRead:
    """Return the schema of a decision that is shown but never stored (a console preview)."""
    return _read_values(_values(placement_name, placement, verdict, holdout, plan, now), plan)


def _values(
    placement_name: str,
    placement: Placement,
    verdict: Verdict,
    holdout: bool,
    plan: Plan,
    now: datetime,
) -> dict[str, Any]:
    personalized = verdict.allowed and not holdout and plan.model_version is not None
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "subject_id": verdict.subject_id,
        "placement": placement_name,
        "purpose": placement.purpose,
        "personalized": personalized,
        "is_holdout": holdout,
        "reason": verdict.reason.value if not holdout else "holdout",
        "lawful_basis": verdict.lawful_basis.value if verdict.lawful_basis else None,
        "consent_record_ids": [str(i) for i in verdict.consent_record_ids] if personalized else [],
        "insights_used": plan.insights_used,
        "model_version": plan.model_version,
        "segment": plan.segment,
        "items": [i.model_dump() for i in plan.items],
        "offers": [o.model_dump() for o in plan.offers],
        "created_at": now,
    }  # the row as a dict: no ORM object on the hot path
    return values


def _read_values(values: Mapping[str, Any], plan: Plan) -> DecisionRead:
    """The schema of a row just built from ``plan`` (its parts are already valid models)."""
    return DecisionRead.model_construct(
        **{name: values[name] for name in _READ_FIELDS},
        reason_text=_reason_text(values["reason"]),
        items=plan.items,
        offers=plan.offers,
    )


_READ_FIELDS = (
    "id", "placement", "purpose", "personalized", "is_holdout", "lawful_basis",
    "consent_record_ids", "insights_used", "model_version", "segment", "reason", "created_at",
)  # fmt: skip


_DECISION: Table = Decision.__table__  # type: ignore[assignment]  # a Table at runtime
_INSERT_DECISION = insert(_DECISION)
_DEFERRED_KIND = "decision"


def _insert_decisions(session: Session, rows: list[dict[str, Any]]) -> None:
    """The writer's flusher: every decision of a batch in one statement."""
    session.execute(_INSERT_DECISION, rows)


db.register_flusher(_DEFERRED_KIND, _insert_decisions)


def read(row: Decision) -> DecisionRead:
    """Return the schema of a stored decision row."""
    return DecisionRead(
        id=row.id,
        placement=row.placement,
        purpose=row.purpose,
        personalized=row.personalized,
        is_holdout=row.is_holdout,
        lawful_basis=row.lawful_basis,
        consent_record_ids=list(row.consent_record_ids),
        insights_used=list(row.insights_used),
        model_version=row.model_version,
        segment=row.segment,
        reason=row.reason,
        reason_text=_reason_text(row.reason),
        items=[DecidedItem.model_validate(i) for i in row.items],
        offers=[DecidedOffer.model_validate(o) for o in row.offers],
        created_at=row.created_at,
    )


def _reason_text(reason: str) -> Text:
    if reason == "holdout":
        return HOLDOUT_TEXT
    th, en = REASON_TEXT[Reason(reason)]
    return Text(th=th, en=en)
