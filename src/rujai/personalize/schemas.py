"""Schemas of the personalization domain.

Each feature keeps its schemas in its own clearly marked section; add new sections below the
existing ones.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from rujai.personalize import offers_rules
from rujai.policy.schemas import Text

# =================================================================================================
# Insights (``personalize.insights``): derived values with their lineage
# =================================================================================================


class InsightRead(BaseModel):
    """One derived value about a subject and the data categories it was computed from.

    ``categories`` is the lineage: a purpose may use the insight only where every one of them is
    permitted, and access copies show it as the insight's sources (TH-DSR-01).
    """

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    name: str = Field(description="The insight's name, e.g. rfm_segment or vip_tier.")
    value: Any = Field(description="A JSON value: a number, a code or a list.")
    categories: list[str] = Field(description="The data categories the value was computed from.")
    computed_at: datetime


class RefreshSummary(BaseModel):
    """What ``rujai insights refresh`` did (counts only, no personal data)."""

    model_config = ConfigDict(frozen=True)

    subjects: int = Field(description="Subjects considered.")
    with_insights: int = Field(description="Subjects that have at least one insight now.")
    without_insights: int = Field(
        description="Subjects with nothing to derive or no profiling purpose permitting it."
    )
    insights: int = Field(description="Insight rows written.")
    purchasers: int = Field(description="Subjects whose permitted purchases fed the models.")
    bgnbd_fitted: bool = Field(description="Whether the BG/NBD churn model could be fitted.")
    seconds: float


# =================================================================================================
# Offers (``personalize.offers``, ``offers_outcomes``): offers, variants, outcomes, bandit stats
# =================================================================================================

OfferId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$"
    ),
]
OfferKind = Literal["coupon", "discount", "message"]
OutcomeKind = Literal["shown", "clicked", "converted"]
PurposeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
ProductCategoryId = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$")
]
OfferLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _one_of(allowed: frozenset[str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r} (known: {', '.join(sorted(allowed))})")
        return value

    return AfterValidator(check)


SegmentCode = Annotated[str, _one_of(offers_rules.SEGMENTS, "RFM segment")]
TierCode = Annotated[str, _one_of(offers_rules.TIERS, "VIP tier")]
AgeBandCode = Annotated[str, _one_of(offers_rules.AGE_BANDS, "age band")]
TraitValues = Annotated[
    list[Annotated[str, StringConstraints(max_length=200)]], Field(min_length=1)
]


class OfferText(BaseModel):
    """A customer-facing line in Thai and English; both are required."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    th: OfferLine
    en: OfferLine


# Bounds of the numeric rules: a century of days, a trillion baht, a billion orders.
MAX_DAYS = 36_500
MAX_BAHT = 1e12
MAX_COUNT = 1_000_000_000
Days = Annotated[float, Field(ge=0, le=MAX_DAYS)]
Baht = Annotated[float, Field(ge=0, le=MAX_BAHT)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class Eligibility(BaseModel):
    """Who may get an offer: every rule given must hold (see ``offers_rules.RULES``).

    Each rule reads one insight; a subject without that insight (or without permission to use
    it) is not eligible. Unknown keys are refused with a 422 naming them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    segments: list[SegmentCode] | None = Field(None, min_length=1, description="RFM segments.")
    tiers: list[TierCode] | None = Field(None, min_length=1, description="VIP tiers.")
    age_bands: list[AgeBandCode] | None = Field(None, min_length=1, description="Age bands.")
    max_recency_days: Days | None = Field(None, description="Days since the last order.")
    max_last_visit_days: Days | None = Field(None, description="Days since last visit.")
    min_total_spend: Baht | None = Field(None, description="Total spend in baht.")
    min_monetary: Baht | None = Field(None, description="Mean spend per repeat day.")
    min_orders: Count | None = Field(None, description="Number of orders.")
    min_frequency: Count | None = Field(None, description="Repeat purchase days.")
    min_churn_risk: float | None = Field(None, ge=0, le=1, description="Churn risk 0..1.")
    max_churn_risk: float | None = Field(None, ge=0, le=1, description="Churn risk 0..1.")
    min_expected_purchases_90d: float | None = Field(None, ge=0, le=MAX_COUNT)
    categories_any: list[ProductCategoryId] | None = Field(
        None, min_length=1, description="Product categories in the subject's category affinity."
    )
    traits_any: dict[PurposeId, TraitValues] | None = Field(
        None, description="Trait values; a sensitive trait needs explicit consent (TH-SEN-01)."
    )

    def rules(self) -> dict[str, Any]:
        """Return the rules that are set, as stored."""
        return self.model_dump(exclude_none=True)


def _no_none(value: Any) -> Any:
    return {} if value is None else value


class OfferCreate(BaseModel):
    """A coupon, discount or message with eligibility rules and message variants per audience.

    ``variants`` maps an audience (RFM segment code, VIP tier, age band, or ``default``) to the
    message; ``default`` is required. A generic offer is the non-personalized default shown on
    fallback and to the holdout: it has no eligibility rules and only the ``default`` variant.
    ``budget_cap`` is the most conversions the offer may get (0 or null: unlimited).
    """

    model_config = ConfigDict(extra="forbid")

    id: OfferId = Field(description="A slug: lowercase letters, digits, '_' or '-'.")
    kind: OfferKind
    title: OfferText
    purpose: PurposeId = Field("personalized_offers", description="A purpose of the policy.")
    is_generic: bool = False
    is_active: bool = True
    eligibility: Annotated[Eligibility, BeforeValidator(_no_none)] = Field(
        default_factory=Eligibility
    )
    variants: dict[str, OfferText]
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    budget_cap: int | None = Field(None, ge=0, le=1_000_000_000)

    @field_validator("eligibility")
    @classmethod
    def _generic_has_no_rules(cls, value: Eligibility, info: ValidationInfo) -> Eligibility:
        if info.data.get("is_generic") and value.rules():
            raise ValueError("a generic offer is shown to everyone; it takes no eligibility rules")
        return value

    @field_validator("variants")
    @classmethod
    def _known_audiences(
        cls, value: dict[str, OfferText], info: ValidationInfo
    ) -> dict[str, OfferText]:
        unknown = sorted(k for k in value if not offers_rules.is_audience(k))
        if unknown:
            raise ValueError(
                f"unknown audience {unknown[0]!r}: use an RFM segment, a VIP tier, an age band "
                "or 'default'"
            )
        if offers_rules.DEFAULT_AUDIENCE not in value:
            raise ValueError("a 'default' variant is required")
        if info.data.get("is_generic") and len(value) > 1:
            raise ValueError("a generic offer has only the 'default' variant")
        return value

    @field_validator("valid_until")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value <= start:
            raise ValueError("valid_until must be after valid_from")
        return value


class OfferUpdate(BaseModel):
    """A change to an offer: only the fields sent change; the result is validated as a whole."""

    model_config = ConfigDict(extra="forbid")

    kind: OfferKind | None = None
    title: OfferText | None = None
    purpose: PurposeId | None = None
    is_generic: bool | None = None
    is_active: bool | None = None
    eligibility: Eligibility | None = None
    variants: dict[str, OfferText] | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    budget_cap: int | None = Field(None, ge=0, le=1_000_000_000)


class OfferRead(BaseModel):
    """An offer as stored."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    title: Text
    purpose: str
    is_generic: bool
    is_active: bool
    eligibility: dict[str, Any]
    variants: dict[str, Text]
    valid_from: datetime | None
    valid_until: datetime | None
    budget_cap: int | None
    created_at: datetime
    updated_at: datetime


class Chosen(BaseModel):
    """The offer the bandit picked and the message variant for the subject's audience."""

    model_config = ConfigDict(frozen=True)

    offer: OfferRead
    variant_key: str
    variant: dict[str, str] = Field(description="{'th': ..., 'en': ...}")

    def decision_entry(self) -> dict[str, Any]:
        """Return what a decision stores about this offer (``offer_id`` is what outcomes read)."""
        return {"offer_id": self.offer.id, "variant": self.variant_key}


class OutcomeCreate(BaseModel):
    """What happened after a decision: the offer was shown, clicked or converted."""

    model_config = ConfigDict(extra="forbid")

    kind: OutcomeKind


class OutcomeRead(BaseModel):
    """A recorded outcome; ``already_recorded`` is true when this call changed nothing."""

    model_config = ConfigDict(frozen=True)

    decision_id: uuid.UUID
    kind: str
    offer_id: str | None
    at: datetime
    already_recorded: bool
    counted: bool = Field(description="Whether it changed the bandit's statistics.")


class ArmRead(BaseModel):
    """Thompson-sampling statistics of one offer in one segment, with the posterior mean."""

    model_config = ConfigDict(frozen=True)

    offer_id: str
    segment: str
    impressions: int
    conversions: int
    posterior_mean: float


class LiftRead(BaseModel):
    """Conversion of personalized offers against the holdout, with the 95% interval of the lift."""

    model_config = ConfigDict(frozen=True)

    since: datetime | None
    treatment_shown: int
    treatment_converted: int
    holdout_shown: int
    holdout_converted: int
    treatment_rate: float | None
    holdout_rate: float | None
    lift: float | None = Field(description="treatment_rate - holdout_rate (absolute).")
    low: float | None = Field(description="Lower end of the 95% interval (Newcombe).")
    high: float | None = Field(description="Upper end of the 95% interval (Newcombe).")


class OfferStatsRead(BaseModel):
    """Every arm and the treatment-versus-holdout lift."""

    model_config = ConfigDict(frozen=True)

    arms: list[ArmRead]
    lift: LiftRead


class UnlearnedRead(BaseModel):
    """What ``unlearn_subject`` removed from the arms (counts only)."""

    model_config = ConfigDict(frozen=True)

    decisions: int
    impressions: int
    conversions: int


# =================================================================================================
# Recommender service (``personalize.recommend``): training sets, model versions, recommendations
# =================================================================================================


class TrainingSet(BaseModel):
    """What one model is trained on: row i of ``matrix`` is ``subject_ids[i]``, column j is
    ``item_ids[j]`` (the active catalogue in SKU order); a 1 means purchased, carted or viewed."""

    model_config = ConfigDict(frozen=True)

    subject_ids: list[uuid.UUID]
    item_ids: list[str]
    matrix: Any = Field(repr=False, description="A binary scipy.sparse CSR matrix.")


class ModelInfo(BaseModel):
    """A stored recommender version (counts only, no personal data)."""

    model_config = ConfigDict(frozen=True)

    version: str
    n_users: int = Field(description="Subjects whose interactions are in the model.")
    n_items: int = Field(description="Items the model can recommend (its vocabulary).")
    fit_s: float = Field(description="Seconds the fit took.")


class RecItem(BaseModel):
    """One recommended item; ``because`` names at most two items the subject interacted with."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    score: float
    because: list[str]


class Recs(BaseModel):
    """Recommendations for one subject and the model version that made them (None: not used)."""

    model_config = ConfigDict(frozen=True)

    items: list[RecItem]
    model_version: str | None
    personalized: bool
    reason: str | None = Field(None, description="Why not personalized, when the policy refused.")


class RecommenderMemberRead(BaseModel):
    """A subject's place in the recommender: exactly the items their row contributes (TH-DSR-01)."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    item_ids: list[str]
    model_version: str = Field(description="The version that added the subject.")
    current_version: str | None = Field(description="The newest version, which contains them.")
    added_at: datetime
