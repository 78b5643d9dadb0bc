"""Schemas of the processor outbox: notices as the DPO sees them, acknowledgements, summaries.

A notice as read here carries no ``subject_ref``: the DPO follows notices by id, recipient, kind
and purpose; only the delivery to the processor itself quotes the recipient's pseudonym.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NoticeKind = Literal["erase", "withdraw", "restrict", "object", "lift"]
NoticeStatus = Literal["pending", "sent", "acknowledged", "overdue"]
STATUSES: tuple[NoticeStatus, ...] = ("pending", "sent", "overdue", "acknowledged")


class NoticeRead(BaseModel):
    """One processor notice and where it stands (TH-PRC-01); ids and times only."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    recipient: str
    kind: NoticeKind
    purpose: str | None
    status: NoticeStatus
    created_at: datetime
    due_by: datetime
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    acknowledged_at: datetime | None
    ack_reference: str | None


class AckCreate(BaseModel):
    """A processor's acknowledgement: its own reference for the change it applied."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(
        min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The processor's reference (ticket, job id); no personal data.",
    )  # fmt: skip


class RecipientOutbox(BaseModel):
    """The console's row per recipient: counts per status, and its notices."""

    model_config = ConfigDict(frozen=True)

    recipient: str
    name: str
    webhook: bool
    email: str | None = None  # the processor's contact for notices told by hand
    counts: dict[str, int]
    notices: list[NoticeRead]


class DeliveryReport(BaseModel):
    """What one delivery run did: counts and notice ids only."""

    model_config = ConfigDict(frozen=True)

    sent: list[uuid.UUID] = Field(default_factory=list)
    failed: list[uuid.UUID] = Field(default_factory=list)
    no_webhook: int = 0
