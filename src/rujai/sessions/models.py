"""The sign-in sessions table: one row per sign-in to the privacy center or the console."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class WebSession(Base):
    """A signed-in browser: who (a subject or a staff member), since when, last seen, ended."""

    __tablename__ = "web_session"
    __personal__ = ("subject_id", "staff_id")  # who signed in (staff are data subjects too)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # subject | staff
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subject.id"), nullable=True, index=True
    )
    staff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_user.id"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
