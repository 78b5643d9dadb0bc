"""Who may open which console page: sign-in state, page roles, and how refusals are answered.

Authorisation is applied once, as a dependency of the console router (``authorize_page``): the
page is the first path segment after ``/console`` (``/console/audit/verify`` is ``audit``) and
``staff.PAGES`` lists the roles that may open it (TH-SEC-01 least privilege). Unknown pages are
refused (default deny). A console session is a server-side record (``web.signin``): it ends at
sign-out, when the staff member's password or role changes or the account is removed, after
``session_ttl_minutes`` idle and ``session_max_hours`` after sign-in.

``ConsoleRoute`` answers ``LoginRequired`` with a redirect to the sign-in page and
``RoleForbidden`` with the console's 403 page; both are raised before the page does any work.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRouter

from rujai.boundary import BoundaryRoute
from rujai.db import SessionDep
from rujai.errors import Forbidden, Unauthorized
from rujai.kit.time import utcnow
from rujai.staff import service as staff_service
from rujai.staff.login import LoginThrottle
from rujai.staff.service import StaffRead
from rujai.web import signin
from rujai.web.render import is_htmx, render, web_error_of

PUBLIC_PAGES = frozenset({"login", "logout"})
PREFIX = "/console"


class LoginRequired(Unauthorized):
    """No console session, or it expired: sign in again."""

    code = "login_required"
    title = "Sign in"


class RoleForbidden(Forbidden):
    """The staff member's role may not open this page (TH-SEC-01 least privilege)."""

    code = "role_forbidden"


def page_of(request: Request) -> str:
    """Return the console page a request is for: the first segment after /console."""
    path = str(getattr(request.scope.get("route"), "path", request.url.path))
    rest = path.removeprefix(PREFIX).strip("/")
    return rest.split("/", 1)[0] or "dashboard"


def _signed_in(request: Request, session: SessionDep) -> StaffRead | None:
    found = signin.current(request, session, kind="staff")
    if found is None or found.staff_id is None:
        return None
    return staff_service.find(session, staff_id=found.staff_id)


SignedInDep = Annotated[StaffRead | None, Depends(_signed_in)]


def authorize_page(request: Request, staff: SignedInDep) -> None:
    """Refuse a page unless a signed-in staff member's role may open it (TH-SEC-01)."""
    page = page_of(request)
    if page in PUBLIC_PAGES:
        return
    if staff is None:
        raise LoginRequired("sign in to use the console")
    if not staff.may_open(page):
        raise RoleForbidden(
            f"the {staff.role} role may not open the {page} page (TH-SEC-01 least privilege)"
        )


def require_staff(staff: SignedInDep) -> StaffRead:
    """Return the signed-in staff member (the router has already checked the page)."""
    if staff is None:
        raise LoginRequired("sign in to use the console")
    return staff


StaffDep = Annotated[StaffRead, Depends(require_staff)]


def sign_in(request: Request, session: SessionDep, staff: StaffRead) -> None:
    """Begin a console session for ``staff`` (a new record, a new cookie and CSRF token)."""
    signin.begin(request, session, kind="staff", staff_id=staff.id)


def sign_out(request: Request, session: SessionDep) -> None:
    """End the console session at once (a new CSRF token comes with the empty cookie)."""
    signin.finish(request, session)


def login_throttle(request: Request) -> LoginThrottle:
    """Return the app's per-address login throttle, created on first use."""
    throttle = getattr(request.app.state, "console_login_throttle", None)
    if not isinstance(throttle, LoginThrottle):
        throttle = LoginThrottle()
        request.app.state.console_login_throttle = throttle
    return throttle


ThrottleDep = Annotated[LoginThrottle, Depends(login_throttle)]


def go(request: Request, url: str) -> Response:
    """Send the browser to ``url``: ``HX-Redirect`` for htmx, else 303 See Other."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _to_login(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or is_htmx(request):
        target = PREFIX + "/"
    return go(request, f"{PREFIX}/login?next={quote(target, safe='')}")


def _forbidden(request: Request, exc: RoleForbidden) -> HTMLResponse:
    error = web_error_of(exc)
    context = {"error": error, "page": "forbidden"}
    response = render(
        request, "console/error.html", context, partial="_error.html", status_code=403
    )
    if is_htmx(request):
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


class ConsoleRoute(BoundaryRoute):
    """A console route: sends signed-out visitors to the sign-in page, shows 403 in the console.

    Its input passes the one boundary first (``rujai.boundary``: form fields, query parameters).

    Only these two errors are handled here; both come from ``authorize_page`` before the page
    has written anything, so nothing is committed that should not be.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return _to_login(request)
            except RoleForbidden as e:
                return _forbidden(request, e)

        return handle


def console_router(**kwargs: Any) -> APIRouter:
    """Return a router whose routes are ``ConsoleRoute`` s (for the console_* modules)."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False, **kwargs)


def now_utc() -> Any:
    """Return the current time (one place, so pages agree on ``now``)."""
    return utcnow()
