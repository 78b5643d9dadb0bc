"""Schemas of the disclosures domain: an export asked for, log rows as shown, partner reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Channel = Literal["audience_export", "partner_pull", "processor_sync", "message"]
ExportFormat = Literal["csv", "json"]
PolicyId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
MAX_AUDIENCE = 10_000  # customers per export request


class ExportCreate(BaseModel):
    """An audience export to a recipient: who, for which purpose, which categories of whom."""

    model_config = ConfigDict(extra="forbid")

    recipient: PolicyId = Field(description="A recipient id of the policy.")
    purpose: PolicyId = Field(description="The purpose the recipient gets the data for.")
    categories: list[PolicyId] = Field(min_length=1, max_length=32)
    customer_ids: list[CustomerId] = Field(
        min_length=1, max_length=MAX_AUDIENCE, description="The audience: brand customer ids."
    )
    format: ExportFormat = "json"


class DisclosureRead(BaseModel):
    """One disclosure of the subject's data, as the subject's copy shows it (TH-DSR-01)."""

    __personal__: ClassVar[bool] = True  # whose data went where: returned only behind a Permit

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    recipient: str
    recipient_name: str = Field(description="The recipient's name as the policy declares it.")
    purpose: str
    basis: str
    with_consent: bool
    categories: list[str]
    country: str
    mechanism: str
    processor: bool
    channel: str
    subject_ref: str = Field(description="The pseudonym the recipient knows the subject by.")
    policy_version: str
    at: datetime


class DisclosureBatchRead(BaseModel):
    """One flow to a recipient, as the DPO's log shows it: counts, never a person."""

    model_config = ConfigDict(frozen=True)

    batch_id: uuid.UUID
    recipient: str
    purpose: str
    basis: str
    channel: str
    country: str
    mechanism: str
    processor: bool
    categories: list[str]
    subjects: int
    without_consent: int
    policy_version: str
    at: datetime


class DisclosureFilter(BaseModel):
    """Filters of the DPO's log (every one optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipient: str | None = None
    purpose: str | None = None
    channel: str | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    limit: int = Field(100, ge=1, le=1000)


class DisclosureStat(BaseModel):
    """Disclosures per recipient and purpose for the record of processing (s.39, TH-ROPA-01)."""

    model_config = ConfigDict(frozen=True)

    recipient: str
    purpose: str
    basis: str
    country: str
    mechanism: str
    processor: bool
    disclosures: int
    subjects: int
    without_consent: int


class ExportResult(BaseModel):
    """What an audience export sent and left out (refusals counted by reason, never listed)."""

    model_config = ConfigDict(frozen=True)

    batch_id: uuid.UUID
    recipient: str
    purpose: str
    format: ExportFormat
    asked: int
    disclosed: int
    refused: dict[str, int]
    content: str = Field(repr=False, description="The file, keyed by each subject's pseudonym.")


class PartnerRecord(BaseModel):
    """One subject's data as a recipient gets it: keyed by its pseudonym, permitted fields only."""

    __personal__: ClassVar[bool] = True

    model_config = ConfigDict(frozen=True)

    subject_ref: str
    purpose: str
    categories: list[str]
    traits: dict[str, Any]
    events: list[dict[str, Any]] = Field(default_factory=list)
