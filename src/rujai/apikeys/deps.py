"""FastAPI dependencies that authenticate the caller and require a scope (TH-SEC-01).

A route declares what it needs and gets the principal::

    def list_audit(principal: AdminPrincipal, ...) -> ...: ...

The key comes from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. A missing or wrong key
is 401; a valid key without the scope is 403 naming the scope. Both render as problem+json. The key
is verified before the request's body is read (``rujai.boundary.before_body``): an anonymous
caller costs no parsing and learns nothing about the body it sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.apikeys.schemas import Principal, Scope
from rujai.boundary import before_body
from rujai.db import SessionDep
from rujai.errors import Forbidden
from rujai.kit.time import utcnow

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer rk_...`.")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key, as an alternative header."
)

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
ApiKeyHeaderValue = Annotated[str | None, Depends(_api_key_header)]


async def authenticate_first(request: Request) -> None:
    """Verify the request's key before its body is read; 401 if missing or wrong.

    The same check ``get_principal`` makes next, on a short session of its own (a key verified
    here is answered from the service's memory there).
    """
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    bearer = credentials if scheme.lower() == "bearer" and credentials else None
    token = bearer or request.headers.get("x-api-key") or ""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        apikeys_service.authenticate(session, token=token, now=utcnow())


@before_body(authenticate_first)
async def get_principal(
    session: SessionDep, bearer: BearerCredentials, api_key: ApiKeyHeaderValue
) -> Principal:
    """Authenticate the request's API key with the request's session; 401 if missing or wrong.

    ``async``: a key verified moments ago is answered from memory, else one indexed read; either
    is cheaper than a hop to a worker thread (every API request passes here).
    """
    token = bearer.credentials if bearer is not None else api_key
    return apikeys_service.authenticate(session, token=token or "", now=utcnow())


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    """Return a dependency that yields the principal, or raises Forbidden without ``scope``."""
    wanted = Scope(scope)  # a typo in a route fails at import time, not at request time

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.has(wanted):
            raise Forbidden(
                f"this API key lacks the '{wanted}' scope (least privilege, TH-SEC-01)",
                required_scope=wanted.value,
            )
        return principal

    dependency.__name__ = f"require_{wanted.value}_scope"
    return dependency


AnyPrincipal = Annotated[Principal, Depends(get_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]
DecidePrincipal = Annotated[Principal, Depends(require_scope(Scope.DECIDE))]
TrackPrincipal = Annotated[Principal, Depends(require_scope(Scope.TRACK))]
ConsentPrincipal = Annotated[Principal, Depends(require_scope(Scope.CONSENT))]
DpoPrincipal = Annotated[Principal, Depends(require_scope(Scope.DPO))]
