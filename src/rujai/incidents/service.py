"""The breach register: declare, list, read with the clock, assess, record notices, close.

Every step is audited (``incident.declared``, ``incident.assessed``, ``incident.notified``,
``incident.closed``) with ids, counts and codes only: the title, description, measures and
reasoning a DPO types may name a person and never enter an audit entry or a log (TH-SEC-01).
TH-BRE-01, EU-04; in processor mode the notice goes to the controller (TH-PRC-01).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.incidents import clock as incident_clock
from rujai.incidents.errors import IncidentNotFound, IncidentStateConflict, UnknownCategory
from rujai.incidents.models import Incident, IncidentAssessment
from rujai.incidents.schemas import (
    TRANSITIONS,
    AssessmentCreate,
    AssessmentRead,
    ClockRead,
    IncidentCreate,
    IncidentRead,
    NoticeTo,
    Status,
)
from rujai.kit.time import as_utc, buddhist_year
from rujai.policy.schemas import Policy

MAX_LIST = 500
STOPPED: frozenset[str] = frozenset({"notified", "no_notice", "closed"})
# The decision that each level of risk calls for (PDPC breach notification 2022).
DECISION_OF_RISK = {"none": "no_notice", "risk": "notify", "high": "notify_and_subjects"}


def notice_to(policy: Policy) -> NoticeTo:
    """Return who is told of a breach: the regulator, or the controller in processor mode."""
    return "controller" if getattr(policy, "processor", None) is not None else "regulator"


def declare(
    session: Session, *, policy: Policy, body: IncidentCreate, now: datetime, actor: str
) -> IncidentRead:
    """Open an incident; the 72-hour clock runs from ``aware_at`` (TH-BRE-01, EU-04)."""
    _check_categories(policy, body.categories, "categories")
    incident_id = uuid.uuid4()
    row = Incident(
        id=incident_id,
        reference=f"INC-{buddhist_year(as_utc(body.aware_at).date())}-{incident_id.hex[:6].upper()}",
        title=body.title, description=body.description, systems=list(body.systems),
        categories=list(dict.fromkeys(body.categories)), aware_at=body.aware_at,
        occurred_from=body.occurred_from, occurred_to=body.occurred_to, status="open",
        notice_to=notice_to(policy), created_by=actor, updated_by=actor, created_at=now,
        updated_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _audit(session, row, "incident.declared", now, actor, {
        "categories": row.categories, "systems": len(row.systems), "notice_to": row.notice_to,
    })  # fmt: skip
    return _read(row, [], now)


def list_incidents(
    session: Session, *, now: datetime, status: Status | None = None, limit: int = 100
) -> list[IncidentRead]:
    """Return incidents, soonest deadline first (aware-at order), each with its clock."""
    stmt = select(Incident).order_by(Incident.aware_at.asc()).limit(min(limit, MAX_LIST))
    if status is not None:
        stmt = stmt.where(Incident.status == status)
    return [_read(row, [], now) for row in session.scalars(stmt)]


def reminders(session: Session, *, now: datetime) -> list[IncidentRead]:
    """Return the incidents whose notice is due within 24 hours or overdue (the console banner)."""
    stmt = select(Incident).where(Incident.status.in_(("open", "assessed")))
    found = [_read(row, [], now) for row in session.scalars(stmt.order_by(Incident.aware_at))]
    return [i for i in found if i.clock.is_overdue or i.clock.is_due_soon]


def get(session: Session, *, incident_id: uuid.UUID, now: datetime) -> IncidentRead:
    """Return one incident with its clock and every assessment, newest first."""
    row = _load(session, incident_id)
    return _read(row, _assessments(session, incident_id), now)


def assess(
    session: Session,
    *,
    policy: Policy,
    incident_id: uuid.UUID,
    body: AssessmentCreate,
    now: datetime,
    actor: str,
) -> IncidentRead:
    """Keep a risk assessment and its decision, also when the decision is "no notice"."""
    row = _load(session, incident_id)
    _check_categories(policy, body.data_kinds, "data_kinds")
    _step(row, "assessed")
    risk = incident_clock.risk_of(
        body.likelihood, body.severity, sensitive=body.is_sensitive, minors=body.has_minors
    )
    assessment = IncidentAssessment(
        incident_id=row.id, **body.model_dump(), risk=risk, assessed_by=actor, assessed_at=now
    )
    session.add(assessment)
    status: Status = "no_notice" if body.decision == "no_notice" else "assessed"
    _touch(row, status, now, actor)
    session.flush()
    _audit(session, row, "incident.assessed", now, actor, {
        "assessment_id": str(assessment.id), "risk": risk, "decision": body.decision,
        "subjects": body.subject_count, "records": body.record_count,
    })  # fmt: skip
    return get(session, incident_id=row.id, now=now)


def record_authority_notice(
    session: Session, *, incident_id: uuid.UUID, now: datetime, actor: str, reference: str | None
) -> Incident:
    """Mark the notice to the regulator (or controller) as sent; return the row (same domain)."""
    row = _load(session, incident_id)
    _step(row, "notified")
    if row.notified_at is None:
        row.notified_at = now
    row.notice_reference = reference or row.notice_reference
    _touch(row, "notified", now, actor)
    return row


def close(session: Session, *, incident_id: uuid.UUID, now: datetime, actor: str) -> IncidentRead:
    """Close an incident after its notice went out or "no notice" was decided."""
    row = _load(session, incident_id)
    _step(row, "closed")
    row.closed_at = now
    _touch(row, "closed", now, actor)
    session.flush()
    _audit(session, row, "incident.closed", now, actor, {})
    return get(session, incident_id=row.id, now=now)


def latest_assessment(session: Session, *, incident_id: uuid.UUID) -> AssessmentRead | None:
    """Return the newest assessment of an incident, if any."""
    found = _assessments(session, incident_id)
    return found[0] if found else None


def load(session: Session, incident_id: uuid.UUID) -> Incident:
    """Return the incident row (for this domain's modules only); IncidentNotFound if none."""
    return _load(session, incident_id)


def audit_step(
    session: Session, row: Incident, action: str, now: datetime, actor: str, detail: dict[str, Any]
) -> None:
    """Record one step of an incident: ids, counts and codes only."""
    _audit(session, row, action, now, actor, detail)


def _audit(
    session: Session, row: Incident, action: str, now: datetime, actor: str, detail: dict[str, Any]
) -> None:
    audit_service.record(
        session, actor=actor, action=action, now=now, purpose="breach_response",
        outcome=row.status,
        detail={"incident_id": str(row.id), "reference": row.reference, **detail},
    )  # fmt: skip


def _check_categories(policy: Policy, categories: Sequence[str], field: str) -> None:
    for i, category in enumerate(categories):
        if category not in policy.categories:
            known = ", ".join(sorted(policy.categories))
            raise UnknownCategory(
                f"{field}[{i}]: category {category!r} is not declared (declared: {known})",
                field=field,
            )


def _step(row: Incident, to: Status) -> None:
    current: Status = row.status  # type: ignore[assignment]
    if to not in TRANSITIONS[current]:
        raise IncidentStateConflict(
            f"incident {row.reference} is {current}; it cannot become {to}", field="status"
        )


def _touch(row: Incident, status: Status, now: datetime, actor: str) -> None:
    row.status, row.updated_at, row.updated_by = status, now, actor


def _load(session: Session, incident_id: uuid.UUID) -> Incident:
    row = session.get(Incident, incident_id)
    if row is None:
        raise IncidentNotFound(f"no incident {incident_id}", field="incident_id")
    return row


def _assessments(session: Session, incident_id: uuid.UUID) -> list[AssessmentRead]:
    stmt = (
        select(IncidentAssessment)
        .where(IncidentAssessment.incident_id == incident_id)
        .order_by(IncidentAssessment.assessed_at.desc(), IncidentAssessment.id)
    )
    return [_assessment(a) for a in session.scalars(stmt)]


def _assessment(row: IncidentAssessment) -> AssessmentRead:
    return AssessmentRead.model_validate(
        {
            **{c: getattr(row, c) for c in AssessmentRead.model_fields if hasattr(row, c)},
            "assessed_at": as_utc(row.assessed_at),
            "follows_risk": DECISION_OF_RISK[row.risk] == row.decision,
        }
    )


def clock_of(row: Incident, now: datetime) -> ClockRead:
    """Return the 72-hour clock of an incident at ``now``."""
    c = incident_clock.clock(row.aware_at, now, stopped=row.status in STOPPED)
    return ClockRead(
        deadline=c.deadline,
        deadline_th=incident_clock.thai_datetime(c.deadline),
        deadline_en=incident_clock.english_datetime(c.deadline),
        hours_left=c.hours_left,
        is_overdue=c.is_overdue,
        is_due_soon=c.is_due_soon,
        is_stopped=c.is_stopped,
        notice_to=row.notice_to,
    )


def _read(row: Incident, assessments: list[AssessmentRead], now: datetime) -> IncidentRead:
    times = {
        k: as_utc(getattr(row, k)) if getattr(row, k) is not None else None
        for k in ("aware_at", "occurred_from", "occurred_to", "notified_at", "closed_at",
                  "created_at", "updated_at")
    }  # fmt: skip
    return IncidentRead(
        id=row.id, reference=row.reference, title=row.title, description=row.description,
        systems=list(row.systems), categories=list(row.categories), status=row.status,
        notice_to=row.notice_to,
        notice_reference=row.notice_reference, created_by=row.created_by,
        updated_by=row.updated_by, clock=clock_of(row, now), assessments=assessments, **times,
    )  # fmt: skip
