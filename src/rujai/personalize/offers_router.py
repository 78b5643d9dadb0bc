"""``/v1/offers`` (read: decide scope, write: admin scope) and ``/v1/decisions/{id}/outcome``."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from rujai.apikeys.deps import AdminPrincipal, DecidePrincipal
from rujai.boundary import BoundaryRoute
from rujai.db import SessionDep
from rujai.deps import PolicyDep, WriterDep
from rujai.kit.time import utcnow
from rujai.personalize import offers as offers_service
from rujai.personalize.schemas import (
    OfferCreate,
    OfferRead,
    OfferUpdate,
    OutcomeCreate,
    OutcomeRead,
)

router = APIRouter(route_class=BoundaryRoute, tags=["offers"])

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key."},
    403: {"description": "The API key lacks the required scope."},
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid offer, or one the policy refuses (TH-SEN-01, TH-PUR-01)."}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No offer with this id."}}

OfferId = Annotated[str, Path(min_length=1, max_length=63, description="The offer's slug.")]


@router.get("/offers", response_model=list[OfferRead], responses=_AUTH)
def list_offers(
    session: SessionDep,
    _principal: DecidePrincipal,
    active_only: Annotated[bool, Query(description="Leave out inactive offers.")] = False,
) -> list[OfferRead]:
    """List offers by id."""
    return offers_service.list_offers(session, active_only=active_only)


@router.get("/offers/{offer_id}", response_model=OfferRead, responses={**_AUTH, **_NOT_FOUND})
def get_offer(session: SessionDep, _principal: DecidePrincipal, offer_id: OfferId) -> OfferRead:
    """Return one offer."""
    return offers_service.get(session, offer_id=offer_id)


@router.post(
    "/offers",
    response_model=OfferRead,
    status_code=201,
    responses={**_AUTH, **_INVALID, 409: {"description": "An offer with this id exists."}},
)
async def create_offer(
    writer: WriterDep, policy: PolicyDep, principal: AdminPrincipal, body: OfferCreate
) -> OfferRead:
    """Create an offer with its eligibility rules and message variants."""
    return await writer.run(
        partial(
            offers_service.create, policy=policy, offer=body, now=utcnow(), actor=principal.actor
        )
    )


@router.patch(
    "/offers/{offer_id}",
    response_model=OfferRead,
    responses={**_AUTH, **_NOT_FOUND, **_INVALID},
)
async def update_offer(
    writer: WriterDep,
    policy: PolicyDep,
    principal: AdminPrincipal,
    offer_id: OfferId,
    body: OfferUpdate,
) -> OfferRead:
    """Change some fields of an offer; send ``is_active: false`` to pause it."""
    return await writer.run(
        partial(
            offers_service.update,
            policy=policy,
            offer_id=offer_id,
            change=body,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.delete(
    "/offers/{offer_id}",
    status_code=204,
    response_class=Response,
    responses={**_AUTH, **_NOT_FOUND},
)
async def delete_offer(writer: WriterDep, principal: AdminPrincipal, offer_id: OfferId) -> Response:
    """Delete an offer and its bandit statistics."""
    work = partial(offers_service.delete, offer_id=offer_id, now=utcnow(), actor=principal.actor)
    await writer.run(work)
    return Response(status_code=204)


@router.post(
    "/decisions/{decision_id}/outcome",
    response_model=OutcomeRead,
    responses={**_AUTH, 404: {"description": "No decision with this id."}},
)
async def record_outcome(
    writer: WriterDep, principal: DecidePrincipal, decision_id: UUID, body: OutcomeCreate
) -> OutcomeRead:
    """Record that the decision's offer was shown, clicked or converted (idempotent per kind)."""
    return await writer.run(
        partial(
            offers_service.record_outcome,
            decision_id=decision_id,
            kind=body.kind,
            now=utcnow(),
            actor=principal.actor,
        )
    )
