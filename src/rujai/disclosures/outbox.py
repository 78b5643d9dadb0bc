"""The processor outbox: tell every processor that received a subject's data what changed.

TH-PRC-01 (s.40: a processor acts only on the controller's instructions), TH-DSR-04 (erasure
reaches the copies processors hold), TH-CON-03 (a withdrawal reaches them), TH-DSR-05 and
TH-DSR-03 (restriction and objection). ``kit.signals.subject_narrowed`` and ``subject_lifted``
call ``enqueue`` in the transaction of the change itself: the notices exist if and only if the
change was committed. One notice per processor recipient that the disclosure log shows received
the subject's data: for a withdrawal or an objection only those that received it for the
affected purpose(s) (one notice per recipient and purpose), for an erasure, a restriction or
its lifting all of them (one notice per recipient).

Erasure: ``rights.erasure`` sends the signal before any domain deletes, so the disclosure rows
still carry their ``subject_id`` here; the subject's deletion later cuts that link (``ON DELETE SET
NULL``). A notice carries no ``subject_id``, only the pseudonym the recipient was given
(``disclosures.pseudonym``) and already holds. It is not the subject's data under rujai's ids:
once the identities, traits and data key are gone nothing in rujai maps the pseudonym back to a
person, so it survives the erasure as the proof that the processors were told, which
``rights verify-erasure`` does not count as a trace.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.disclosures.models import Disclosure, ProcessorNotice
from rujai.disclosures.outbox_schemas import (
    STATUSES,
    NoticeKind,
    NoticeRead,
    NoticeStatus,
    RecipientOutbox,
)
from rujai.errors import Forbidden, NotFound
from rujai.kit import signals
from rujai.kit.time import as_utc, utcnow
from rujai.policy.schemas import Policy

PER_PURPOSE: frozenset[str] = frozenset({"withdraw", "object"})
LIST_LIMIT = 500


class NoticeNotFound(NotFound):
    """No processor notice with this id."""


class NoticeOfAnotherRecipient(Forbidden):
    """The caller speaks for another recipient than the notice's."""


def kind_of(reason: str) -> NoticeKind | None:
    """Map a ``subject_narrowed`` reason to a notice kind (None: no processor needs telling)."""
    if reason == "erased":
        return "erase"
    if reason == "withdrawn":
        return "withdraw"
    if reason == "restricted":
        return "restrict"
    if reason.startswith("objected_"):
        return "object"
    return None


def enqueue(
    session: Session,
    *,
    subject_id: uuid.UUID,
    kind: NoticeKind,
    now: datetime,
    purposes: Collection[str] | None = None,
    reason: str = "",
) -> list[uuid.UUID]:
    """Queue one notice per processor that received the subject's data; return their ids."""
    query = select(Disclosure.recipient, Disclosure.subject_ref, Disclosure.purpose).where(
        Disclosure.subject_id == subject_id, Disclosure.processor.is_(True)
    )
    if purposes is not None:
        query = query.where(Disclosure.purpose.in_(sorted(purposes)))
    per_purpose = kind in PER_PURPOSE or purposes is not None  # a lifted objection: its purposes
    targets = {
        (recipient, ref, purpose if per_purpose else None)
        for recipient, ref, purpose in session.execute(query.distinct())
    }
    order = sorted(targets, key=lambda t: (t[0], t[1], t[2] or ""))
    rows = [
        ProcessorNotice(
            id=uuid.uuid4(),
            recipient=recipient,
            subject_ref=ref,
            kind=kind,
            purpose=purpose,
            detail={"reason": reason},
            created_at=now,
            attempts=0,
        )
        for recipient, ref, purpose in order
    ]
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    ids = [row.id for row in rows]
    audit_service.record(
        session, actor="system", action="processor_notice.queued", now=now,
        subject_id=subject_id, detail={"kind": kind, "count": len(ids),
                                       "notice_ids": [str(i) for i in ids]},
    )  # fmt: skip
    return ids


@signals.on_subject_narrowed
def _on_narrowed(session: Session, *, subject_id: uuid.UUID, reason: str, **context: Any) -> None:
    """Queue the notices of an erasure, withdrawal, restriction or objection (TH-PRC-01)."""
    kind = kind_of(reason)
    if kind is None:
        return
    purposes: Collection[str] | None = None
    if kind == "withdraw" and context.get("purpose") is not None:
        purposes = (str(context["purpose"]),)
    if kind == "object" and context.get("purposes") is not None:
        purposes = tuple(context["purposes"])
    # Without the stopped purposes (a caller with no policy at hand, e.g. an import of a subject
    # new here) every processor is told for every purpose it received: erring for the subject.
    now = context.get("now") or utcnow()
    enqueue(session, subject_id=subject_id, kind=kind, now=now, purposes=purposes, reason=reason)


@signals.on_subject_lifted
def _on_lifted(session: Session, *, subject_id: uuid.UUID, reason: str, **context: Any) -> None:
    """Queue ``lift`` notices when a restriction (TH-DSR-05) or an objection (TH-DSR-03) is
    lifted: the processors told to stop may resume; an objection's only for its purposes."""
    now = context.get("now") or utcnow()
    lifted = context.get("purposes")
    purposes = None if lifted is None else tuple(lifted)
    enqueue(session, subject_id=subject_id, kind="lift", now=now, purposes=purposes, reason=reason)


def erase_subject(session: Session, *, subject_id: uuid.UUID) -> int:
    """Cut the disclosure log's link to an erased subject, once the notices are queued.

    ``rights.erasure`` calls it after ``subject_narrowed(reason="erased")`` (TH-DSR-04); the
    anonymous rows keep the record of processing whole (s.39). Returns the rows unlinked.
    """
    result = session.execute(
        update(Disclosure).where(Disclosure.subject_id == subject_id).values(subject_id=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- reading -------------------------------------------------------------------------------------


def status_of(row: ProcessorNotice, *, now: datetime, overdue_days: int) -> NoticeStatus:
    """Acknowledged, else overdue after ``overdue_days``, else sent, else pending."""
    if row.acknowledged_at is not None:
        return "acknowledged"
    if as_utc(row.created_at) < now - timedelta(days=overdue_days):
        return "overdue"
    return "sent" if row.sent_at is not None else "pending"


def _status_clause(status: NoticeStatus, cutoff: datetime) -> ColumnElement[bool]:
    if status == "acknowledged":
        return ProcessorNotice.acknowledged_at.is_not(None)
    open_ = ProcessorNotice.acknowledged_at.is_(None)
    if status == "overdue":
        return and_(open_, ProcessorNotice.created_at < cutoff)
    young = and_(open_, ProcessorNotice.created_at >= cutoff)
    if status == "sent":
        return and_(young, ProcessorNotice.sent_at.is_not(None))
    return and_(young, ProcessorNotice.sent_at.is_(None))


def read(row: ProcessorNotice, *, now: datetime, overdue_days: int) -> NoticeRead:
    """The notice as the DPO sees it: no pseudonym, no detail."""
    return NoticeRead(
        id=row.id, recipient=row.recipient, kind=row.kind,
        purpose=row.purpose, status=status_of(row, now=now, overdue_days=overdue_days),
        created_at=as_utc(row.created_at),
        due_by=as_utc(row.created_at) + timedelta(days=overdue_days), attempts=row.attempts,
        sent_at=row.sent_at, next_attempt_at=row.next_attempt_at, last_error=row.last_error,
        acknowledged_at=row.acknowledged_at, ack_reference=row.ack_reference,
    )  # fmt: skip


def list_notices(
    session: Session,
    *,
    now: datetime,
    overdue_days: int,
    recipient: str | None = None,
    status: NoticeStatus | None = None,
    limit: int = LIST_LIMIT,
    actor: str | None = None,
) -> list[NoticeRead]:
    """Return notices, newest first, by recipient and status; audited for ``actor`` (TH-DPO-01)."""
    query = select(ProcessorNotice).order_by(ProcessorNotice.created_at.desc()).limit(limit)
    if recipient is not None:
        query = query.where(ProcessorNotice.recipient == recipient)
    if status is not None:
        query = query.where(_status_clause(status, now - timedelta(days=overdue_days)))
    notices = [read(row, now=now, overdue_days=overdue_days) for row in session.scalars(query)]
    if actor is not None:
        audit_service.record(
            session, actor=actor, action="processor_notice.listed", now=now,
            detail={"count": len(notices), "recipient": recipient, "status": status},
        )  # fmt: skip
    return notices


def outbox_by_recipient(
    session: Session, *, policy: Policy, now: datetime, overdue_days: int, actor: str
) -> list[RecipientOutbox]:
    """Return per recipient its counts per status and newest notices (the console's page)."""
    cutoff = now - timedelta(days=overdue_days)
    names = set(policy.recipients) | set(session.scalars(select(ProcessorNotice.recipient)))
    result = []
    for name in sorted(names):
        counts = {s: _count(session, name, _status_clause(s, cutoff)) for s in STATUSES}
        declared = policy.recipients.get(name)
        notify = declared.notify if declared else None
        notices = list_notices(
            session, now=now, overdue_days=overdue_days, recipient=name, limit=50
        )
        result.append(
            RecipientOutbox(
                recipient=name,
                name=declared.name if declared else name,
                webhook=bool(notify and notify.webhook),
                email=notify.email if notify else None,
                counts=counts,
                notices=notices,
            )
        )
    audit_service.record(
        session, actor=actor, action="processor_notice.listed", now=now,
        detail={"recipients": len(result), "count": sum(sum(r.counts.values()) for r in result)},
    )  # fmt: skip
    return result


def _count(session: Session, recipient: str, clause: ColumnElement[bool]) -> int:
    query = select(func.count()).where(ProcessorNotice.recipient == recipient, clause)
    return int(session.scalar(query) or 0)


# --- acknowledging -------------------------------------------------------------------------------


def acknowledge(
    session: Session,
    *,
    notice_id: uuid.UUID,
    reference: str,
    recipients: Collection[str] | None,
    actor: str,
    now: datetime,
    overdue_days: int,
) -> NoticeRead:
    """Store the processor's acknowledgement once; a repeat returns the first (idempotent).

    ``recipients``: the recipients the caller speaks for (a processor's API key), or None for
    staff recording an acknowledgement received another way. Another recipient's notice is 403.
    """
    row = session.get(ProcessorNotice, notice_id)
    if row is None:
        raise NoticeNotFound(f"no processor notice {notice_id}")
    if recipients is not None and row.recipient not in recipients:
        raise NoticeOfAnotherRecipient(
            "this key speaks for another recipient than the notice's (TH-PRC-01)"
        )
    repeated = row.acknowledged_at is not None
    if not repeated:
        row.acknowledged_at, row.ack_reference = now, reference
        session.flush()
    audit_service.record(
        session, actor=actor, action="processor_notice.acknowledged", now=now,
        detail={"notice_id": str(row.id), "recipient": row.recipient, "repeated": repeated},
    )  # fmt: skip
    return read(row, now=now, overdue_days=overdue_days)
