"""Tables of the audit domain: a hash-chained, append-only log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base, JsonType
from rujai.kit.db_types import BigIntPK, UtcDateTime


class AuditEntry(Base):
    """One operation on personal data or on access. ``detail`` never holds personal data."""

    __tablename__ = "audit_entry"
    __personal__ = (  # the pseudonymous subject id only; details hold no personal data
        "subject_id",
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    purpose: Mapped[str | None] = mapped_column(String(63), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row that holds the chain's last sequence number and hash (locked on append)."""

    __tablename__ = "audit_head"
    __personal__ = ()

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
