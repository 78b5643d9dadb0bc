"""The rights requests API, mounted under ``/v1``: ``/requests`` and its steps (TH-DSR-00).

The brand's backend (``consent`` scope) submits requests for its customers and runs verification;
staff (``admin`` scope) also submit on a subject's behalf through staff channels, list the queue,
process, refuse (a reason code is required), extend, and record compelling grounds for a purpose
of an objection to legitimate interest (TH-DSR-03). Responses never carry an identifier or a
personal value; the copy of an access/portability request is served as a ZIP on demand.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from rujai.apikeys.deps import AdminPrincipal, ConsentPrincipal
from rujai.apikeys.schemas import Scope
from rujai.boundary import BoundaryRoute
from rujai.deps import KeyringDep, PolicyDep, SessionDep, WriterDep
from rujai.errors import PROBLEM_JSON
from rujai.kit.time import utcnow
from rujai.rights import export, grounds, intake, processing, service, verification
from rujai.rights.schemas import (
    ExtendCreate,
    GroundsCreate,
    RefuseCreate,
    RequestCreate,
    RequestRead,
    RequestStatus,
    VerificationConfirm,
    VerificationCreate,
    VerificationStarted,
)

router = APIRouter(route_class=BoundaryRoute, prefix="/requests", tags=["rights"])


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


def _auth(scope: str) -> dict[int | str, dict[str, Any]]:
    return {
        401: _problem("Missing or invalid API key."),
        403: _problem(f"The API key lacks the {scope} scope."),
        422: _problem("Invalid input; `field` names the offending field."),
    }


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("No request with this id.")}
STATE: dict[int | str, dict[str, Any]] = {
    409: _problem("The request's status does not allow this step; `field` is `status`.")
}


@router.post("", status_code=201, response_model=RequestRead, responses=_auth("consent"))
async def submit_request(
    body: RequestCreate,
    principal: ConsentPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> RequestRead:
    """Record a request and its deadline; staff channels need the admin scope."""
    return await writer.run(
        partial(
            intake.submit,
            keyring=keyring,
            policy=policy,
            body=body,
            now=utcnow(),
            actor=principal.actor,
            staff=principal.has(Scope.ADMIN),
        )
    )


@router.get("", response_model=list[RequestRead], responses=_auth("admin"))
def list_requests(
    _principal: AdminPrincipal,
    session: SessionDep,
    status: Annotated[RequestStatus | None, Query()] = None,
    overdue: Annotated[bool, Query(description="Only open requests past their deadline.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RequestRead]:
    """Return the queue, soonest deadline first, with overdue requests flagged."""
    return service.list_requests(
        session, now=utcnow(), status=status, overdue_only=overdue, limit=limit
    )


@router.get(
    "/{request_id}", response_model=RequestRead, responses={**_auth("consent"), **NOT_FOUND}
)
def get_request(request_id: UUID, _principal: ConsentPrincipal, session: SessionDep) -> RequestRead:
    """Return one request with its deadline and status."""
    return service.get(session, request_id=request_id, now=utcnow())


@router.post(
    "/{request_id}/verification",
    response_model=VerificationStarted,
    responses={**_auth("consent"), **NOT_FOUND, **STATE},
)
async def start_verification(
    request_id: UUID,
    body: VerificationCreate,
    principal: ConsentPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> VerificationStarted:
    """Send a one-time code to the subject's verified identity on file (never another address)."""
    return await writer.run(
        partial(
            verification.start_verification,
            keyring=keyring,
            policy=policy,
            request_id=request_id,
            identity_kind=body.identity_kind,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.post(
    "/{request_id}/verification/confirm",
    response_model=RequestRead,
    responses={**_auth("consent"), **NOT_FOUND, **STATE},
)
async def confirm_verification(
    request_id: UUID,
    body: VerificationConfirm,
    _principal: ConsentPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> RequestRead:
    """Check the code; restriction, objection to direct marketing, withdrawal run at once."""
    return await writer.run(
        partial(
            processing.confirm_and_run,
            keyring=keyring,
            policy=policy,
            request_id=request_id,
            code=body.code,
            now=utcnow(),
        )
    )


@router.post(
    "/{request_id}/process",
    response_model=RequestRead,
    responses={**_auth("admin"), **NOT_FOUND, **STATE},
)
async def process_request(
    request_id: UUID,
    principal: AdminPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> RequestRead:
    """Carry out a verified request (or record why it is refused)."""
    return await writer.run(
        partial(
            processing.process,
            keyring=keyring,
            policy=policy,
            request_id=request_id,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.post(
    "/{request_id}/refuse",
    response_model=RequestRead,
    responses={**_auth("admin"), **NOT_FOUND, **STATE},
)
async def refuse_request(
    request_id: UUID,
    body: RefuseCreate,
    principal: AdminPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> RequestRead:
    """Refuse with a legal reason code (422 naming ``refusal_code`` without one)."""
    return await writer.run(
        partial(
            service.refuse,
            keyring=keyring,
            policy=policy,
            request_id=request_id,
            refusal_code=body.refusal_code,
            note=body.note,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.post(
    "/{request_id}/extend",
    response_model=RequestRead,
    responses={**_auth("admin"), **NOT_FOUND, **STATE},
)
async def extend_request(
    request_id: UUID,
    body: ExtendCreate,
    principal: AdminPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> RequestRead:
    """Extend a GDPR deadline once by up to two months, with a reason (EU-01)."""
    return await writer.run(
        partial(
            service.extend,
            keyring=keyring,
            policy=policy,
            request_id=request_id,
            months=body.months,
            reason=body.reason,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.post(
    "/{request_id}/compelling-grounds",
    response_model=RequestRead,
    responses={**_auth("admin"), **NOT_FOUND, **STATE},
)
async def record_compelling_grounds(
    request_id: UUID, body: GroundsCreate, principal: AdminPrincipal, writer: WriterDep
) -> RequestRead:
    """Record compelling grounds for one purpose of an LI objection; it runs again (TH-DSR-03)."""
    return await writer.run(
        partial(
            grounds.record_grounds, request_id=request_id, body=body, now=utcnow(),
            actor=principal.actor,
        )
    )  # fmt: skip


@router.get(
    "/{request_id}/export",
    response_class=Response,
    responses={
        **_auth("consent"),
        **NOT_FOUND,
        200: {"description": "The subject's copy (ZIP).", "content": {"application/zip": {}}},
        409: _problem("Not a completed access or portability request."),
    },
)
async def download_export(
    request_id: UUID,
    principal: ConsentPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> Response:
    """Build and stream the copy of a completed access/portability request; the delivery is kept.

    The ZIP is written into a spooled file in the writer's transaction (committed with the
    delivery's audit entry), then sent in chunks: memory does not grow with the history."""
    spool = await writer.run(
        partial(
            processing.deliver_export, keyring=keyring, policy=policy, request_id=request_id,
            now=utcnow(), actor=principal.actor,
        )
    )  # fmt: skip
    disposition = f'attachment; filename="rujai-export-{request_id}.zip"'
    return StreamingResponse(
        export.iter_file(spool), media_type="application/zip",
        headers={"Content-Disposition": disposition},
    )  # fmt: skip
