"""The processor outbox API, mounted under ``/v1``: ``/processor-notices`` (TH-PRC-01).

Staff (``admin`` scope) list the notices, filtered by recipient and status; the DPO reads the same
in the console (read-only, TH-DPO-01). A processor acknowledges its own notices with a key holding
``processor:<recipient>``; staff record an acknowledgement received another way with an admin
key. Another recipient's notice is 403. Responses carry ids, kinds, purposes and times only.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from rujai.apikeys.deps import AdminPrincipal, AnyPrincipal
from rujai.apikeys.schemas import Principal, Scope
from rujai.boundary import BoundaryRoute
from rujai.deps import SessionDep, SettingsDep, WriterDep
from rujai.disclosures import outbox
from rujai.disclosures.outbox_schemas import AckCreate, NoticeRead, NoticeStatus
from rujai.errors import PROBLEM_JSON, Forbidden
from rujai.kit.time import utcnow

router = APIRouter(route_class=BoundaryRoute, prefix="/processor-notices", tags=["disclosures"])


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


AUTH: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing or invalid API key."),
    403: _problem("The API key lacks the scope, or speaks for another recipient."),
    422: _problem("Invalid input; `field` names the offending field."),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("No notice with this id.")}


async def _acknowledger(principal: AnyPrincipal) -> Principal:
    """A processor's key (``processor:<recipient>``) or staff's (``admin``); else 403."""
    if principal.has(Scope.ADMIN) or principal.processor_of:
        return principal
    raise Forbidden(
        "only a processor's key (processor:<recipient>) or an admin key may acknowledge "
        "(TH-PRC-01)",
        required_scope="processor:<recipient>",
    )


AckPrincipal = Annotated[Principal, Depends(_acknowledger)]


@router.get("", response_model=list[NoticeRead], responses=AUTH)
def list_processor_notices(
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    recipient: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")] = None,
    status: Annotated[NoticeStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NoticeRead]:
    """Return the notices, newest first; ``overdue``: unacknowledged past the allowed days."""
    return outbox.list_notices(
        session, now=utcnow(), overdue_days=settings.rights.processor_ack_days,
        recipient=recipient, status=status, limit=limit, actor=principal.actor,
    )  # fmt: skip


@router.post("/{notice_id}/ack", response_model=NoticeRead, responses={**AUTH, **NOT_FOUND})
async def acknowledge_processor_notice(
    notice_id: UUID,
    body: AckCreate,
    principal: AckPrincipal,
    writer: WriterDep,
    settings: SettingsDep,
) -> NoticeRead:
    """Store the processor's acknowledgement and reference; a repeat returns the first."""
    recipients = None if principal.has(Scope.ADMIN) else principal.processor_of
    return await writer.run(
        partial(
            outbox.acknowledge, notice_id=notice_id, reference=body.reference,
            recipients=recipients, actor=principal.actor, now=utcnow(),
            overdue_days=settings.rights.processor_ack_days,
        )
    )  # fmt: skip
