"""Tables of the events domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class Event(Base):
    """Something a subject did. Only declared properties are kept, sealed under the subject key."""

    __tablename__ = "event"
    __personal__ = ("subject_id", "message_id", "properties_sealed")
    __table_args__ = (Index("ix_event_subject_time", "subject_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(63))
    category: Mapped[str] = mapped_column(String(63))
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    properties_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(16))  # api | import
    is_partner_data: Mapped[bool] = mapped_column(Boolean, default=False)


class EventDropCount(Base):
    """How many events of a type were dropped for a reason on a day. No personal data."""

    __tablename__ = "event_drop_count"
    __personal__ = ()

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(63), primary_key=True)
    reason: Mapped[str] = mapped_column(String(48), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
