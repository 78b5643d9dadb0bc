"""The breach register API, mounted under ``/v1``: ``/incidents`` and its steps (TH-BRE-01, EU-04).

Reading (list, one incident with its clock, blast radius counts, drafts, the export) needs the
``dpo`` scope, read-only (TH-DPO-01), or ``admin``; every write (declare, assess, notify) needs
``admin``, and so does the list of affected subjects (``?subjects=true``: customer ids).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from rujai.apikeys.deps import AdminPrincipal, DpoPrincipal
from rujai.apikeys.schemas import Scope
from rujai.boundary import BoundaryRoute
from rujai.deps import KeyringDep, PolicyDep, SessionDep, WriterDep
from rujai.errors import PROBLEM_JSON, Forbidden
from rujai.incidents import blast, export, notices, service
from rujai.incidents.schemas import (
    AssessmentCreate,
    BlastRadiusRead,
    DraftsRead,
    IncidentCreate,
    IncidentRead,
    Lang,
    NotifyCreate,
    NotifyResult,
    Status,
)
from rujai.kit.time import utcnow

router = APIRouter(route_class=BoundaryRoute, prefix="/incidents", tags=["incidents"])

MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


def _auth(scope: str) -> dict[int | str, dict[str, Any]]:
    return {
        401: _problem("Missing or invalid API key."),
        403: _problem(f"The API key lacks the {scope} scope."),
        422: _problem("Invalid input; `field` names the offending field."),
    }


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("No incident with this id.")}
STATE: dict[int | str, dict[str, Any]] = {
    409: _problem("The incident's status does not allow this step; `field` says why.")
}


@router.post("", status_code=201, response_model=IncidentRead, responses=_auth("admin"))
async def declare_incident(
    body: IncidentCreate, principal: AdminPrincipal, writer: WriterDep, policy: PolicyDep
) -> IncidentRead:
    """Declare a breach; the 72-hour clock runs from ``aware_at`` (TH-BRE-01, EU-04)."""
    return await writer.run(
        partial(service.declare, policy=policy, body=body, now=utcnow(), actor=principal.actor)
    )


@router.get("", response_model=list[IncidentRead], responses=_auth("dpo"))
def list_incidents(
    _principal: DpoPrincipal,
    session: SessionDep,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IncidentRead]:
    """Return the register, oldest awareness (soonest deadline) first, each with its clock."""
    return service.list_incidents(session, now=utcnow(), status=status, limit=limit)


@router.get(
    "/export",
    response_class=Response,
    responses={**_auth("dpo"), 200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_register(
    principal: DpoPrincipal,
    session: SessionDep,
    policy: PolicyDep,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Export the register for the regulator as JSON or CSV (UTF-8 BOM), Thai and English labels."""
    document = export.register(session, policy=policy, now=utcnow(), actor=principal.actor)
    disposition = f'attachment; filename="breach-register.{fmt}"'
    return Response(
        export.render(document, fmt), media_type=MEDIA[fmt],
        headers={"Content-Disposition": disposition},
    )  # fmt: skip


@router.get("/{incident_id}", response_model=IncidentRead, responses={**_auth("dpo"), **NOT_FOUND})
def get_incident(incident_id: UUID, _principal: DpoPrincipal, session: SessionDep) -> IncidentRead:
    """Return one incident with its clock (deadline, hours left, overdue) and assessments."""
    return service.get(session, incident_id=incident_id, now=utcnow())


@router.post(
    "/{incident_id}/assessments",
    response_model=IncidentRead,
    responses={**_auth("admin"), **NOT_FOUND, **STATE},
)
async def assess_incident(
    incident_id: UUID,
    body: AssessmentCreate,
    principal: AdminPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
) -> IncidentRead:
    """Keep a risk assessment and its decision with the reasoning, also for "no notice"."""
    return await writer.run(
        partial(
            service.assess, policy=policy, incident_id=incident_id, body=body, now=utcnow(),
            actor=principal.actor,
        )
    )  # fmt: skip


@router.get(
    "/{incident_id}/blast-radius",
    response_model=BlastRadiusRead,
    responses={**_auth("dpo"), **NOT_FOUND},
)
def get_blast_radius(
    incident_id: UUID,
    principal: DpoPrincipal,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    subjects: Annotated[bool, Query(description="List the subjects (admin scope).")] = False,
) -> BlastRadiusRead:
    """Return who and which categories the breach touched, measured from the data."""
    if subjects and not principal.has(Scope.ADMIN):
        raise Forbidden(
            "listing affected subjects needs the 'admin' scope (TH-SEC-01 least privilege)",
            required_scope=Scope.ADMIN.value,
        )
    row = service.get(session, incident_id=incident_id, now=utcnow())
    window = blast.window_of(row.id, row.categories, row.occurred_from, row.occurred_to)
    return blast.measure(
        session, keyring=keyring, policy=policy, window=window, with_subjects=subjects,
        now=utcnow(), actor=principal.actor,
    )  # fmt: skip


@router.get(
    "/{incident_id}/notices/drafts",
    response_model=DraftsRead,
    responses={**_auth("dpo"), **NOT_FOUND},
)
def get_drafts(
    incident_id: UUID,
    principal: DpoPrincipal,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    lang: Annotated[Lang, Query()] = "th",
) -> DraftsRead:
    """Return the notice drafts to the authority (or controller) and to subjects, th or en."""
    return notices.drafts(
        session, keyring=keyring, policy=policy, incident_id=incident_id, lang=lang,
        now=utcnow(), actor=principal.actor,
    )  # fmt: skip


@router.post(
    "/{incident_id}/notify",
    response_model=NotifyResult,
    responses={**_auth("admin"), **NOT_FOUND, **STATE},
)
async def notify(
    incident_id: UUID,
    body: NotifyCreate,
    principal: AdminPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> NotifyResult:
    """Record the notice to the authority as sent, or send the subjects' notice (high risk)."""
    if body.audience == "authority":
        work = partial(
            notices.record_authority, incident_id=incident_id, reference=body.reference,
            lang=body.lang, now=utcnow(), actor=principal.actor,
        )  # fmt: skip
    else:
        work = partial(
            notices.notify_subjects, keyring=keyring, policy=policy, incident_id=incident_id,
            lang=body.lang, now=utcnow(), actor=principal.actor,
        )  # fmt: skip
    return await writer.run(work)
