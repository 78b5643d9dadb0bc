"""What the policy API reads and answers: purposes, chokepoint questions and verdicts."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rujai.policy.schemas import LawfulBasis, Text


class PurposeRead(BaseModel):
    """A purpose as the API shows it."""

    id: str
    title: Text
    description: Text
    basis: LawfulBasis
    categories: list[str]
    retention_days: int
    direct_marketing: bool
    profiling: bool
    required: bool
    notice_version: int
    sensitive: bool


class CheckCreate(BaseModel):
    """A question to the chokepoint: may ``purpose`` use ``categories`` of this customer now?"""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=128, description="The brand's customer id.")
    purpose: str = Field(min_length=1, max_length=63)
    categories: list[str] = Field(min_length=1, max_length=32)
    action: Literal["collect", "store", "use", "disclose"] = "use"
    recipient: str | None = Field(
        None, min_length=1, max_length=63, description="For disclose: the recipient's id."
    )


class VerdictRead(BaseModel):
    """The chokepoint's answer, with its reason in Thai and English."""

    allowed: bool
    reason: str
    reason_text: Text
    purpose: str
    categories: list[str]
    lawful_basis: LawfulBasis | None
    consent_record_ids: list[UUID]
    policy_version: str

    @classmethod
    def of(cls, verdict: Any) -> VerdictRead:
        """Build from a ``rules.Verdict``."""
        return cls(
            allowed=verdict.allowed,
            reason=verdict.reason.value,
            reason_text=Text(th=verdict.text("th"), en=verdict.text("en")),
            purpose=verdict.purpose,
            categories=list(verdict.categories),
            lawful_basis=verdict.lawful_basis,
            consent_record_ids=list(verdict.consent_record_ids),
            policy_version=verdict.policy_version,
        )
