"""Console pages for the DPO: policy, privacy notice, record of processing, and the audit log.

All read-only (TH-DPO-01). The record of processing is built from the live policy
(TH-ROPA-01) and lists refused requests with their legal reason (s.39(7)); it downloads as CSV or
JSON in the page language. The audit log pages through ``audit.service.list_entries`` and its
Verify button walks the hash chain (``audit.service.verify``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from rujai.audit import service as audit_service
from rujai.db import SessionDep
from rujai.deps import PolicyDep
from rujai.disclosures import service as disclosures_service
from rujai.policy.notice import list_purposes
from rujai.policy.ropa import RopaFormat, build_ropa
from rujai.rights import ropa as rights_ropa, service as rights_service
from rujai.web.i18n import resolve_lang
from rujai.web.routes.console_auth import StaffDep, console_router
from rujai.web.routes.console_view import show

router = console_router()

AUDIT_PAGE = 50
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@router.get("/policy", response_class=HTMLResponse)
def policy_page(
    request: Request, session: SessionDep, policy: PolicyDep, staff: StaffDep
) -> HTMLResponse:
    """Show the purposes, the notice links, the record of processing and refused requests."""
    lang = resolve_lang(request)
    context = {
        "policy_version": policy.version,
        "purposes": list_purposes(policy),
        "ropa": build_ropa(
            policy, lang, disclosures=disclosures_service.ropa_counts(session)
        ),  # TH-ROPA-01: the s.27 disclosures from the live log
        "refusals": rights_service.refusals_for_ropa(session),
    }
    return show(request, "policy.html", staff=staff, page="policy", context=context)


@router.get("/policy/ropa.{fmt}")
def download_ropa(
    request: Request, session: SessionDep, policy: PolicyDep, _staff: StaffDep, fmt: str
) -> Response:
    """Download the live record of processing, refused requests included, as CSV or JSON in the
    page language (TH-ROPA-01)."""
    lang = resolve_lang(request)
    kind: RopaFormat = "json" if fmt == "json" else "csv"
    body = rights_ropa.record_of_processing(session, policy=policy, lang=lang, fmt=kind)
    media = MEDIA["json" if fmt == "json" else "csv"]
    filename = f"ropa-{policy.version}-{lang}.{'json' if fmt == 'json' else 'csv'}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media, headers=headers)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Show the audit log newest first, optionally one action; page with ``before_seq``."""
    entries = audit_service.list_entries(
        session, action=action or None, limit=AUDIT_PAGE, before_seq=before_seq
    )
    older = entries[-1].seq if len(entries) == AUDIT_PAGE else None
    context = {"entries": entries, "action": action or "", "older": older, "report": None}
    return show(request, "audit.html", staff=staff, page="audit", context=context)


@router.post("/audit/verify", response_class=HTMLResponse)
def verify_audit(request: Request, session: SessionDep, staff: StaffDep) -> HTMLResponse:
    """Walk the whole hash chain and say whether it is intact or where it breaks."""
    report = audit_service.verify(session)
    context: dict[str, Any] = {"entries": [], "action": "", "older": None, "report": report}
    return show(
        request, "audit.html", staff=staff, page="audit", context=context,
        partial="console/_audit_verify.html",
    )  # fmt: skip
