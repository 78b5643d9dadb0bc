"""Console pages of the breach register: the list, one incident with its clock, blast radius,
assessment form and notice drafts (TH-BRE-01, EU-04; TH-PRC-01 in processor mode).

The DPO reads everything here and changes nothing (TH-DPO-01): ``staff.WRITERS`` keeps the
forms and their POST routes to admin staff, and a DPO's POST is answered 403. The affected
customers are listed only to roles that may see identities (those that may open the customers
page). Times are shown in Bangkok time, the Buddhist Era for Thai readers. Every step is a
``rujai.incidents`` service call, audited there with actor ``staff:<username>``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from rujai.db import SessionDep, WriteSessionDep
from rujai.deps import KeyringDep, PolicyDep
from rujai.errors import Invalid
from rujai.incidents import blast, notices, service as incidents_service
from rujai.incidents.schemas import AssessmentCreate, IncidentCreate
from rujai.kit.time import utcnow
from rujai.staff import service as staff_service
from rujai.staff.service import StaffRead
from rujai.web.i18n import resolve_lang
from rujai.web.routes.console_auth import RoleForbidden, StaffDep, console_router, go
from rujai.web.routes.console_view import show

router = console_router()

PAGE = "incidents"
BANGKOK = ZoneInfo("Asia/Bangkok")


def require_writer(staff: StaffDep) -> StaffRead:
    """Refuse a change to the register unless the role may write it (TH-DPO-01: DPO reads)."""
    if not staff_service.may_write(staff.role, PAGE):
        raise RoleForbidden(
            f"the {staff.role} role may read the breach register but not change it (TH-DPO-01)"
        )
    return staff


WriterStaff = Annotated[StaffRead, Depends(require_writer)]


def _local(value: str, field: str) -> datetime:
    """Read an ``<input type=datetime-local>`` as Bangkok time."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=BANGKOK)
    except ValueError as e:
        raise Invalid(f"{field}: not a date and time", field=field) from e


def _checked(body: Any, model: type[Any]) -> Any:
    """Validate a form as the API's schema; a problem names the field (422)."""
    try:
        return model.model_validate(body)
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "form"
        raise Invalid(f"{field}: {err['msg']}", field=field) from e


def reminders_for(session: SessionDep, staff: StaffRead, now: datetime) -> list[Any]:
    """The dashboard's banner: open incidents due within 24 hours or overdue (TH-BRE-01)."""
    if not staff.may_open(PAGE):
        return []
    return incidents_service.reminders(session, now=now)


@router.get("/incidents", response_class=HTMLResponse)
def list_incidents(
    request: Request, session: SessionDep, policy: PolicyDep, staff: StaffDep
) -> HTMLResponse:
    """Show the register with each clock; overdue incidents are flagged (TH-BRE-01)."""
    context = {
        "items": incidents_service.list_incidents(session, now=utcnow()),
        "may_write": staff_service.may_write(staff.role, PAGE),
        "categories": list(policy.categories.items()),
    }
    return show(request, "incidents.html", staff=staff, page=PAGE, context=context)


@router.post("/incidents")
def declare_incident(
    session: WriteSessionDep,
    policy: PolicyDep,
    staff: WriterStaff,
    request: Request,
    title: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=10_000)],
    aware_at: Annotated[str, Form(max_length=32)],
    occurred_from: Annotated[str, Form(max_length=32)],
    occurred_to: Annotated[str, Form(max_length=32)],
    categories: Annotated[list[str], Form(max_length=32)],
    systems: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Declare a breach from the form (times in Bangkok time); the clock starts at aware-at."""
    body = _checked({
        "title": title, "description": description, "categories": categories,
        "aware_at": _local(aware_at, "aware_at"), "occurred_to": _local(occurred_to, "occurred_to"),
        "occurred_from": _local(occurred_from, "occurred_from"),
        "systems": [s.strip() for s in systems.split(",") if s.strip()],
    }, IncidentCreate)  # fmt: skip
    row = incidents_service.declare(
        session, policy=policy, body=body, now=utcnow(), actor=staff.actor
    )
    return go(request, f"/console/incidents/{row.id}")


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: StaffDep,
    incident_id: uuid.UUID,
) -> HTMLResponse:
    """Show one incident: clock, blast radius, assessments, drafts in the page's language."""
    now, lang = utcnow(), resolve_lang(request)
    item = incidents_service.get(session, incident_id=incident_id, now=now)
    window = blast.window_of(item.id, item.categories, item.occurred_from, item.occurred_to)
    radius = blast.measure(
        session, keyring=keyring, policy=policy, window=window, now=now, actor=staff.actor,
        with_subjects=staff.may_open(staff_service.IDENTITY_PAGE),
    )  # fmt: skip
    drafts = notices.drafts(
        session, keyring=keyring, policy=policy, incident_id=incident_id, lang=lang, now=now,
        actor=staff.actor,
    )  # fmt: skip
    context = {
        "item": item, "radius": radius, "drafts": drafts, "policy_categories": policy.categories,
        "may_write": staff_service.may_write(staff.role, PAGE),
        "notices": notices.list_notices(session, incident_id=incident_id),
    }  # fmt: skip
    return show(request, "incident.html", staff=staff, page=PAGE, context=context)


@router.post("/incidents/{incident_id}/assessments")
def assess_incident(
    request: Request,
    session: WriteSessionDep,
    policy: PolicyDep,
    staff: WriterStaff,
    incident_id: uuid.UUID,
    data_kinds: Annotated[list[str], Form(max_length=32)],
    subject_count: Annotated[int, Form(ge=0, le=2**31 - 1)],
    record_count: Annotated[int, Form(ge=0, le=2**31 - 1)],
    likelihood: Annotated[str, Form(max_length=8)],
    severity: Annotated[str, Form(max_length=8)],
    measures: Annotated[str, Form(max_length=10_000)],
    decision: Annotated[str, Form(max_length=24)],
    reasoning: Annotated[str, Form(max_length=10_000)],
    is_sensitive: Annotated[bool, Form()] = False,
    has_minors: Annotated[bool, Form()] = False,
) -> Response:
    """Keep a risk assessment with its decision and reasoning (also "no notice")."""
    body = _checked({
        "data_kinds": data_kinds, "subject_count": subject_count, "record_count": record_count,
        "is_sensitive": is_sensitive, "has_minors": has_minors, "likelihood": likelihood,
        "severity": severity, "measures": measures, "decision": decision, "reasoning": reasoning,
    }, AssessmentCreate)  # fmt: skip
    incidents_service.assess(
        session, policy=policy, incident_id=incident_id, body=body, now=utcnow(),
        actor=staff.actor,
    )  # fmt: skip
    return go(request, f"/console/incidents/{incident_id}")


@router.post("/incidents/{incident_id}/notify")
def notify(
    request: Request,
    session: WriteSessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: WriterStaff,
    incident_id: uuid.UUID,
    audience: Annotated[str, Form(max_length=16)],
    reference: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Record the notice to the authority as sent, or send the subjects' notice (high risk)."""
    lang, now = resolve_lang(request), utcnow()
    if audience == "subjects":
        notices.notify_subjects(
            session, keyring=keyring, policy=policy, incident_id=incident_id, lang=lang,
            now=now, actor=staff.actor,
        )  # fmt: skip
    else:
        notices.record_authority(
            session, incident_id=incident_id, reference=reference or None, lang=lang, now=now,
            actor=staff.actor,
        )  # fmt: skip
    return go(request, f"/console/incidents/{incident_id}")
