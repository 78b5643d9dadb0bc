"""Schemas of the audit domain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

HEAD_TYPE = "rujai.audit.head/v1"  # domain separation: these bytes sign nothing else


class AuditEntryRead(BaseModel):
    """One entry of the hash-chained audit log, as stored."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    seq: int
    at: datetime
    actor: str
    action: str
    subject_id: uuid.UUID | None
    purpose: str | None
    outcome: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class SignedHead(BaseModel):
    """A signed tree head (checkpoint): the chain's hash at ``seq``, signed with Ed25519.

    It holds no personal data: a count, a hash, a time and the id of the signing key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1, description="The entry the head covers (and every entry before it).")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="The chain hash of entry ``seq``.")
    at: AwareDatetime = Field(description="When the head was signed (UTC).")
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$", description="SHA-256 of the public key, cut.")
    signature: str = Field(description="Base64 Ed25519 signature of ``payload()``.")

    def payload(self) -> dict[str, Any]:
        """Return the signed fields as canonical JSON-ready data."""
        return {
            "type": HEAD_TYPE,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "key_id": self.key_id,
        }


class AuditVerifyReport(BaseModel):
    """The result of walking the chain and checking it against checkpoints and receipts.

    ``ok`` is False at the first broken or missing entry, or when the chain no longer matches a
    signed head; ``warnings`` say what could not be checked (no checkpoint, no receipt head).
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    checkpoint: SignedHead | None = None  # the newest checkpoint the chain matched
    checkpoints_checked: int = 0
    receipts_checked: int = 0
    warnings: tuple[str, ...] = ()
