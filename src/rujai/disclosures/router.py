"""The disclosures API, mounted under ``/v1`` (TH-USE-01, TH-XB-01, TH-PRC-01).

- ``POST /disclosures/exports`` (admin): an audience file for a recipient; refusals as counts;
- ``GET /disclosures`` (admin, the DPO's read-only log): flows with counts, never a person;
- ``GET /partner/subjects/{subject_ref}`` and ``GET /partner/audiences/{batch_id}`` (a key bound
  to a recipient, ``partner:<recipient id>``): what was disclosed to that recipient, asked of the
  door again; each read is a logged disclosure.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from rujai.apikeys.deps import AdminPrincipal, get_principal
from rujai.apikeys.schemas import Principal, Scope
from rujai.boundary import BoundaryRoute
from rujai.deps import KeyringDep, PolicyDep, SessionDep
from rujai.disclosures import flows, service
from rujai.disclosures.errors import NotAPartnerKey
from rujai.disclosures.schemas import (
    DisclosureBatchRead,
    DisclosureFilter,
    ExportCreate,
    PartnerRecord,
)
from rujai.errors import PROBLEM_JSON
from rujai.kit.time import utcnow

router = APIRouter(route_class=BoundaryRoute, tags=["disclosures"])

_MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


AUTH: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing or invalid API key."),
    403: _problem("The key lacks the scope, or the policy refused (`reason` says why)."),
    422: _problem("Invalid input; `field` names the offending field."),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("Nothing disclosed under this id.")}


async def partner_recipient(principal: Annotated[Principal, Depends(get_principal)]) -> str:
    """Return the recipient a partner key is bound to; 403 for any other key."""
    if principal.recipient is None or not principal.has(Scope.PARTNER):
        raise NotAPartnerKey(
            "this API key is not bound to a recipient (scope partner:<recipient id>)",
            required_scope=Scope.PARTNER.value,
        )
    return principal.recipient


PartnerRecipient = Annotated[str, Depends(partner_recipient)]


@router.post(
    "/disclosures/exports",
    response_class=Response,
    responses={**AUTH, 200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def export_disclosure(
    body: ExportCreate,
    principal: AdminPrincipal,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> Response:
    """Send an audience to a recipient as a file; refusals are counted in the headers.

    The reads run on the request's session; the log rows and audit entries it stages are
    committed by the writer as one unit before the response (a file means "logged").
    """
    result = flows.export_audience(
        session, policy=policy, keyring=keyring, body=body, now=utcnow(), actor=principal.actor
    )
    headers = {
        "X-Rujai-Batch-Id": str(result.batch_id),
        "X-Rujai-Disclosed": str(result.disclosed),
        "X-Rujai-Refused": ",".join(f"{k}={v}" for k, v in result.refused.items()),
        "Content-Disposition": f'attachment; filename="{result.recipient}-{result.batch_id}.'
        f'{result.format}"',
    }
    return Response(result.content, media_type=_MEDIA[result.format], headers=headers)


@router.get("/disclosures", response_model=list[DisclosureBatchRead], responses=AUTH)
def list_disclosures(
    _principal: AdminPrincipal,
    session: SessionDep,
    filters: Annotated[DisclosureFilter, Query()],
) -> list[DisclosureBatchRead]:
    """Return the log's flows, newest first, with counts only (read-only, for the DPO)."""
    return service.list_batches(session, filters=filters)


@router.get(
    "/partner/subjects/{subject_ref}",
    response_model=PartnerRecord,
    responses={**AUTH, **NOT_FOUND},
)
def partner_subject(
    subject_ref: Annotated[str, Path(min_length=1, max_length=64)],
    recipient: PartnerRecipient,
    principal: Annotated[Principal, Depends(get_principal)],
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> PartnerRecord:
    """Return a subject disclosed to the key's recipient, as the door allows it now."""
    return flows.partner_subject(
        session, policy=policy, keyring=keyring, recipient=recipient, subject_ref=subject_ref,
        now=utcnow(), actor=principal.actor,
    )  # fmt: skip


@router.get(
    "/partner/audiences/{batch_id}",
    response_model=list[PartnerRecord],
    responses={**AUTH, **NOT_FOUND},
)
def partner_audience(
    batch_id: UUID,
    recipient: PartnerRecipient,
    principal: Annotated[Principal, Depends(get_principal)],
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> list[PartnerRecord]:
    """Return an audience sent to the key's recipient, as the door allows it now."""
    return flows.partner_batch(
        session, policy=policy, keyring=keyring, recipient=recipient, batch_id=batch_id,
        now=utcnow(), actor=principal.actor,
    )  # fmt: skip
