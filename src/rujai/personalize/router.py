"""Decision endpoints: ``POST /decide`` and the subject's recent decisions."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, Response

from rujai.apikeys.deps import DecidePrincipal
from rujai.boundary import BoundaryRoute
from rujai.db import run_reads
from rujai.deps import SessionDep
from rujai.kit.time import utcnow
from rujai.personalize import decide as decide_service
from rujai.personalize.decision_schemas import DecideCreate, DecisionRead

router = APIRouter(route_class=BoundaryRoute, tags=["personalize"])


@router.post(
    "/decide",
    response_model=DecisionRead,
    responses={
        401: {"description": "No or unknown API key."},
        403: {"description": "The key lacks the decide scope."},
        422: {"description": "Unknown placement or bad input; names the field."},
    },
)
async def decide(
    request: Request, body: DecideCreate, session: SessionDep, principal: DecidePrincipal
) -> Response:
    """Personalized where the policy allows it, the non-personalized default where not.

    Its reads are a few indexed lookups (the rest is cached per process): inline on SQLite, in
    a worker thread on PostgreSQL (``db.run_reads``); its writes go to the writer. The body is
    serialised once, straight from the model (``response_model`` documents it). Policy, keyring
    and settings are read from the app's state here rather than as three more dependencies to
    solve on every page view.
    """
    state = request.app.state
    policy, keyring, settings = state.policy, state.keyring, state.settings
    decision = await run_reads(
        session,
        partial(
            decide_service.decide, session, policy=policy, keyring=keyring,
            settings=settings.personalize, body=body, now=utcnow(), actor=principal.actor,
        ),
    )  # fmt: skip
    return Response(decision.model_dump_json(), media_type="application/json")
