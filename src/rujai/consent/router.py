"""The consent API: a customer's consent status and history, and recording a grant or withdrawal.

Withdrawing is the same call as granting with ``action: withdraw`` (TH-CON-03). ``/consents``
takes the subject in the body or the query: a ``customer_id`` or, for a website visitor who has
not signed in, an ``anonymous_id`` (exactly one). A grant for profiling or marketing from a
subject whose age is unknown is a 422 ``age_required`` naming the field to ask for; the same
request may carry ``birth_date`` or ``age_band`` (TH-MIN-01, EU-03).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from rujai.apikeys.deps import ConsentPrincipal
from rujai.boundary import BoundaryRoute
from rujai.consent import at as consent_at, service as consent_service
from rujai.consent.receipts import ConsentReceipt
from rujai.consent.schemas import (
    ConsentCreate,
    ConsentOverviewRead,
    ConsentsAtRead,
    ConsentSubjectCreate,
)
from rujai.deps import KeyringDep, PolicyDep, SessionDep, WriterDep
from rujai.errors import PROBLEM_JSON
from rujai.kit.time import utcnow
from rujai.policy.rules import Action

router = APIRouter(route_class=BoundaryRoute, tags=["consent"])


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing or invalid API key."),
    403: _problem("The API key lacks the consent scope."),
    422: _problem(
        "Invalid input; `field` names the offending field. `age_required`: the subject's age is "
        "unknown; ask for `field` (`accepts` lists the fields, `age_bands` the bands)."
    ),
}
CONFLICT = _problem("The notice version is not the current one; show the current notice.")


@router.get(
    "/subjects/{customer_id}/consents",
    response_model=ConsentOverviewRead | ConsentsAtRead,
    responses={**AUTH_RESPONSES, 404: _problem("No subject with this customer id.")},
)
def list_consents(
    customer_id: str,
    _principal: ConsentPrincipal,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    at: Annotated[
        AwareDatetime | None,
        Query(description="A past time with a UTC offset: the state the ledger proves then."),
    ] = None,
    purpose: Annotated[str | None, Query(max_length=63, description="Only this purpose.")] = None,
    action: Annotated[Action, Query(description="The use the verdict at `at` is for.")] = (
        Action.USE
    ),
) -> ConsentOverviewRead | ConsentsAtRead:
    """Return the status per consent purpose and the ledger; with ``at``, the state then."""
    if at is None:
        return consent_service.overview(
            session, keyring=keyring, policy=policy, customer_id=customer_id, now=utcnow()
        )
    return consent_at.state_at(
        session, keyring=keyring, policy=policy, customer_id=customer_id, at=at, now=utcnow(),
        purpose=purpose, action=action,
    )  # fmt: skip


@router.post(
    "/subjects/{customer_id}/consents",
    status_code=201,
    response_model=ConsentReceipt,
    responses={**AUTH_RESPONSES, 409: CONFLICT},
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


@router.get(
    "/consents",
    response_model=ConsentOverviewRead,
    responses={**AUTH_RESPONSES, 404: _problem("No subject with this customer or anonymous id.")},
)
def list_subject_consents(
    _principal: ConsentPrincipal,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    anonymous_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
) -> ConsentOverviewRead:
    """Return the consent status and ledger of a customer or of an anonymous visitor."""
    return consent_service.overview(
        session, keyring=keyring, policy=policy, now=utcnow(), customer_id=customer_id,
        anonymous_id=anonymous_id,
    )  # fmt: skip


@router.post(
    "/consents",
    status_code=201,
    response_model=ConsentReceipt,
    responses={
        **AUTH_RESPONSES,
        409: _problem("The notice version is not the current one, or the profile was erased."),
    },
)
async def record_subject_consent(
    body: ConsentSubjectCreate,
    request: Request,
    principal: ConsentPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> ConsentReceipt:
    """Record a grant or withdrawal for a customer or an anonymous visitor; return the receipt."""
    change = ConsentCreate.model_validate(body.model_dump(exclude={"customer_id", "anonymous_id"}))
    work = partial(
        consent_service.record, keyring=keyring, policy=policy, change=change, now=utcnow(),
        customer_id=body.customer_id, anonymous_id=body.anonymous_id,
        evidence_ip=request.client.host if request.client else None,
        evidence_user_agent=request.headers.get("user-agent"), by=principal.actor,
    )  # fmt: skip
    return await writer.run(work)
