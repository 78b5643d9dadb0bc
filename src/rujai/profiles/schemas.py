"""Schemas of the profiles domain. None of them carries the customer id or the birth date."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

AgeBand = Literal["under_10", "10_19", "adult"]
AGE_BANDS: tuple[AgeBand, ...] = ("under_10", "10_19", "adult")

# The age assumed when only a band is known (TH-MIN-01): an age inside the band, so that the
# band's rule applies; adults count as of full age (None).
BAND_AGE: dict[str, int | None] = {"under_10": 9, "10_19": 15, "adult": None}


class SubjectRead(BaseModel):
    """A subject as other domains see it: no identifiers, no sealed values."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    age_band: AgeBand | None
    has_birth_date: bool
    is_restricted: bool
    objections: list[str]
    created_at: datetime
    updated_at: datetime


class ProfileFacts(BaseModel):
    """What the policy decision needs from a profile: age at a time, restriction, objections."""

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    age: int | None
    is_restricted: bool
    objections: frozenset[str]
