"""``/v1/audit``: read and verify the hash-chained audit log (admin scope; TH-SEC-01, TH-DPO-01)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request

from rujai.apikeys.deps import AdminPrincipal
from rujai.audit import service as audit_service
from rujai.audit.anchor import Anchor
from rujai.audit.anchor_check import Anchors
from rujai.audit.schemas import AuditEntryRead, AuditVerifyReport
from rujai.boundary import BoundaryRoute
from rujai.db import SessionDep
from rujai.kit.inputs import INT64_MAX

router = APIRouter(route_class=BoundaryRoute, tags=["audit"])

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key."},
    403: {"description": "The API key lacks the admin scope."},
}


@router.get(
    "/audit",
    response_model=list[AuditEntryRead],
    responses={**_AUTH_ERRORS, 422: {"description": "Invalid query parameter."}},
)
def list_audit_entries(
    session: SessionDep,
    _principal: AdminPrincipal,
    subject_id: Annotated[
        UUID | None, Query(description="Only entries about this subject.")
    ] = None,
    action: Annotated[str | None, Query(max_length=64, description="Only this action.")] = None,
    limit: Annotated[int, Query(ge=1, le=audit_service.MAX_LIST_LIMIT)] = 100,
    before_seq: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="Entries older than this seq.")
    ] = None,
) -> list[AuditEntryRead]:
    """List audit entries, newest first; page with ``before_seq``."""
    return audit_service.list_entries(
        session, subject_id=subject_id, action=action, limit=limit, before_seq=before_seq
    )


@router.get("/audit/verify", response_model=AuditVerifyReport, responses=_AUTH_ERRORS)
def verify_audit_chain(
    request: Request, session: SessionDep, _principal: AdminPrincipal
) -> AuditVerifyReport:
    """Walk the whole chain; check it against the signed checkpoints outside the database.

    Reports the first broken or missing entry, or where the chain no longer matches a signed
    head (a truncated or rewritten history).
    """
    anchor: Anchor | None = getattr(request.app.state, "anchor", None)
    anchors = Anchors(anchor.signer.public_key, anchor.path) if anchor is not None else None
    return audit_service.verify(session, anchors=anchors)
