"""Tables of the disclosures domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class Disclosure(Base):
    """One subject's data sent to one recipient in one flow (TH-USE-01, s.39 record of processing).

    ``batch_id`` ties together the rows of one flow (one audience export, one processor sync, one
    partner pull). ``with_consent`` is False for disclosures made on another basis: the record of
    processing lists those (s.39(1)). On erasure the subject link is cut (``subject_id`` set NULL)
    once the processors were told; the anonymous row keeps the record of processing whole.
    """

    __tablename__ = "disclosure"
    __personal__ = ("subject_id", "subject_ref")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # The pseudonym this recipient knows the subject by (``disclosures.pseudonym.subject_ref``).
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str] = mapped_column(String(32))
    with_consent: Mapped[bool] = mapped_column(Boolean)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    country: Mapped[str] = mapped_column(String(2))
    mechanism: Mapped[str] = mapped_column(String(32))
    processor: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(24))  # audience_export | partner_pull | ...
    policy_version: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ProcessorNotice(Base):
    """A change a processor must apply (erase, withdraw, restrict, object), until acknowledged.

    ``subject_ref`` is the recipient-specific pseudonym the processor knows the subject by, never
    the internal subject id, so that the notice outlives the subject's erasure (TH-PRC-01,
    TH-DSR-04: erasure reaches the copies held by processors). ``next_attempt_at`` is when the
    delivery worker tries again after a failure (backoff); ``last_error`` says why the last try
    failed (``http_503``, ``timeout``, ...), never the processor's answer itself.
    """

    __tablename__ = "processor_notice"
    __personal__ = ("subject_ref", "detail")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    subject_ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # erase | withdraw | restrict | object | lift
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ack_reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(32), nullable=True)
