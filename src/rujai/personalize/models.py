"""Tables of the personalization domain: insights, recommender versions, offers, decisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import BigIntPK, UtcDateTime


class Insight(Base):
    """A derived value about a subject with its lineage: the categories it was computed from."""

    __tablename__ = "insight"
    __personal__ = ("subject_id", "value")

    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RecommenderModel(Base):
    """One version of the recommender; the newest serves. ``blob`` holds the matrices (npz)."""

    __tablename__ = "recommender_model"
    __personal__ = ("blob",)  # the blob is learnt from interactions (unlearnt on erasure)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    parent_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    change: Mapped[str] = mapped_column(String(16))  # fit | unlearn | learn
    n_users: Mapped[int] = mapped_column(Integer)
    n_items: Mapped[int] = mapped_column(Integer)
    item_ids: Mapped[list[str]] = mapped_column(JSON)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RecommenderMember(Base):
    """A subject whose interactions are in the current model, with exactly what was used."""

    __tablename__ = "recommender_member"
    __personal__ = ("subject_id", "item_ids")

    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), primary_key=True
    )
    item_ids: Mapped[list[str]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Offer(Base):
    """A coupon, discount or message with eligibility rules and message variants per segment."""

    __tablename__ = "offer"
    __personal__ = ()

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # coupon | discount | message
    title_th: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(63))
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    variants: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_generic: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    budget_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OfferArm(Base):
    """Thompson-sampling statistics of one offer in one segment (no personal data)."""

    __tablename__ = "offer_arm"
    __personal__ = ()

    offer_id: Mapped[str] = mapped_column(
        String(63), ForeignKey("offer.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[str] = mapped_column(String(48), primary_key=True)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    conversions: Mapped[int] = mapped_column(Integer, default=0)


class Decision(Base):
    """One answer to a personalization request, with everything it relied on (invariant 4)."""

    __tablename__ = "decision"
    __personal__ = ("subject_id", "segment", "items", "offers", "insights_used")
    __table_args__ = (Index("ix_decision_subject_time", "subject_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), nullable=True
    )
    placement: Mapped[str] = mapped_column(String(63))
    purpose: Mapped[str] = mapped_column(String(63))
    personalized: Mapped[bool] = mapped_column(Boolean)
    is_holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(48))
    lawful_basis: Mapped[str | None] = mapped_column(String(32), nullable=True)
    consent_record_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    insights_used: Mapped[list[str]] = mapped_column(JSON, default=list)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    segment: Mapped[str | None] = mapped_column(String(48), nullable=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    offers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DecisionOutcome(Base):
    """What happened after a decision: shown, clicked, converted (at most once each)."""

    __tablename__ = "decision_outcome"
    __personal__ = ("decision_id",)  # links to a subject's decision
    __table_args__ = (UniqueConstraint("decision_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    decision_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("decision.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    offer_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class InsightModel(Base):
    """Population-level parameters behind insights (e.g. the fitted BG/NBD); no personal data."""

    __tablename__ = "insight_model"
    __personal__ = ()

    name: Mapped[str] = mapped_column(String(48), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    n_subjects: Mapped[int] = mapped_column(Integer)
    fitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
