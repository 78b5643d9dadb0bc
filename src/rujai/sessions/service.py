"""Sign-in sessions: start one at sign-in, find it active per request, end it at once.

A session is active while it has not ended, was seen within the idle timeout and began within the
absolute timeout. ``find_active`` notes the visit (``last_seen_at``) at most once a minute, so a
browsing person is not a write per page. Every write goes through ``db.write``: at once on the
writer's session, or staged on a request's read session and committed before the response, so a
sign-out has ended the session when the browser hears of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from rujai import db
from rujai.errors import Invalid
from rujai.kit.time import as_utc
from rujai.sessions.models import WebSession
from rujai.sessions.schemas import EndReason, SessionKind, WebSessionRead

TOUCH_EVERY = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=8)  # longer than any absolute timeout: then the row is worth nothing


def start(
    session: Session,
    *,
    kind: SessionKind,
    now: datetime,
    subject_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Record a new sign-in of a subject or a staff member; return the session's id."""
    if (kind == "subject") != (subject_id is not None) or (kind == "staff") != (
        staff_id is not None
    ):
        raise Invalid("a subject session needs subject_id, a staff one staff_id", field="kind")
    session_id = uuid.uuid4()
    values = {
        "id": session_id, "kind": kind, "subject_id": subject_id, "staff_id": staff_id,
        "created_at": now, "last_seen_at": now,
    }  # fmt: skip
    owner = WebSession.subject_id == subject_id if subject_id else WebSession.staff_id == staff_id

    def work(s: Session) -> None:
        _forget_old(s, owner, now)
        s.execute(insert(WebSession).values(**values))

    db.write(session, work)
    return session_id


def _forget_old(session: Session, owner: ColumnElement[bool], now: datetime) -> None:
    """Delete this person's sessions that ended or began long ago (they can never be used)."""
    old = or_(WebSession.ended_at.is_not(None), WebSession.created_at < now - KEEP_ENDED)
    session.execute(delete(WebSession).where(owner, old))


def find_active(
    session: Session,
    *,
    session_id: uuid.UUID,
    now: datetime,
    idle: timedelta,
    absolute: timedelta,
) -> WebSessionRead | None:
    """Return the session if it is active now (not ended, not idle, not too old), else None."""
    row = session.scalars(
        select(WebSession)
        .where(WebSession.id == session_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None or row.ended_at is not None:
        return None
    seen, began = as_utc(row.last_seen_at), as_utc(row.created_at)
    if now - seen >= idle or now - began >= absolute:
        return None
    if now - seen >= min(TOUCH_EVERY, idle / 4):
        db.write(session, lambda s: _touch(s, session_id, now))
    return WebSessionRead.model_validate(row)


def _touch(session: Session, session_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


def end(session: Session, *, session_id: uuid.UUID, now: datetime, reason: EndReason) -> None:
    """End one session from now on (sign-out); ending an ended session changes nothing."""
    _end(session, WebSession.id == session_id, now, reason)


def end_for_staff(
    session: Session, *, staff_id: uuid.UUID, now: datetime, reason: EndReason
) -> None:
    """End every session of a staff member (password or role changed, account removed)."""
    _end(session, WebSession.staff_id == staff_id, now, reason)


def end_for_subject(
    session: Session, *, subject_id: uuid.UUID, now: datetime, reason: EndReason
) -> None:
    """End every privacy-center session of a subject."""
    _end(session, WebSession.subject_id == subject_id, now, reason)


def _end(session: Session, where: ColumnElement[bool], now: datetime, reason: str) -> None:
    statement = (
        update(WebSession)
        .where(where, WebSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.write(session, lambda s: s.execute(statement))


def forget_staff(session: Session, *, staff_id: uuid.UUID) -> int:
    """Delete a staff member's sessions (before the account itself is deleted)."""
    return _delete(session, WebSession.staff_id == staff_id)


def erase_subject(session: Session, *, subject_id: uuid.UUID) -> int:
    """Delete the subject's sessions (erasure, TH-DSR-04); return how many went."""
    return _delete(session, WebSession.subject_id == subject_id)


def _delete(session: Session, where: ColumnElement[bool]) -> int:
    result: Any = session.execute(delete(WebSession).where(where))
    return int(result.rowcount or 0)
