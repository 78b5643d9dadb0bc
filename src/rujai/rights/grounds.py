"""The staff step on an objection to legitimate interest: record compelling grounds for a purpose.

An objection to a legitimate-interest or public-task purpose stops it from verification on
(``rights.objections``). Staff who find compelling legitimate grounds that override the subject's
interests (PDPA s.32 para 2(1), GDPR Art. 21(1)) record them here, per purpose, with the text:
the purpose runs again for the subject, the text is kept on the request (it is the answer the
subject is owed), and the audit log gets the request id and the purpose only. Never for direct
marketing (TH-DSR-03: that objection is always honoured, and is not held here anyway).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from rujai.errors import Invalid
from rujai.rights import objections, service
from rujai.rights.errors import RequestStateConflict
from rujai.rights.schemas import GroundsCreate, RequestRead

OPEN_FOR_GROUNDS = frozenset({"verified", "in_progress"})


def grounds_body(purpose: str, text: str) -> GroundsCreate:
    """Build the body from form or command-line values; Invalid names the field."""
    try:
        return GroundsCreate(purpose=purpose, grounds=text)
    except ValidationError as e:
        first = e.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "grounds"
        raise Invalid(f"{field}: {first['msg']}", field=field) from e


def record_grounds(
    session: Session,
    *,
    request_id: uuid.UUID,
    body: GroundsCreate,
    now: datetime,
    actor: str,
) -> RequestRead:
    """Record compelling grounds for one blocked purpose and lift its block (TH-DSR-03)."""
    row = service.load_for_update(session, request_id)
    if not objections.is_li_objection(row):
        raise RequestStateConflict(
            "compelling grounds apply only to an objection to legitimate interest (TH-DSR-03)",
            field="kind",
        )
    if row.status not in OPEN_FOR_GROUNDS:
        raise RequestStateConflict(
            f"request {row.id} is {row.status}: grounds are recorded on a verified, open "
            "request (TH-DSR-00)",
            field="status",
        )
    if body.purpose not in objections.still_blocked(row):
        raise Invalid(
            "this request blocks no such purpose, or grounds for it are recorded already",
            field="purpose",
        )
    text = body.grounds.strip()
    if not text:
        raise Invalid("grounds must not be blank", field="grounds")
    grounds = dict((row.detail or {}).get("grounds") or {})
    grounds[body.purpose] = {"text": text, "recorded_at": now.isoformat(), "by": actor}
    row.detail = {**(row.detail or {}), "grounds": grounds}
    row.updated_at = now
    session.flush()
    objections.release(session, row=row, purposes=[body.purpose], now=now, actor=actor)
    service.audit_step(
        session, row, "grounds_recorded", now=now, actor=actor,
        detail={"purpose": body.purpose, "still_blocked": len(objections.still_blocked(row))},
    )  # fmt: skip
    return service.read(row, now)
