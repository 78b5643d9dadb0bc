"""Schemas of decisions: the request to ``/v1/decide`` and the explained answer."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rujai.policy.schemas import Text


class DecideCreate(BaseModel):
    """Ask for a decision for one placement; give the customer id or an anonymous id."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(None, min_length=1, max_length=128)
    anonymous_id: str | None = Field(None, min_length=1, max_length=128)
    placement: str = Field(min_length=1, max_length=63, description="A placement of the policy.")
    k: int = Field(8, ge=1, le=200, description="How many items to return.")
    context: dict[str, Any] = Field(
        default_factory=dict, description="e.g. {'item_id': 'SKU'} on a product page."
    )

    @model_validator(mode="after")
    def _someone(self) -> DecideCreate:
        if self.customer_id is None and self.anonymous_id is None:
            raise ValueError("give customer_id or anonymous_id")
        return self


class DecidedItem(BaseModel):
    item_id: str
    name: Text
    score: float | None
    reason: Text


class DecidedOffer(BaseModel):
    offer_id: str
    title: Text
    message: Text
    variant: str
    reason: Text


class DecisionRead(BaseModel):
    """A decision with everything it relied on, so it can be explained later (invariant 4)."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    placement: str
    purpose: str
    personalized: bool
    is_holdout: bool
    lawful_basis: str | None
    consent_record_ids: list[str]
    insights_used: list[str]
    model_version: str | None
    segment: str | None
    reason: str
    reason_text: Text
    items: list[DecidedItem]
    offers: list[DecidedOffer]
    created_at: datetime


class ReachRead(BaseModel):
    """Decisions made on one day (Bangkok time) and how many were personalized (None: withheld)."""

    model_config = ConfigDict(frozen=True)

    day: date
    decisions: int | None
    personalized: int | None

    @property
    def share(self) -> float | None:
        """The share personalized, or None on a day without decisions or with a count withheld."""
        if not self.decisions or self.personalized is None:
            return None
        return self.personalized / self.decisions
