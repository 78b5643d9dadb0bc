"""Decision previews (marketer, admin): least privilege, audited, never a real decision.

A marketer may preview only **test profiles**: the customer ids an admin listed in
``RUJAI_WEB__PREVIEW_TEST_PROFILES``. Any other customer is refused before anything is looked up,
so the page tells a marketer nothing about real customers (not even whether one exists); the
refusal is audited. A role that may look customers up (admin) may preview a real customer for a
stated reason, audited like the lookup: one entry ``console.preview`` with the staff member, the
subject's UUID, the placement's purpose and the reason. A preview asks the door like ``decide``
does (that check is audited too) but is never stored in the customer's decision history
(``personalize.decide.decide(..., store=False)``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.config import PersonalizeSettings
from rujai.db import SessionDep, keep_even_on_rollback
from rujai.deps import KeyringDep, PolicyDep, SettingsDep
from rujai.errors import Invalid
from rujai.kit.crypto import Keyring
from rujai.kit.time import utcnow
from rujai.personalize import decide as decide_service
from rujai.personalize.decision_schemas import DecideCreate, DecisionRead
from rujai.policy.schemas import Policy
from rujai.profiles import service as profiles_service
from rujai.staff.service import StaffRead
from rujai.web.i18n import Lang, resolve_lang
from rujai.web.routes.console_auth import RoleForbidden, StaffDep, console_router
from rujai.web.routes.console_customers import REASONS
from rujai.web.routes.console_view import show

router = console_router()

PREVIEW_ACTION = "console.preview"


def preview(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    settings: PersonalizeSettings,
    staff: StaffRead,
    test_profiles: list[str],
    body: DecideCreate,
    reason: str,
    now: datetime,
) -> DecisionRead:
    """Preview a decision for a test profile, or for a real customer with a stated reason."""
    customer_id = (body.customer_id or "").strip()
    is_test = customer_id in test_profiles
    if not is_test:
        _check_real_preview(session, staff, reason, body.placement, now)
    decision = decide_service.decide(
        session, policy=policy, keyring=keyring, settings=settings, body=body, now=now,
        actor=staff.actor, store=False,
    )  # fmt: skip
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    audit_service.record(
        session, actor=staff.actor, action=PREVIEW_ACTION, now=now, subject_id=subject_id,
        purpose=decision.purpose, outcome=_outcome(is_test, found=subject_id is not None),
        detail={"reason": None if is_test else reason, "placement": body.placement},
    )  # fmt: skip
    return decision


def _outcome(is_test: bool, *, found: bool) -> str:
    if is_test:
        return "test_profile"
    return "shown" if found else "not_found"


def _check_real_preview(
    session: Session, staff: StaffRead, reason: str, placement: str, now: datetime
) -> None:
    """A real customer: only for a role that may look customers up, and with a stated reason."""
    if not staff.may_open("customers"):
        detail = {"reason": None, "placement": placement}

        def refused(s: Session) -> None:
            audit_service.record(
                s, actor=staff.actor, action=PREVIEW_ACTION, now=now, outcome="refused",
                detail=detail,
            )  # fmt: skip

        keep_even_on_rollback(session, refused)
        raise RoleForbidden(
            f"the {staff.role} role previews test profiles only (TH-SEC-01 least privilege)"
        )
    if reason not in REASONS:
        raise Invalid("choose a reason to preview a real customer", field="reason")


def _context(request: Request, policy: Policy, settings: SettingsDep) -> dict[str, object]:
    lang: Lang = resolve_lang(request)
    return {
        "placements": [
            (n, p.title.get(lang) if p.title else n) for n, p in policy.placements.items()
        ],
        "test_profiles": settings.web.preview_test_profiles,
        "reasons": REASONS,
        "decision": None,
    }


@router.get("/preview", response_class=HTMLResponse)
def preview_form(
    request: Request, policy: PolicyDep, settings: SettingsDep, staff: StaffDep
) -> HTMLResponse:
    """Show the preview form: a test profile (or, for lookup roles, a customer and a reason)."""
    context = _context(request, policy, settings)
    return show(request, "preview.html", staff=staff, page="preview", context=context)


@router.post("/preview", response_class=HTMLResponse)
def preview_decision(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    staff: StaffDep,
    customer_id: Annotated[str, Form(min_length=1, max_length=128)],
    placement: Annotated[str, Form(min_length=1, max_length=63)],
    reason: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    """Show what this profile would get in this placement and why (never stored as a decision)."""
    decision = preview(
        session, policy=policy, keyring=keyring, settings=settings.personalize, staff=staff,
        test_profiles=settings.web.preview_test_profiles,
        body=DecideCreate(customer_id=customer_id, placement=placement), reason=reason,
        now=utcnow(),
    )  # fmt: skip
    context = {**_context(request, policy, settings), "decision": decision}
    return show(
        request, "preview.html", staff=staff, page="preview", context=context,
        partial="console/_decision.html",
    )  # fmt: skip
