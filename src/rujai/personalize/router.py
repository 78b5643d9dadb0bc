"""Decision endpoints: ``POST /decide`` and the subject's recent decisions."""

from __future__ import annotations

from fastapi import APIRouter

from rujai.apikeys.deps import DecidePrincipal
from rujai.deps import KeyringDep, PolicyDep, SessionDep, SettingsDep
from rujai.kit.time import utcnow
from rujai.personalize import decide as decide_service
from rujai.personalize.decision_schemas import DecideCreate, DecisionRead

router = APIRouter(tags=["personalize"])


@router.post(
    "/decide",
    response_model=DecisionRead,
    responses={
        401: {"description": "No or unknown API key."},
        403: {"description": "The key lacks the decide scope."},
        422: {"description": "Unknown placement or bad input; names the field."},
    },
)
def decide(
    body: DecideCreate,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    principal: DecidePrincipal,
) -> DecisionRead:
    """Personalized where the policy allows it, the non-personalized default where not."""
    return decide_service.decide(
        session,
        policy=policy,
        keyring=keyring,
        settings=settings.personalize,
        body=body,
        now=utcnow(),
        actor=principal.actor,
    )
