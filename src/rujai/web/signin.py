"""Signing in and out of the web UI: a server-side session record behind the signed cookie.

The cookie (``web.security``) holds only the id of a ``sessions`` record. Each page finds that
record active (not ended, not idle for ``session_ttl_minutes``, not older than
``session_max_hours``) or treats the browser as signed out and drops the cookie's data. Sign-out
ends the record before the response is sent, so a saved copy of the cookie is worth nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import Request
from sqlalchemy.orm import Session

from rujai.kit.time import utcnow
from rujai.sessions import service as sessions_service
from rujai.sessions.schemas import SessionKind, WebSessionRead
from rujai.web.security import end_session, get_web_session, start_session, web_cookie_settings

SESSION_ID_KEY = "sid"


def begin(
    request: Request,
    session: Session,
    *,
    kind: SessionKind,
    subject_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
) -> None:
    """Sign in: end the browser's previous session, record a new one, issue a fresh cookie."""
    now = utcnow()
    previous = _session_id(request)
    if previous is not None:
        sessions_service.end(session, session_id=previous, now=now, reason="replaced")
    session_id = sessions_service.start(
        session, kind=kind, subject_id=subject_id, staff_id=staff_id, now=now
    )
    start_session(request, {SESSION_ID_KEY: str(session_id)})


def current(request: Request, session: Session, *, kind: SessionKind) -> WebSessionRead | None:
    """Return the browser's active session of this kind, or None (signed out, ended, expired)."""
    session_id = _session_id(request)
    if session_id is None:
        return None
    cookies = web_cookie_settings(request)
    found = sessions_service.find_active(
        session, session_id=session_id, now=utcnow(),
        idle=timedelta(minutes=cookies.ttl_minutes), absolute=timedelta(hours=cookies.max_hours),
    )  # fmt: skip
    if found is None:
        end_session(request)  # ended or expired: the cookie is worth nothing any more
        return None
    return found if found.kind == kind else None


def finish(request: Request, session: Session) -> None:
    """Sign out: end the session record now and drop the cookie's data (new CSRF token)."""
    session_id = _session_id(request)
    if session_id is not None:
        sessions_service.end(session, session_id=session_id, now=utcnow(), reason="sign_out")
    end_session(request)


def _session_id(request: Request) -> uuid.UUID | None:
    raw = get_web_session(request).get(SESSION_ID_KEY)
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None
