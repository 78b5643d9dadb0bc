"""Tables of the incidents domain: the breach register (TH-BRE-01, EU-04, TH-PRC-01)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class Incident(Base):
    """A personal-data breach from the moment the controller (or processor) is aware of it.

    ``description`` is free text a DPO types and may name a person: it is personal, never audited
    or logged. ``notice_to`` is ``regulator`` (the PDPC, TH-BRE-01; a supervisory authority,
    EU-04) or, when rujai runs as a processor, ``controller`` (PDPA s.40(2), TH-PRC-01).
    """

    __tablename__ = "incident"
    __personal__ = ("title", "description", "created_by", "updated_by")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    systems: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    aware_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    occurred_from: Mapped[datetime] = mapped_column(UtcDateTime)
    occurred_to: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | assessed | notified | ...
    notice_to: Mapped[str] = mapped_column(String(16))  # regulator | controller
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    notice_reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IncidentAssessment(Base):
    """One risk assessment with the PDPC's factors and the decision, kept even for "no notice".

    ``measures`` and ``reasoning`` are typed by the DPO and may name a person: personal.
    """

    __tablename__ = "incident_assessment"
    __personal__ = ("measures", "reasoning", "assessed_by")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    data_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject_count: Mapped[int] = mapped_column(Integer)
    record_count: Mapped[int] = mapped_column(Integer)
    is_sensitive: Mapped[bool] = mapped_column(Boolean)
    has_minors: Mapped[bool] = mapped_column(Boolean)
    likelihood: Mapped[str] = mapped_column(String(8))  # low | medium | high
    severity: Mapped[str] = mapped_column(String(8))  # low | medium | high
    risk: Mapped[str] = mapped_column(String(8))  # none | risk | high
    measures: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(24))  # notify | notify_and_subjects | no_notice
    reasoning: Mapped[str] = mapped_column(Text)
    assessed_by: Mapped[str] = mapped_column(String(64))
    assessed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IncidentNotice(Base):
    """A notice sent: to the regulator or the controller, or to one subject through a channel."""

    __tablename__ = "incident_notice"
    __personal__ = ("subject_id", "sent_by")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    incident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    audience: Mapped[str] = mapped_column(String(16))  # regulator | controller | subject
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="SET NULL"), nullable=True, index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | portal | none
    lang: Mapped[str] = mapped_column(String(2))
    delivered: Mapped[bool] = mapped_column(Boolean)
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    sent_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
