"""The privacy policy as typed data: what the YAML file declares.

Structure only; the legal rules that span fields (TH-SEN-01, TH-CON-05, TH-XB-01, ...) are checked
in ``policy.validate`` so that each problem can cite a PDPA.md id and a line of the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Lang = Literal["th", "en"]
LANGS: tuple[Lang, ...] = ("th", "en")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A subject-facing text in Thai and English."""

    th: str | None = None
    en: str | None = None

    def get(self, lang: Lang) -> str:
        """Return the text in ``lang``, falling back to the other language."""
        first, second = (self.th, self.en) if lang == "th" else (self.en, self.th)
        return first or second or ""


class LawfulBasis(StrEnum):
    """PDPA s.24 / s.26 and GDPR Art. 6 / 9 bases (TH-LB-01)."""

    CONSENT = "consent"
    EXPLICIT_CONSENT = "explicit_consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTEREST = "vital_interest"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTEREST = "legitimate_interest"
    RESEARCH = "research"

    @property
    def is_consent(self) -> bool:
        return self in (LawfulBasis.CONSENT, LawfulBasis.EXPLICIT_CONSENT)


class TransferMechanism(StrEnum):
    """How a transfer abroad is made lawful (PDPA ss.28-29, TH-XB-01)."""

    NONE = "none"
    ADEQUACY = "adequacy"
    CONSENT = "consent"
    STANDARD_CLAUSES = "standard_clauses"
    BINDING_CORPORATE_RULES = "binding_corporate_rules"


class Contact(Strict):
    name: Text | None = None
    email: str | None = None
    phone: str | None = None
    address: Text | None = None


class Controller(Strict):
    name: Text
    address: Text
    contact: Contact
    dpo: Contact
    country: str = "TH"


class AgeRule(Strict):
    """Who consents for a minor (TH-MIN-01; EU-03)."""

    majority_age: int = Field(20, ge=1, le=25)
    guardian_only_below: int = Field(10, ge=0, le=25)


class Category(Strict):
    title: Text
    description: Text | None = None
    sensitive: bool = False


class Notice(Strict):
    """The notice shown when asking for consent; grants before ``material_version`` lapse."""

    version: int = Field(1, ge=1)
    material_version: int = Field(1, ge=1)


class Purpose(Strict):
    title: Text
    description: Text
    basis: LawfulBasis
    categories: list[Id] = Field(min_length=1)
    retention_days: int = Field(ge=1, le=36500)
    direct_marketing: bool = False
    profiling: bool = False
    required: bool = False
    consequence: Text | None = None
    notice: Notice = Field(default_factory=Notice)
    li_balancing: str | None = None
    recipients: list[Id] = Field(default_factory=list)
    consent_valid_days: int | None = Field(None, ge=1)
    collects: bool = Field(
        True,
        description="False for purposes that only use data held for others (e.g. rights requests).",
    )


class RecipientNotify(Strict):
    """How a processor is told of erasures, withdrawals, restrictions, objections (TH-PRC-01)."""

    webhook: str | None = Field(
        None,
        max_length=512,
        pattern=r"^(https://[^\s/?#]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)(/\S*)?$",
        description="HTTPS URL the notices are POSTed to (plain http only to this host).",
    )
    email: str | None = Field(
        None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="A person at the processor to write to.",
    )


class SubProcessor(Strict):
    """A processor's own processor (PDPA s.40, TH-PRC-01): who, and in which country."""

    name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class ProcessorAgreement(Strict):
    """The data processing agreement with a processor recipient (PDPA s.40, TH-PRC-01)."""

    reference: str = Field(min_length=1, max_length=128)
    signed: date | None = Field(None, description="When it was signed; unsigned is no agreement.")
    expires: date | None = Field(None, description="The last day it is in force (None: open).")
    purposes: list[Id] = Field(default_factory=list, description="Purposes it permits.")
    sub_processors: list[SubProcessor] = Field(default_factory=list)
    security_measures: list[Text] = Field(default_factory=list)

    def in_force(self, today: date) -> bool:
        """Return True if signed on or before ``today`` and not expired (the expiry day counts)."""
        signed = self.signed is not None and self.signed <= today
        return signed and (self.expires is None or today <= self.expires)


# Mechanisms whose instrument must be on file with an expiry (TH-XB-01): clauses and group rules
# are contracts that lapse; an adequacy finding and a subject's consent are not.
MECHANISMS_WITH_EXPIRY = frozenset(
    {TransferMechanism.STANDARD_CLAUSES, TransferMechanism.BINDING_CORPORATE_RULES}
)


class Recipient(Strict):
    name: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    mechanism: TransferMechanism = TransferMechanism.NONE
    mechanism_reference: str | None = Field(
        None, max_length=128, description="The instrument on file (clauses, rules, finding)."
    )
    mechanism_expires: date | None = Field(
        None, description="The last day the instrument is in force (clauses and group rules)."
    )
    purposes: list[Id] = Field(default_factory=list)
    processor: bool = True
    notify: RecipientNotify | None = None
    agreement: ProcessorAgreement | None = None

    def mechanism_in_force(self, today: date) -> bool:
        """Return True if the transfer mechanism is recorded and not expired on ``today``."""
        if self.mechanism is TransferMechanism.NONE:
            return False
        if self.mechanism not in MECHANISMS_WITH_EXPIRY:
            return True
        if not self.mechanism_reference or self.mechanism_expires is None:
            return False
        return today <= self.mechanism_expires


PropertyType = Literal["string", "number", "integer", "boolean", "date", "datetime", "text"]


class PropertySpec(Strict):
    type: PropertyType = "string"
    required: bool = False
    max_length: int = Field(256, ge=1, le=65536)
    pii: Literal["reject", "mask", "allow"] = "mask"


class EventType(Strict):
    category: Id
    title: Text | None = None
    properties: dict[Id, PropertySpec] = Field(default_factory=dict)


class Trait(Strict):
    category: Id
    type: PropertyType = "string"
    identifier: Literal["email", "phone", "national_id"] | None = None
    title: Text | None = None


class Placement(Strict):
    """A place where decisions are shown, bound to one purpose and the categories it reads."""

    purpose: Id
    categories: list[Id] = Field(min_length=1)
    kind: Literal["items", "offers", "items_and_offers"] = "items"
    title: Text | None = None


class ControllerInstructions(Strict):
    """The controller's documented instructions to its processor (PDPA s.40(1), GDPR Art. 28(3))."""

    agreement_ref: str = Field(min_length=1, max_length=128)
    signed_on: date
    expires_on: date | None = Field(None, description="The last day the instructions hold.")
    purposes: list[Id] = Field(min_length=1, description="The purposes the controller instructed.")


class ProcessorRole(Strict):
    """This deployment processes personal data on behalf of the policy's ``controller`` (TH-PRC-01).

    ``name`` and ``contact`` are the processor's own; the controller is the policy's controller.
    """

    name: Text
    contact: Contact
    country: str = Field("TH", pattern=r"^[A-Z]{2}$")
    instructions: ControllerInstructions


class InsightSettings(Strict):
    """Thresholds for derived values (VIP tiers by total spend in baht)."""

    vip_tiers: dict[Id, float] = Field(
        default_factory=lambda: {"silver": 5_000.0, "gold": 20_000.0, "platinum": 60_000.0}
    )


class Policy(Strict):
    """A whole privacy policy file."""

    version: str = Field(min_length=1)
    effective_date: date | None = Field(None, description="Shown in the notice (B.E. in Thai).")
    default_language: Lang = "th"
    controller: Controller
    jurisdictions: list[Literal["TH", "EU"]] = Field(min_length=1)
    age_rules: dict[Literal["TH", "EU"], AgeRule] = Field(default_factory=dict)
    categories: dict[Id, Category] = Field(min_length=1)
    purposes: dict[Id, Purpose] = Field(min_length=1)
    recipients: dict[Id, Recipient] = Field(default_factory=dict)
    event_types: dict[Id, EventType] = Field(default_factory=dict)
    traits: dict[Id, Trait] = Field(default_factory=dict)
    security_measures: list[Text] = Field(default_factory=list)
    placements: dict[Id, Placement] = Field(default_factory=dict)
    insights: InsightSettings = Field(default_factory=InsightSettings)
    processor: ProcessorRole | None = Field(
        None, description="Set when rujai runs as a processor for ``controller`` (TH-PRC-01)."
    )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Policy:
        """Copy, dropping cached lookup tables so that they are rebuilt from the copy."""
        copy = super().model_copy(update=update, deep=deep)
        for cached in ("index", "strictest_age_rule"):
            copy.__dict__.pop(cached, None)
        return copy

    @cached_property
    def index(self) -> PolicyIndex:
        """Lookup tables for the hot path of ``rules.evaluate`` (computed once per policy)."""
        return PolicyIndex.build(self)

    @cached_property
    def strictest_age_rule(self) -> AgeRule:
        """The strictest age rule across the policy's jurisdictions (computed once)."""
        return self.age_rule()

    def age_rule(self) -> AgeRule:
        """Return the strictest age rule across the policy's jurisdictions."""
        rules = [self.age_rules.get(j, _DEFAULT_AGE_RULES[j]) for j in self.jurisdictions]
        return AgeRule(
            majority_age=max(r.majority_age for r in rules),
            guardian_only_below=max(r.guardian_only_below for r in rules),
        )


@dataclass(frozen=True, slots=True)
class PurposeIndex:
    purpose: Purpose
    basis: LawfulBasis
    is_consent: bool
    is_explicit: bool
    li_like: bool
    collects: bool
    categories: frozenset[str]


@dataclass(frozen=True, slots=True)
class PolicyIndex:
    purposes: dict[str, PurposeIndex]
    known_categories: frozenset[str]
    sensitive_categories: frozenset[str]
    instructed_purposes: frozenset[str] | None = None  # processor mode: the controller's list
    instructions_until: datetime | None = None  # processor mode: when the instructions lapse

    @classmethod
    def build(cls, policy: Policy) -> PolicyIndex:
        li_like = (LawfulBasis.LEGITIMATE_INTEREST, LawfulBasis.PUBLIC_TASK)
        return cls(
            purposes={
                pid: PurposeIndex(
                    purpose=p,
                    basis=p.basis,
                    is_consent=p.basis.is_consent,
                    is_explicit=p.basis is LawfulBasis.EXPLICIT_CONSENT,
                    li_like=p.basis in li_like,
                    collects=p.collects,
                    categories=frozenset(p.categories),
                )
                for pid, p in policy.purposes.items()
            },
            known_categories=frozenset(policy.categories),
            sensitive_categories=frozenset(c for c, v in policy.categories.items() if v.sensitive),
            **_instructions(policy.processor),
        )


def _instructions(processor: ProcessorRole | None) -> dict[str, Any]:
    """The processor's instructed purposes, and the first moment they no longer hold.

    The expiry date is the last day (Bangkok time) the instructions hold (TH-PRC-01).
    """
    if processor is None:
        return {}
    found = processor.instructions
    until = None
    if found.expires_on is not None:
        until = datetime.combine(found.expires_on + timedelta(days=1), time.min, _BANGKOK)
    return {"instructed_purposes": frozenset(found.purposes), "instructions_until": until}


_BANGKOK = timezone(timedelta(hours=7))


_DEFAULT_AGE_RULES: dict[str, AgeRule] = {
    "TH": AgeRule(majority_age=20, guardian_only_below=10),
    "EU": AgeRule(majority_age=16, guardian_only_below=16),
}
