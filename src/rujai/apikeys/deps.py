"""FastAPI dependencies that authenticate the caller and require a scope (TH-SEC-01).

A route declares what it needs and gets the principal::

    def list_audit(principal: AdminPrincipal, ...) -> ...: ...

The key comes from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. A missing or wrong key
is 401; a valid key without the scope is 403 naming the scope. Both render as problem+json.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from rujai.apikeys import service as apikeys_service
from rujai.apikeys.schemas import Principal, Scope
from rujai.db import SessionDep
from rujai.errors import Forbidden
from rujai.kit.time import utcnow

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer rk_...`.")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key, as an alternative header."
)

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
ApiKeyHeaderValue = Annotated[str | None, Depends(_api_key_header)]


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
