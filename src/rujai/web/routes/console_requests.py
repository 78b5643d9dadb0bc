"""Console pages for data subject requests: the queue by deadline, its steps, and the outbox.

The queue is soonest deadline first with overdue requests flagged (TH-DSR-00). Staff send a
verification code to the identity on file, enter a code the customer reads out, process a
verified request, record compelling grounds for one purpose of an objection to legitimate interest
(TH-DSR-03), or refuse with a legal reason code (required; PDPA s.39(7)). Every step is a
``rujai.rights`` service call, audited there with actor ``staff:<username>``. htmx swaps the
request's row; without JavaScript the page reloads.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from rujai.db import SessionDep, WriteSessionDep
from rujai.deps import KeyringDep, PolicyDep
from rujai.kit.time import utcnow
from rujai.rights import (
    grounds as rights_grounds,
    notifier,
    processing,
    service as rights_service,
    verification,
)
from rujai.rights.schemas import REFUSAL_CODES, TRANSITIONS, RequestRead
from rujai.staff.service import StaffRead
from rujai.web.i18n import Lang, resolve_lang
from rujai.web.render import is_htmx
from rujai.web.routes.console_auth import StaffDep, console_router, go
from rujai.web.routes.console_view import show

router = console_router()

QUEUE_LIMIT = 200
OUTBOX_LIMIT = 50


def _refusals(lang: Lang) -> list[tuple[str, str, str]]:
    return [(code, reason.get(lang), law) for code, (law, reason) in REFUSAL_CODES.items()]


def _row(
    request: Request, staff: StaffRead, item: RequestRead, note: str | None = None
) -> Response:
    if not is_htmx(request):
        return go(request, "/console/requests")
    context: dict[str, Any] = {
        "item": item,
        "note": note,
        "refusals": _refusals(resolve_lang(request)),
    }
    return show(request, "_request_row.html", staff=staff, page="requests", context=context)


@router.get("/requests", response_class=HTMLResponse)
def list_requests(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    overdue: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """Show requests soonest deadline first; overdue ones are highlighted (TH-DSR-00)."""
    items = rights_service.list_requests(
        session, now=utcnow(), status=status or None, overdue_only=overdue, limit=QUEUE_LIMIT
    )
    context = {
        "items": items,
        "status": status or "",
        "statuses": list(TRANSITIONS),
        "overdue": overdue,
        "refusals": _refusals(resolve_lang(request)),
    }
    return show(request, "requests.html", staff=staff, page="requests", context=context)


@router.post("/requests/{request_id}/verification")
def send_code(
    request: Request,
    session: WriteSessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: StaffDep,
    request_id: uuid.UUID,
) -> Response:
    """Send a one-time code to the customer's verified identity on file (never another address)."""
    now = utcnow()
    started = verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request_id, now=now, actor=staff.actor
    )
    item = rights_service.get(session, request_id=request_id, now=now)
    return _row(
        request,
        staff,
        item,
        "console.requests.code_sent" if started.sent else "console.requests.no_identity",
    )


@router.post("/requests/{request_id}/confirm")
def confirm_code(
    request: Request,
    session: WriteSessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: StaffDep,
    request_id: uuid.UUID,
    code: Annotated[str, Form(min_length=1, max_length=16)],
) -> Response:
    """Check a code the customer read out; automatic kinds are then processed at once."""
    item = processing.confirm_and_run(
        session, keyring=keyring, policy=policy, request_id=request_id, code=code,
        now=utcnow(), actor=staff.actor,
    )  # fmt: skip
    return _row(request, staff, item, "console.requests.verified")


@router.post("/requests/{request_id}/process")
def process_request(
    request: Request,
    session: WriteSessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: StaffDep,
    request_id: uuid.UUID,
) -> Response:
    """Carry out a verified request (erasure, rectification, access, ...) or record a refusal."""
    item = processing.process(
        session, keyring=keyring, policy=policy, request_id=request_id, now=utcnow(),
        actor=staff.actor,
    )  # fmt: skip
    return _row(request, staff, item, "console.requests.processed")


@router.post("/requests/{request_id}/refuse")
def refuse_request(
    request: Request,
    session: WriteSessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: StaffDep,
    request_id: uuid.UUID,
    refusal_code: Annotated[str, Form(max_length=48)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Refuse with a legal reason code; without one the answer is 422 (TH-DSR-00, s.39(7))."""
    item = rights_service.refuse(
        session, keyring=keyring, policy=policy, request_id=request_id,
        refusal_code=refusal_code or None,
        note=note or None, now=utcnow(), actor=staff.actor,
    )  # fmt: skip
    return _row(request, staff, item, "console.requests.refused")


@router.post("/requests/{request_id}/grounds")
def record_grounds(
    request: Request,
    session: WriteSessionDep,
    staff: StaffDep,
    request_id: uuid.UUID,
    purpose: Annotated[str, Form(max_length=63)] = "",
    grounds: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Record compelling grounds for one purpose of an LI objection; it runs again (TH-DSR-03)."""
    body = rights_grounds.grounds_body(purpose, grounds)
    item = rights_grounds.record_grounds(
        session, request_id=request_id, body=body, now=utcnow(), actor=staff.actor
    )
    return _row(request, staff, item, "console.requests.grounds_recorded")


@router.get("/requests/outbox", response_class=HTMLResponse)
def outbox(
    request: Request, session: SessionDep, keyring: KeyringDep, staff: StaffDep
) -> HTMLResponse:
    """Show the newest messages sent to customers (decrypted for staff; the read is audited)."""
    messages = notifier.list_outbox(
        session, keyring=keyring, limit=OUTBOX_LIMIT, now=utcnow(), actor=staff.actor
    )
    return show(
        request, "outbox.html", staff=staff, page="requests", context={"messages": messages}
    )
