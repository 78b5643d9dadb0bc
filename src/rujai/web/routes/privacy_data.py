"""The privacy center's "my data": what is held, the copy, and requests with their deadlines."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from rujai.boundary import BoundaryRoute
from rujai.db import WriteSessionDep
from rujai.deps import KeyringDep, PolicyDep, SessionDep
from rujai.kit.time import utcnow
from rujai.policy.rules import Objection
from rujai.rights.schemas import RequestDetail, RequestKind
from rujai.web import center_data
from rujai.web.i18n import resolve_lang
from rujai.web.render import redirect, render
from rujai.web.routes.privacy_auth import SubjectDep

router = APIRouter(route_class=BoundaryRoute, include_in_schema=False)


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


BlankIsNone = Annotated[str | None, BeforeValidator(_blank_to_none)]


class RequestForm(BaseModel):
    """A request from the privacy center; which fields apply depends on ``kind``."""

    model_config = ConfigDict(extra="ignore")

    kind: RequestKind
    trait: BlankIsNone = Field(None, max_length=63)
    value: BlankIsNone = Field(None, max_length=1000)
    remove_interest: BlankIsNone = Field(None, max_length=64)
    objection: Annotated[Objection | None, BeforeValidator(_blank_to_none)] = None

    def detail(self) -> RequestDetail:
        """Return the request detail the rights domain checks (it names any missing field)."""
        traits = {self.trait: self.value or ""} if self.trait else None
        return RequestDetail(
            traits=traits, remove_interest=self.remove_interest, objection=self.objection
        )


class RequestCodeForm(BaseModel):
    code: str = Field(min_length=1, max_length=16)


@router.get("/data", response_class=HTMLResponse)
def my_data(
    request: Request,
    subject_id: SubjectDep,
    session: SessionDep,
    keyring: KeyringDep,
    policy: PolicyDep,
) -> HTMLResponse:
    """Show everything held about the subject, by category and source, and their requests."""
    page = center_data.data_page(
        session, keyring=keyring, policy=policy, subject_id=subject_id,
        lang=resolve_lang(request), now=utcnow(),
    )  # fmt: skip
    return render(
        request, "privacy/data.html", {"page": "data", "view": page}, partial="privacy/_data.html"
    )


@router.post("/data/copy")
def download_copy(
    subject_id: SubjectDep, session: WriteSessionDep, keyring: KeyringDep, policy: PolicyDep
) -> Response:
    """Download the access copy as a ZIP, streamed in chunks (TH-DSR-01, TH-DSR-02)."""
    spool = center_data.download_copy(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=utcnow()
    )
    headers = {"Content-Disposition": 'attachment; filename="my-data.zip"'}
    return StreamingResponse(
        center_data.stream_copy(spool), media_type="application/zip", headers=headers
    )


@router.post("/requests", response_class=HTMLResponse)
def submit_request(
    request: Request,
    form: Annotated[RequestForm, Form()],
    subject_id: SubjectDep,
    session: WriteSessionDep,
    keyring: KeyringDep,
    policy: PolicyDep,
) -> Response:
    """Submit a request; a code goes to the verified contact on file to confirm it."""
    view = center_data.submit_request(
        session, keyring=keyring, policy=policy, subject_id=subject_id, kind=form.kind,
        detail=form.detail(), lang=resolve_lang(request), now=utcnow(),
    )  # fmt: skip
    return redirect(request, f"/privacy/requests/{view.id}")


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def show_request(
    request: Request, request_id: uuid.UUID, subject_id: SubjectDep, session: SessionDep
) -> HTMLResponse:
    """Show one request with its status and deadline, and the code form while it waits."""
    view = center_data.own_request(
        session, subject_id=subject_id, request_id=request_id,
        lang=resolve_lang(request), now=utcnow(),
    )  # fmt: skip
    return render(request, "privacy/request.html", {"page": "data", "req": view})


@router.post("/requests/{request_id}/code", response_class=HTMLResponse)
def confirm_request(
    request: Request,
    request_id: uuid.UUID,
    form: Annotated[RequestCodeForm, Form()],
    subject_id: SubjectDep,
    session: WriteSessionDep,
    keyring: KeyringDep,
    policy: PolicyDep,
) -> Response:
    """Confirm a request with its code; automatic kinds are carried out at once."""
    center_data.confirm_request(
        session, keyring=keyring, policy=policy, subject_id=subject_id, request_id=request_id,
        code=form.code, lang=resolve_lang(request), now=utcnow(),
    )  # fmt: skip
    return redirect(request, f"/privacy/requests/{request_id}")
