"""Consent receipts: a signed copy of one ledger row the subject (or brand) can keep and verify.

A receipt names the subject only by internal UUID; it never holds a customer id, a name or contact
data. The signature is ``Keyring.sign`` (HMAC-SHA256 under the receipts key) over the canonical JSON
of every other field, so any change to any field makes ``verify_receipt`` fail.

``audit_head`` is the newest signed audit checkpoint when the receipt was issued (None when there
was none): a copy of the log's signed state that the holder keeps, so ``rujai audit verify
--receipt`` can show the log was not rewritten afterwards (TH-SEC-01).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rujai.audit.schemas import SignedHead
from rujai.consent.schemas import Actor, ConsentAction, ConsentRecordRead
from rujai.kit.crypto import Keyring
from rujai.kit.time import as_utc
from rujai.policy.schemas import Lang, Policy

ISSUER: Literal["rujai"] = "rujai"


class ConsentReceipt(BaseModel):
    """A signed record of one grant or withdrawal (TH-CON-04)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    receipt_id: uuid.UUID
    subject_id: uuid.UUID
    purpose: str
    action: ConsentAction
    notice_version: int
    notice_hash: str
    language: Lang
    channel: str
    actor: Actor
    recorded_at: str
    expires_at: str | None
    policy_version: str
    controller: str
    audit_head: SignedHead | None = None
    issued_by: Literal["rujai"] = ISSUER
    signature: str

    def payload(self) -> dict[str, Any]:
        """Return the signed fields as JSON-ready data (everything except the signature)."""
        return self.model_dump(mode="json", exclude={"signature"})


def issue(
    keyring: Keyring,
    policy: Policy,
    record: ConsentRecordRead,
    *,
    audit_head: SignedHead | None = None,
) -> ConsentReceipt:
    """Build and sign the receipt of a ledger row, with the audit head of its time if known."""
    fields: dict[str, Any] = {
        "receipt_id": str(record.id),
        "subject_id": str(record.subject_id),
        "purpose": record.purpose,
        "action": record.action,
        "notice_version": record.notice_version,
        "notice_hash": record.notice_hash,
        "language": record.language,
        "channel": record.channel,
        "actor": record.actor,
        "recorded_at": as_utc(record.recorded_at).isoformat(),
        "expires_at": as_utc(record.expires_at).isoformat() if record.expires_at else None,
        "policy_version": policy.version,
        "controller": policy.controller.name.get(record.language),
        "audit_head": audit_head.model_dump(mode="json") if audit_head is not None else None,
        "issued_by": ISSUER,
    }
    return ConsentReceipt(**fields, signature=keyring.sign(fields))


def verify_receipt(keyring: Keyring, data: dict[str, Any]) -> bool:
    """Return True when ``data`` is a receipt whose signature matches every other field."""
    signature = data.get("signature")
    if not isinstance(signature, str):
        return False
    payload = {key: value for key, value in data.items() if key != "signature"}
    return keyring.verify(payload, signature)
