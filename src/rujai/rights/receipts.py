"""Request receipts: a signed acknowledgement that a data subject request was received (TH-DSR-00).

Like a consent receipt it names the subject only by internal UUID (or not at all) and is signed with
``Keyring.sign`` over every other field. ``audit_head`` is the newest signed audit checkpoint at
issue time, so the holder keeps a copy of the log's signed state (``rujai audit verify --receipt``,
TH-SEC-01); None when no checkpoint exists yet.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.audit.schemas import SignedHead
from rujai.kit.crypto import Keyring
from rujai.kit.time import as_utc
from rujai.rights import service
from rujai.rights.schemas import RequestRead

ISSUER: Literal["rujai"] = "rujai"


class RequestReceipt(BaseModel):
    """The signed receipt of one rights request: what was asked, when, and the deadline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: uuid.UUID
    subject_id: uuid.UUID | None
    kind: str
    channel: str
    jurisdiction: str
    received_at: str
    due_at: str
    audit_head: SignedHead | None = None
    issued_by: Literal["rujai"] = ISSUER
    signature: str


def issue(
    keyring: Keyring, request: RequestRead, *, audit_head: SignedHead | None = None
) -> RequestReceipt:
    """Build and sign the receipt of a request, with the audit head of its time if known."""
    fields: dict[str, Any] = {
        "request_id": str(request.id),
        "subject_id": str(request.subject_id) if request.subject_id else None,
        "kind": request.kind,
        "channel": request.channel,
        "jurisdiction": request.jurisdiction,
        "received_at": as_utc(request.received_at).isoformat(),
        "due_at": as_utc(request.effective_due_at).isoformat(),
        "audit_head": audit_head.model_dump(mode="json") if audit_head is not None else None,
        "issued_by": ISSUER,
    }
    return RequestReceipt(**fields, signature=keyring.sign(fields))


def receipt_for(
    session: Session, *, keyring: Keyring, request_id: uuid.UUID, now: datetime
) -> RequestReceipt:
    """Return the signed receipt of a request, embedding the session's newest audit head."""
    request = service.get(session, request_id=request_id, now=now)
    return issue(keyring, request, audit_head=audit_service.current_head(session))


def verify_receipt(keyring: Keyring, data: dict[str, Any]) -> bool:
    """Return True when ``data`` is a receipt whose signature matches every other field."""
    signature = data.get("signature")
    if not isinstance(signature, str):
        return False
    return keyring.verify({k: v for k, v in data.items() if k != "signature"}, signature)
