"""Data subject requests: deadlines, the life cycle, refusals and extensions (TH-DSR-00).

Life cycle: ``received -> verified -> in_progress -> completed | refused`` (``TRANSITIONS``); any
other step is a 409 naming ``status``. Every step is audited with the request id, kind and
statuses only (no personal data). Deadlines run from receipt, per jurisdiction:

- TH: 30 days for every kind (PDPA s.30, TH-DSR-01); SG: 30 days;
- EU: one calendar month (GDPR Art. 12(3), EU-01), extendable once by up to two more months with a
  recorded reason, decided and told to the subject within the first month (``extend``);
- clocks in hours (APAC-01): ``DEADLINE_HOURS`` overrides a kind's deadline per jurisdiction,
  e.g. Indonesia's 3 x 24 hours (UU PDP; unverified, a safe default per PDPA.md).

Receiving a request is ``rights.intake.submit``; carrying it out is ``rights.processing``.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Conflict, Invalid
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Lang, Policy
from rujai.rights import notifier as messages, objections
from rujai.rights.errors import RefusalCodeRequired, RequestNotFound, RequestStateConflict
from rujai.rights.models import RightsRequest
from rujai.rights.notifier import Notifier, OutboxNotifier
from rujai.rights.schemas import (
    OPEN_STATUSES,
    REFUSAL_CODES,
    TRANSITIONS,
    RefusalRead,
    RequestRead,
)

MAX_LIST = 500
DEADLINE_DAYS: dict[str, int] = {"TH": 30, "SG": 30, "ID": 30}
DEADLINE_MONTHS: dict[str, int] = {"EU": 1}
# APAC-01: per-kind clocks in hours. Indonesia (UU PDP) gives 3 x 24 hours for some actions.
DEADLINE_HOURS: dict[str, dict[str, int]] = {
    "ID": {"access": 72, "rectification": 72, "restriction": 72, "withdrawal": 72},
}
EXTENSION_MONTHS: dict[str, int] = {"EU": 2}  # GDPR Art. 12(3); PDPA s.30 has no extension


# --- deadlines ------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months; a day the target month lacks becomes its last day (31 Jan -> 28 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def deadline_in_hours(jurisdiction: str, kind: str) -> bool:
    """Return True if this kind's clock counts in hours in this jurisdiction (APAC-01)."""
    return kind in DEADLINE_HOURS.get(jurisdiction, {})


def due_at(jurisdiction: str, kind: str, received_at: datetime) -> datetime:
    """Return the deadline of a request received at ``received_at`` (TH-DSR-01, EU-01, APAC-01)."""
    hours = DEADLINE_HOURS.get(jurisdiction, {}).get(kind)
    if hours is not None:
        return received_at + timedelta(hours=hours)
    months = DEADLINE_MONTHS.get(jurisdiction)
    if months is not None:
        return add_months(received_at, months)
    return received_at + timedelta(days=DEADLINE_DAYS.get(jurisdiction, 30))


# --- reading --------------------------------------------------------------------------------------


def get(session: Session, *, request_id: uuid.UUID, now: datetime) -> RequestRead:
    """Return one request with its overdue flag; raise RequestNotFound."""
    row = session.get(RightsRequest, request_id)
    if row is None:
        raise RequestNotFound(f"request {request_id} not found", field="request_id")
    return read(row, now)


def list_requests(
    session: Session,
    *,
    now: datetime,
    status: str | None = None,
    overdue_only: bool = False,
    limit: int = 100,
) -> list[RequestRead]:
    """Return requests soonest deadline first, overdue ones flagged (TH-DSR-00)."""
    if not 1 <= limit <= MAX_LIST:
        raise Invalid(f"limit must be between 1 and {MAX_LIST}", field="limit")
    if status is not None and status not in TRANSITIONS:
        raise Invalid(f"status must be one of {', '.join(TRANSITIONS)}", field="status")
    due = func.coalesce(RightsRequest.extended_until, RightsRequest.due_at)
    stmt = select(RightsRequest).order_by(due, RightsRequest.received_at).limit(limit)
    if status is not None:
        stmt = stmt.where(RightsRequest.status == status)
    if overdue_only:
        stmt = stmt.where(RightsRequest.status.in_(sorted(OPEN_STATUSES)), due < now)
    return [read(row, now) for row in session.scalars(stmt)]


def list_for_subject(
    session: Session, *, subject_id: uuid.UUID, now: datetime
) -> list[RequestRead]:
    """Return the subject's own requests, newest first (the privacy center)."""
    rows = session.scalars(
        select(RightsRequest)
        .where(RightsRequest.subject_id == subject_id)
        .order_by(RightsRequest.received_at.desc(), RightsRequest.id)
    )
    return [read(row, now) for row in rows]


def read(row: RightsRequest, now: datetime) -> RequestRead:
    """Return the schema of a request row as of ``now``."""
    effective = row.extended_until or row.due_at
    columns = {name: getattr(row, name) for name in _READ_COLUMNS}
    return RequestRead.model_validate(
        {
            **columns,
            "language": language_of(row),
            "effective_due_at": effective,
            "is_overdue": row.status in OPEN_STATUSES and now > effective,
            "detail": {k: v for k, v in (row.detail or {}).items() if k != "sealed"},
            "result": dict(row.result or {}),
        }
    )


_READ_COLUMNS = (
    "id", "subject_id", "kind", "status", "channel", "submitted_by", "staff_ref", "jurisdiction",
    "received_at", "due_at", "extended_until", "extension_reason", "verified_at", "completed_at",
    "refusal_code", "refusal_note",
)  # fmt: skip


def language_of(row: RightsRequest) -> Lang:
    """Return the language the subject's messages are written in (TH-CON-05)."""
    return "en" if (row.detail or {}).get("language") == "en" else "th"


# --- life cycle -----------------------------------------------------------------------------------


def load_for_update(session: Session, request_id: uuid.UUID) -> RightsRequest:
    """Load and lock a request row for a life-cycle step (domain-internal)."""
    row = session.scalars(
        select(RightsRequest)
        .where(RightsRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise RequestNotFound(f"request {request_id} not found", field="request_id")
    return row


def move(
    session: Session,
    row: RightsRequest,
    to: str,
    *,
    now: datetime,
    actor: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Take one life-cycle step or raise 409 naming ``status``; audit it (domain-internal)."""
    if to not in TRANSITIONS[row.status]:
        raise RequestStateConflict(
            f"request {row.id} is {row.status}: it cannot become {to} (TH-DSR-00)", field="status"
        )
    previous, row.status, row.updated_at = row.status, to, now
    if to == "verified":
        row.verified_at = now
    if to in ("completed", "refused"):
        row.completed_at = now
    session.flush()
    audit_step(session, row, to, now=now, actor=actor, detail={"from": previous, **(detail or {})})


def audit_step(
    session: Session,
    row: RightsRequest,
    step: str,
    *,
    now: datetime,
    actor: str,
    detail: dict[str, Any],
) -> None:
    audit_service.record(
        session,
        actor=actor,
        action=f"rights.request.{step}",
        now=now,
        subject_id=row.subject_id,
        purpose="rights_requests",
        outcome=row.status,
        detail={"request_id": str(row.id), "kind": row.kind, **detail},
    )


def refuse(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    request_id: uuid.UUID,
    refusal_code: str | None,
    note: str | None,
    now: datetime,
    actor: str,
    notifier: Notifier | None = None,
) -> RequestRead:
    """Refuse a request with a reason code from ``REFUSAL_CODES`` (422 without one, TH-DSR-00)."""
    code = check_refusal_code(refusal_code)
    row = load_for_update(session, request_id)
    refuse_row(session, keyring, policy, row, code, note, now=now, actor=actor, notifier=notifier)
    return read(row, now)


def check_refusal_code(refusal_code: str | None) -> str:
    """Return the code if it is on the fixed list, else raise 422 naming ``refusal_code``."""
    if not refusal_code or refusal_code not in REFUSAL_CODES:
        allowed = ", ".join(REFUSAL_CODES)
        raise RefusalCodeRequired(
            f"a refusal needs a legal reason code, one of: {allowed} (TH-DSR-00, PDPA s.39(7))",
            field="refusal_code",
        )
    return refusal_code


def refuse_row(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    row: RightsRequest,
    code: str,
    note: str | None,
    *,
    now: datetime,
    actor: str,
    notifier: Notifier | None,
) -> None:
    """Refuse a locked request row, record the reason and tell the subject (domain-internal)."""
    if code == "compelling_grounds" and (row.detail or {}).get("objection") in (
        None,
        "direct_marketing",
    ):
        raise RefusalCodeRequired(
            "compelling grounds apply only to an objection to legitimate interest or profiling; "
            "an objection to direct marketing is always honoured (TH-DSR-03)",
            field="refusal_code",
        )
    row.refusal_code = code
    row.refusal_note = note.strip()[:500] if note and note.strip() else None
    blocked = objections.still_blocked(row)  # a refused objection stops nothing any more
    objections.release(session, row=row, purposes=blocked, now=now, actor=actor)
    move(session, row, "refused", now=now, actor=actor, detail={"refusal_code": code})
    provision, reason = REFUSAL_CODES[code]
    lang = language_of(row)
    notify_row(
        session, keyring=keyring, policy=policy, notifier=notifier, row=row,
        template="request_refused", now=now, reason=reason.get(lang), provision=provision,
        authority=messages.authority(row.jurisdiction, lang),
    )  # fmt: skip


def extend(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    request_id: uuid.UUID,
    months: int,
    reason: str,
    now: datetime,
    actor: str,
    notifier: Notifier | None = None,
) -> RequestRead:
    """Extend a GDPR deadline once by up to two months, with a reason told to the subject."""
    text = reason.strip()
    if not text:
        raise Invalid("an extension needs a reason (GDPR Art. 12(3))", field="reason")
    row = load_for_update(session, request_id)
    allowed = EXTENSION_MONTHS.get(row.jurisdiction, 0)
    _check_extension(row, allowed, months, now)
    base_months = DEADLINE_MONTHS.get(row.jurisdiction, 0)
    row.extended_until = add_months(row.received_at, base_months + months)
    row.extension_reason = text[:200]
    row.updated_at = now
    session.flush()
    audit_step(session, row, "extended", now=now, actor=actor, detail={"months": months})
    notify_row(
        session, keyring=keyring, policy=policy, notifier=notifier, row=row,
        template="request_extended", now=now, reason=row.extension_reason,
    )  # fmt: skip
    return read(row, now)


def _check_extension(row: RightsRequest, allowed: int, months: int, now: datetime) -> None:
    if allowed == 0:
        raise Conflict(
            f"deadlines under {row.jurisdiction} cannot be extended (PDPA s.30: 30 days)",
            field="jurisdiction",
        )
    if not 1 <= months <= allowed:
        raise Invalid(f"months must be 1 to {allowed} (EU-01)", field="months")
    if row.status not in OPEN_STATUSES:
        raise RequestStateConflict(f"request {row.id} is {row.status}", field="status")
    if row.extended_until is not None:
        raise Conflict("a deadline can be extended only once (EU-01)", field="extended_until")
    if now > row.due_at:
        raise Conflict(
            "an extension must be decided within the first month (GDPR Art. 12(3))",
            field="due_at",
        )


def refusals_for_ropa(session: Session, *, since: datetime | None = None) -> list[RefusalRead]:
    """Return refused requests with reason and provision for the record (TH-ROPA-01, s.39(7))."""
    stmt = select(RightsRequest).where(RightsRequest.status == "refused")
    if since is not None:
        stmt = stmt.where(RightsRequest.completed_at >= since)
    rows = session.scalars(stmt.order_by(RightsRequest.completed_at, RightsRequest.id))
    return [_refusal(row) for row in rows]


def _refusal(row: RightsRequest) -> RefusalRead:
    code = row.refusal_code or "other_law"
    provision, reason = REFUSAL_CODES.get(code, REFUSAL_CODES["other_law"])
    return RefusalRead(
        request_id=row.id,
        kind=row.kind,
        jurisdiction=row.jurisdiction,
        channel=row.channel,
        purpose=(row.detail or {}).get("purpose"),
        received_at=row.received_at,
        refused_at=row.completed_at or row.updated_at,
        refusal_code=code,
        provision=provision,
        reason=reason,
    )


# --- messages -------------------------------------------------------------------------------------


def notify_row(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    notifier: Notifier | None,
    row: RightsRequest,
    template: str,
    now: datetime,
    **values: Any,
) -> bool:
    """Send a request message to the subject's verified contact, in their language."""
    lang = language_of(row)
    due = row.extended_until or row.due_at
    with_time = deadline_in_hours(row.jurisdiction, row.kind)
    return messages.notify(
        session,
        keyring=keyring,
        policy=policy,
        notifier=notifier or OutboxNotifier(keyring),
        subject_id=row.subject_id,
        template=template,
        lang=lang,
        now=now,
        why={"request_id": str(row.id)},
        kind=messages.kind_title(row.kind, lang),
        ref=messages.reference(row.id),
        due=messages.format_due(due, lang, row.jurisdiction, with_time=with_time),
        **values,
    )
