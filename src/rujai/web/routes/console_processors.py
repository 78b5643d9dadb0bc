"""Console page of the processor outbox: per recipient its pending, sent, overdue and
acknowledged notices (TH-PRC-01, TH-DSR-04). Read-only for the DPO (TH-DPO-01) and admins; an
acknowledgement received another way is recorded with ``rujai processors ack`` or the API.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from rujai.db import SessionDep
from rujai.deps import PolicyDep, SettingsDep
from rujai.disclosures import outbox
from rujai.kit.time import utcnow
from rujai.web.routes.console_auth import StaffDep, console_router
from rujai.web.routes.console_view import show

router = console_router()


@router.get("/processors", response_class=HTMLResponse)
def processors(
    request: Request, session: SessionDep, policy: PolicyDep, settings: SettingsDep,
    staff: StaffDep,
) -> HTMLResponse:  # fmt: skip
    """Show each recipient's notices by status; overdue after the allowed days (audited read)."""
    days = settings.rights.processor_ack_days
    recipients = outbox.outbox_by_recipient(
        session, policy=policy, now=utcnow(), overdue_days=days, actor=staff.actor
    )
    context = {"recipients": recipients, "days": days}
    return show(request, "processors.html", staff=staff, page="processors", context=context)
