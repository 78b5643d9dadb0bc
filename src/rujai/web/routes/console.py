"""The staff console (/console): sign-in, the dashboard, and the pages of each concept.

Pages live in ``console_*`` modules by concept (offers, customers, requests, records); this module
assembles them under one router whose dependency ``authorize_page`` checks every page against the
staff member's role (TH-SEC-01). CSRF is checked on every form by ``mount_web``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from rujai.db import SessionDep
from rujai.deps import PolicyDep, SettingsDep, WriterDep
from rujai.kit.time import utcnow
from rujai.staff import login as staff_login
from rujai.web.i18n import resolve_lang
from rujai.web.routes import (
    console_customers,
    console_dashboard,
    console_incidents,
    console_offers,
    console_preview,
    console_processors,
    console_records,
    console_requests,
)
from rujai.web.routes.console_auth import (
    SignedInDep,
    StaffDep,
    ThrottleDep,
    authorize_page,
    console_router,
    go,
    sign_in,
    sign_out,
)
from rujai.web.routes.console_view import show

router = console_router(tags=["console"], dependencies=[Depends(authorize_page)])


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    staff: SignedInDep,
    next_url: Annotated[str, Query(alias="next", max_length=500)] = "/console/",
) -> Response:
    """Show the sign-in form (or go on, when already signed in)."""
    if staff is not None:
        return go(request, _safe_next(next_url))
    context = {"next": _safe_next(next_url)}
    return show(request, "login.html", staff=None, page="login", context=context)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    writer: WriterDep,
    throttle: ThrottleDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "/console/",
) -> Response:
    """Check the password (argon2id, lock-out after five failures) and start a console session."""
    now = utcnow()
    throttle.attempt(request.client.host if request.client else "unknown", now)
    staff = staff_login.authenticate(
        session, username=username, password=password, now=now, write_now=writer.run_sync
    )
    sign_in(request, session, staff)
    return go(request, _safe_next(next_url))


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    """End the console session at once: a saved copy of the cookie signs nobody in."""
    sign_out(request, session)
    return go(request, "/console/login")


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    staff: StaffDep,
) -> HTMLResponse:
    """Show consent rates, personalization reach, offer lift and the request queue."""
    now, k = utcnow(), settings.privacy.min_aggregate_count
    data = console_dashboard.gather(session, policy=policy, now=now, min_count=k)
    charts = console_dashboard.dashboard_context(
        data, policy=policy, lang=resolve_lang(request), now=now
    )
    charts["incident_reminders"] = console_incidents.reminders_for(session, staff, now)
    return show(request, "dashboard.html", staff=staff, page="dashboard", context=charts)


def _safe_next(target: str) -> str:
    """Only go on to a console page of this site (no open redirect)."""
    if target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


router.include_router(console_offers.router)
router.include_router(console_preview.router)
router.include_router(console_customers.router)
router.include_router(console_requests.router)
router.include_router(console_processors.router)
router.include_router(console_records.router)
router.include_router(console_incidents.router)
