"""Schemas of the audit domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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


class AuditVerifyReport(BaseModel):
    """The result of walking the chain: intact, or the first broken or missing entry."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
