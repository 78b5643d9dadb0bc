"""The profiles API: ``POST /identify`` (track scope); merges and verified identities (admin).

Mounted under ``/v1``. Responses carry the subject's pseudonymous id, never an identifier or a
trait value (TH-SEC-01).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from rujai.apikeys.deps import AdminPrincipal, TrackPrincipal
from rujai.boundary import BoundaryRoute
from rujai.deps import KeyringDep, PolicyDep, SessionDep, WriterDep
from rujai.errors import PROBLEM_JSON
from rujai.kit.time import utcnow
from rujai.profiles import (
    merge as profiles_merge,
    verified as profiles_verified,
    verified_import,
)
from rujai.profiles.schemas import (
    IdentifyCreate,
    IdentifyRead,
    MergeRead,
    VerifiedIdentityCreate,
    VerifiedIdentityRead,
)
from rujai.profiles.verified_import import VerifiedBatchCreate, VerifiedBatchRead

router = APIRouter(route_class=BoundaryRoute, tags=["profiles"])


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {}}}


def _auth(scope: str) -> dict[int | str, dict[str, Any]]:
    return {
        401: _problem("Missing or invalid API key."),
        403: _problem(f"The API key lacks the {scope} scope."),
        422: _problem("Invalid input; `field` names the offending field."),
    }


@router.post(
    "/identify",
    response_model=IdentifyRead,
    responses={
        **_auth("track"),
        409: _problem("The customer was erased."),
    },
)
async def identify(
    body: IdentifyCreate,
    principal: TrackPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> IdentifyRead:
    """Tie an anonymous id to a known customer (merging profiles) and set declared traits.

    An e-mail, phone or anonymous id that another customer holds is not linked but queued for
    review, with the same answer as a new one: the answer never tells who holds an identifier.
    """
    return await writer.run(
        partial(
            profiles_merge.identify,
            keyring=keyring,
            policy=policy,
            body=body,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.post(
    "/admin/merges/{merge_id}/undo",
    response_model=MergeRead,
    responses={
        **_auth("admin"),
        404: _problem("No merge with this id."),
        409: _problem("The merge was already undone or is no longer in effect."),
    },
)
async def undo_merge(
    merge_id: UUID,
    principal: AdminPrincipal,
    writer: WriterDep,
    policy: PolicyDep,
    keyring: KeyringDep,
) -> MergeRead:
    """Undo a profile merge: rows move back, consent is compensated (append-only)."""
    return await writer.run(
        partial(
            profiles_merge.undo,
            keyring=keyring,
            policy=policy,
            merge_id=merge_id,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.get("/admin/merges", response_model=list[MergeRead], responses=_auth("admin"))
def list_merges(
    _principal: AdminPrincipal,
    session: SessionDep,
    subject_id: Annotated[
        UUID | None, Query(description="Merges this subject took part in.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=profiles_merge.MAX_LIST)] = 100,
) -> list[MergeRead]:
    """List profile merges, newest first."""
    return profiles_merge.list_merges(session, subject_id=subject_id, limit=limit)


@router.post(
    "/subjects/{customer_id}/identities/verified",
    status_code=201,
    response_model=VerifiedIdentityRead,
    responses={
        **_auth("admin"),
        409: _problem("Another customer holds this identifier, or its owner was erased."),
    },
)
async def record_verified_identity(
    customer_id: str,
    body: VerifiedIdentityCreate,
    principal: AdminPrincipal,
    writer: WriterDep,
    keyring: KeyringDep,
) -> VerifiedIdentityRead:
    """Record an e-mail or phone the brand verified itself, with method and time (TH-SEC-01)."""
    return await writer.run(
        partial(
            profiles_verified.record_verified,
            keyring=keyring,
            customer_id=customer_id,
            body=body,
            now=utcnow(),
            actor=principal.actor,
        )
    )


@router.post(
    "/identities/verified",
    response_model=VerifiedBatchRead,
    responses=_auth("admin"),
)
async def record_verified_identities(
    body: VerifiedBatchCreate,
    principal: AdminPrincipal,
    writer: WriterDep,
    keyring: KeyringDep,
) -> VerifiedBatchRead:
    """Record a batch of verified identities; a bad item is refused on its own, naming its field."""
    return await writer.run(
        partial(
            verified_import.record_batch,
            keyring=keyring,
            body=body,
            now=utcnow(),
            actor=principal.actor,
        )
    )
