"""Tables of the profiles domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class Subject(Base):
    """A customer. The brand's customer id is kept only sealed plus a blind index for lookups."""

    __tablename__ = "subject"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    customer_ref: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    data_key_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    birth_date_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    is_restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    objections: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
