"""The consent API: a customer's consent status and history, and recording a grant or withdrawal.

Withdrawing is the same call as granting with ``action: withdraw`` (TH-CON-03).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request

from rujai.apikeys.deps import ConsentPrincipal
from rujai.boundary import BoundaryRoute
from rujai.consent import service as consent_service
from rujai.consent.receipts import ConsentReceipt
from rujai.consent.schemas import ConsentCreate, ConsentOverviewRead
from rujai.deps import KeyringDep, PolicyDep, SessionDep, WriterDep
from rujai.errors import PROBLEM_JSON
from rujai.kit.time import utcnow

router = APIRouter(route_class=BoundaryRoute, tags=["consent"])


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing or invalid API key."),
    403: _problem("The API key lacks the consent scope."),
    422: _problem("Invalid input; `field` names the offending field."),
}


@router.get(
    "/subjects/{customer_id}/consents",
    response_model=ConsentOverviewRead,
    responses={**AUTH_RESPONSES, 404: _problem("No subject with this customer id.")},
)
def list_consents(
    customer_id: str,
    _principal: ConsentPrincipal,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> ConsentOverviewRead:
    """Return the status of every consent-based purpose and the customer's consent ledger."""
    return consent_service.overview(
        session, keyring=keyring, policy=policy, customer_id=customer_id, now=utcnow()
    )


@router.post(
    "/subjects/{customer_id}/consents",
    status_code=201,
    response_model=ConsentReceipt,
    responses={
        **AUTH_RESPONSES,
        409: _problem("The notice version is not the current one; show the current notice."),
    },
)
async def record_consent(
    customer_id: str,
    change: ConsentCreate,
    request: Request,
    principal: ConsentPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> ConsentReceipt:
    """Record a grant or a withdrawal and return its signed receipt."""
    work = partial(
        consent_service.record,
        keyring=keyring,
        policy=policy,
        customer_id=customer_id,
        change=change,
        now=utcnow(),
        evidence_ip=request.client.host if request.client else None,
        evidence_user_agent=request.headers.get("user-agent"),
        by=principal.actor,
    )
    return await writer.run(work)
