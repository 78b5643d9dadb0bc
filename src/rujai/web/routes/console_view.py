"""Rendering console pages: the navigation a role may see, and the page frame's context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from rujai.errors import Invalid
from rujai.staff.service import StaffRead
from rujai.web.render import render
from rujai.web.routes import console_messages

BANGKOK = ZoneInfo("Asia/Bangkok")


@dataclass(frozen=True, slots=True)
class NavItem:
    page: str
    url: str
    label: str


NAV: tuple[NavItem, ...] = (
    NavItem("dashboard", "/console/", "console.nav.dashboard"),
    NavItem("offers", "/console/offers", "console.nav.offers"),
    NavItem("preview", "/console/preview", "console.nav.preview"),
    NavItem("requests", "/console/requests", "console.nav.requests"),
    NavItem("customers", "/console/customers", "console.nav.customers"),
    NavItem("processors", "/console/processors", "console.nav.processors"),
    NavItem("incidents", "/console/incidents", "console.nav.incidents"),
    NavItem("policy", "/console/policy", "console.nav.policy"),
    NavItem("audit", "/console/audit", "console.nav.audit"),
)

console_messages.register()


def show(
    request: Request,
    template: str,
    *,
    staff: StaffRead | None,
    page: str,
    context: dict[str, Any] | None = None,
    partial: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a console page with the staff member, the pages their role allows, and ``page``."""
    nav = [item for item in NAV if staff is not None and staff.may_open(item.page)]
    frame = {"staff": staff, "nav": nav, "page": page, **(context or {})}
    return render(request, f"console/{template}", frame, partial=partial, status_code=status_code)


def text(form: FormData, name: str) -> str:
    """Return a form field as stripped text ('' when absent or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def local_datetime(form: FormData, name: str) -> datetime | None:
    """Read an ``<input type=datetime-local>`` as Bangkok time; None when empty."""
    value = text(form, name)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=BANGKOK)
    except ValueError as e:
        raise Invalid(f"{name}: not a date and time", field=name) from e


def local_input(value: datetime | None) -> str:
    """Format a moment for ``<input type=datetime-local>`` in Bangkok time."""
    return value.astimezone(BANGKOK).strftime("%Y-%m-%dT%H:%M") if value else ""
