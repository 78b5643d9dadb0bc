"""Policy endpoints: the purposes and the notice (public, TH-NOT-01) and the chokepoint check."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from rujai.apikeys.deps import DecidePrincipal
from rujai.boundary import BoundaryRoute
from rujai.deps import KeyringDep, PolicyDep, SessionDep
from rujai.kit.time import utcnow
from rujai.policy import notice as notice_service, service as policy_service
from rujai.policy.api_schemas import CheckCreate, PurposeRead, VerdictRead
from rujai.policy.schemas import Lang

router = APIRouter(route_class=BoundaryRoute, tags=["policy"])


@router.get("/purposes", response_model=list[PurposeRead])
def list_purposes(policy: PolicyDep) -> list[PurposeRead]:
    """List every purpose the policy declares."""
    return notice_service.list_purposes(policy)


@router.get(
    "/notice",
    response_model=notice_service.NoticeRead,
    responses={
        200: {"content": {"text/html": {}}, "description": "The notice as JSON or HTML."},
        422: {"description": "Unknown lang or format."},
    },
)
def get_notice(
    policy: PolicyDep,
    lang: Annotated[Lang | None, Query(description="th or en; default: the policy's")] = None,
    fmt: Annotated[Literal["json", "html"], Query(alias="format")] = "json",
) -> notice_service.NoticeRead | HTMLResponse:
    """Return the privacy notice generated from the policy, as JSON or a self-contained page."""
    notice = notice_service.render_notice(policy, lang or policy.default_language)
    if fmt == "html":
        return HTMLResponse(notice_service.notice_html(notice))
    return notice


@router.post(
    "/check",
    response_model=VerdictRead,
    responses={401: {"description": "No or unknown API key."}, 403: {"description": "No scope."}},
)
def check_use(
    body: CheckCreate,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    principal: DecidePrincipal,
) -> VerdictRead:
    """May this purpose use these categories of this customer now, and on what basis?"""
    return policy_service.check_customer(
        session, policy=policy, keyring=keyring, body=body, now=utcnow(), actor=principal.actor
    )
