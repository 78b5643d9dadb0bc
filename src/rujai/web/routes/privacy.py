"""The customers' privacy center: sign-in by one-time code, consents, "why am I seeing this?".

Works without JavaScript (forms, POST/redirect/GET); with htmx the same forms update in place
(the routes answer ``HX-Request`` with a partial). The session holds only the subject's UUID.
"My data" and requests live in ``privacy_data`` and are included here.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from rujai.boundary import BoundaryRoute
from rujai.db import WriteSessionDep
from rujai.deps import KeyringDep, PolicyDep, SessionDep
from rujai.kit.time import utcnow
from rujai.profiles.schemas import AgeBand
from rujai.rights import verification
from rujai.rights.errors import CodeRejected
from rujai.web import center, signin
from rujai.web.i18n import resolve_lang
from rujai.web.render import is_htmx, redirect, render
from rujai.web.routes.privacy_auth import SIGN_IN_URL, MaybeSubjectDep, SubjectDep
from rujai.web.routes.privacy_data import router as data_router
from rujai.web.security import WebSessionDep, start_session

router = APIRouter(route_class=BoundaryRoute, tags=["privacy-center"], include_in_schema=False)
CHALLENGE_KEY = "challenge"


class SignInForm(BaseModel):
    identifier: str = Field(min_length=1, max_length=254)


class CodeForm(BaseModel):
    code: str = Field(min_length=1, max_length=16)


class ConsentForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["grant", "withdraw"]
    explicit: bool = False
    age_band: AgeBand | None = None  # asked where the age is unknown (TH-MIN-01)
    next: Literal["consents", "why"] = "consents"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, subject_id: MaybeSubjectDep) -> Response:
    """Signed in: go to "my consents"; otherwise show the sign-in form."""
    if subject_id is not None:
        return redirect(request, "/privacy/consents")
    return render(request, "privacy/sign_in.html", {"page": "sign_in"})


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    form: Annotated[SignInForm, Form()],
    session: WriteSessionDep,
    keyring: KeyringDep,
    policy: PolicyDep,
) -> Response:
    """Send a one-time code to a verified identity on file; the same answer for anyone."""
    value = form.identifier.strip()
    is_email = "@" in value
    started = verification.start_sign_in(
        session, keyring=keyring, policy=policy, customer_id=None if is_email else value,
        email=value if is_email else None, language=resolve_lang(request), now=utcnow(),
    )  # fmt: skip
    start_session(request, {CHALLENGE_KEY: str(started.challenge_id)})
    return redirect(request, "/privacy/sign-in/code")


@router.get("/sign-in/code", response_class=HTMLResponse)
def code_form(request: Request) -> HTMLResponse:
    """Ask for the code that was sent."""
    return render(request, "privacy/code.html", {"page": "sign_in"})


@router.post("/sign-in/code", response_class=HTMLResponse)
def confirm_code(
    request: Request,
    form: Annotated[CodeForm, Form()],
    session: WriteSessionDep,
    keyring: KeyringDep,
    web: WebSessionDep,
) -> Response:
    """Check the code; on success a session record begins and the cookie holds only its id."""
    challenge = web.get(CHALLENGE_KEY)
    try:
        challenge_id = uuid.UUID(challenge or "")
        subject_id = verification.confirm_sign_in(
            session, keyring=keyring, challenge_id=challenge_id, code=form.code, now=utcnow()
        )
    except (ValueError, CodeRejected):
        context = {"page": "sign_in", "wrong_code": True}
        return render(request, "privacy/code.html", context, status_code=422)
    signin.begin(request, session, kind="subject", subject_id=subject_id)
    return redirect(request, "/privacy/consents")


@router.post("/sign-out", response_class=HTMLResponse)
def sign_out(request: Request, session: SessionDep) -> Response:
    """End the session at once: a saved copy of the cookie no longer signs anyone in."""
    signin.finish(request, session)
    return redirect(request, SIGN_IN_URL)


@router.get("/consents", response_class=HTMLResponse)
def consents(
    request: Request,
    subject_id: SubjectDep,
    session: SessionDep,
    keyring: KeyringDep,
    policy: PolicyDep,
) -> HTMLResponse:
    """Show "my consents": one switch per consent-based purpose and the history."""
    page = center.consents_page(
        session, keyring=keyring, policy=policy, subject_id=subject_id,
        lang=resolve_lang(request), now=utcnow(),
    )  # fmt: skip
    context = {"page": "consents", "view": page}
    return render(request, "privacy/consents.html", context, partial="privacy/_consents.html")


@router.post("/consents/{purpose}", response_class=HTMLResponse)
def change_consent(
    request: Request,
    purpose: str,
    form: Annotated[ConsentForm, Form()],
    subject_id: SubjectDep,
    session: WriteSessionDep,
    keyring: KeyringDep,
    policy: PolicyDep,
) -> Response:
    """Turn one purpose on or off: one POST either way (TH-CON-03)."""
    card = center.change_consent(
        session, keyring=keyring, policy=policy, subject_id=subject_id, purpose=purpose,
        grant=form.action == "grant", explicit=form.explicit, lang=resolve_lang(request),
        now=utcnow(), evidence=_evidence(request), age_band=form.age_band,
    )  # fmt: skip
    if not is_htmx(request):
        target = "/privacy/why" if form.next == "why" else f"/privacy/consents#purpose-{purpose}"
        return redirect(request, target)
    partial = "privacy/_why_off.html" if form.next == "why" else "privacy/_purpose.html"
    return render(request, partial, {"card": card, "saved": True})


def _evidence(request: Request) -> tuple[str | None, str | None]:
    host = request.client.host if request.client else None
    return host, request.headers.get("user-agent")


@router.get("/consents/receipts/{record_id}")
def consent_receipt(
    record_id: uuid.UUID,
    subject_id: SubjectDep,
    session: SessionDep,
    keyring: KeyringDep,
    policy: PolicyDep,
) -> JSONResponse:
    """Download the signed receipt of one consent change (TH-CON-04)."""
    receipt = center.receipt(
        session, keyring=keyring, policy=policy, subject_id=subject_id, record_id=record_id,
        now=utcnow(),
    )  # fmt: skip
    name = f"consent-receipt-{record_id}.json"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return JSONResponse(receipt.model_dump(mode="json"), headers=headers)


@router.get("/why", response_class=HTMLResponse)
def why(
    request: Request,
    subject_id: SubjectDep,
    session: SessionDep,
    keyring: KeyringDep,
    policy: PolicyDep,
) -> HTMLResponse:
    """Show recent decisions, why they were made and the consent each relied on."""
    page = center.why_page(
        session, keyring=keyring, policy=policy, subject_id=subject_id,
        lang=resolve_lang(request), now=utcnow(),
    )  # fmt: skip
    return render(
        request, "privacy/why.html", {"page": "why", "view": page}, partial="privacy/_why.html"
    )


router.include_router(data_router)
