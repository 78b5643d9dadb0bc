"""The tracking API: ``POST /track``, ``POST /batch`` and the drop counts for admins.

A dropped event is a normal answer (200) that says why: no purpose permits collecting its category
for this subject, an undeclared type, a missing property (TH-MIN-02), ... A malformed request is a
422 naming the field, and nothing of it is stored.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query

from rujai.apikeys.deps import AdminPrincipal, TrackPrincipal
from rujai.boundary import BoundaryRoute
from rujai.deps import KeyringDep, PolicyDep, SessionDep, SettingsDep, WriterDep
from rujai.errors import PROBLEM_JSON
from rujai.events import service as events_service
from rujai.events.schemas import (
    BatchCreate,
    DropCountRead,
    EventResult,
    IngestSummary,
    TrackEvent,
)
from rujai.kit.time import utcnow

router = APIRouter(route_class=BoundaryRoute, tags=["events"])


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing or invalid API key."),
    403: _problem("The API key lacks the required scope."),
    422: _problem("Invalid input; `field` names the offending field (e.g. `events.3.type`)."),
}


@router.post("/track", response_model=EventResult, responses=RESPONSES)
async def track_event(
    event: TrackEvent,
    principal: TrackPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> EventResult:
    """Track one event; the result says whether it was accepted, a duplicate, or dropped and why."""
    return await writer.run(
        partial(
            events_service.track,
            keyring=keyring,
            policy=policy,
            event=event,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.post("/batch", response_model=IngestSummary, responses=RESPONSES)
async def track_batch(
    batch: BatchCreate,
    principal: TrackPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> IngestSummary:
    """Track up to ``api.max_batch_events`` events in one transaction, with per-event results."""
    return await writer.run(
        partial(
            events_service.track_batch,
            keyring=keyring,
            policy=policy,
            batch=batch,
            max_events=settings.api.max_batch_events,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.get("/events/drops", response_model=list[DropCountRead], responses=RESPONSES)
def list_event_drops(
    session: SessionDep,
    _principal: AdminPrincipal,
    since: Annotated[date | None, Query(description="Only days on or after this one.")] = None,
) -> list[DropCountRead]:
    """List how many events were dropped per day, type and reason (no personal data)."""
    return events_service.drop_counts(session, since=since)
