"""Offers: eligibility, variants, Thompson choice, outcomes, holdout, unlearning, lift, CLI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from rujai.config import get_settings
from rujai.errors import Invalid
from rujai.kit import signals
from rujai.kit.crypto import Keyring
from rujai.personalize import bandit, offers as offers_service, offers_cache
from rujai.personalize.models import Decision, Offer, OfferArm
from rujai.personalize.schemas import OfferCreate, OfferRead, OfferUpdate
from rujai.policy.schemas import Policy
from tests.conftest import EXAMPLE_POLICY
from tests.factories import NOW, make_subject

INSIGHTS: dict[str, Any] = {
    "rfm_segment": "champions",
    "vip_tier": "gold",
    "recency_days": 12,
    "total_spend": 24_500.0,
    "orders": 9,
    "age_band": "20_29",
}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    offers_service.clear_cache()
    yield
    offers_service.clear_cache()


def offer_data(offer_id: str = "kitchen-10", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": offer_id,
        "kind": "coupon",
        "title": {"th": "ลด 10% เครื่องครัว", "en": "10% off kitchenware"},
        "variants": {"default": {"th": "ของดีราคาคุ้ม", "en": "Great value"}},
    }
    data.update(overrides)
    return data


def make_offer(
    session: Session, policy: Policy, offer_id: str = "kitchen-10", **overrides: Any
) -> OfferRead:
    offer = OfferCreate.model_validate(offer_data(offer_id, **overrides))
    return offers_service.create(session, policy=policy, offer=offer, now=NOW, actor="test")


def make_decision(
    session: Session,
    offer_id: str | None,
    *,
    subject_id: uuid.UUID | None = None,
    segment: str | None = "champions",
    personalized: bool = True,
    holdout: bool = False,
) -> uuid.UUID:
    decision = Decision(
        id=uuid.uuid4(),
        subject_id=subject_id,
        placement="app_offer",
        purpose="personalized_offers",
        personalized=personalized,
        is_holdout=holdout,
        reason="holdout" if holdout else "allowed",
        segment=segment,
        offers=[{"offer_id": offer_id, "variant": "default"}] if offer_id else [],
        created_at=NOW,
    )
    session.add(decision)
    session.flush()
    return decision.id


def arm(session: Session, offer_id: str, segment: str = "champions") -> tuple[int, int]:
    row = session.get(OfferArm, (offer_id, segment))
    if row is None:
        return (0, 0)
    session.refresh(row)
    return (row.impressions, row.conversions)


def ids(offers: list[OfferRead]) -> list[str]:
    return [o.id for o in offers]


def eligible_ids(
    session: Session, policy: Policy, insights: dict[str, Any], **kw: Any
) -> list[str]:
    now = kw.pop("now", NOW)
    return ids(offers_service.eligible(session, policy=policy, insights=insights, now=now, **kw))


# ---- eligibility -----------------------------------------------------------------------------


def test_eligible_filters_by_segment_and_tier(session, policy):
    make_offer(session, policy, "champs", eligibility={"segments": ["champions", "loyal"]})
    make_offer(session, policy, "at-risk", eligibility={"segments": ["at_risk"]})
    make_offer(session, policy, "gold", eligibility={"tiers": ["gold", "platinum"]})
    make_offer(session, policy, "silver", eligibility={"tiers": ["silver"]})
    assert eligible_ids(session, policy, INSIGHTS) == ["champs", "gold"]
    lapsed = {**INSIGHTS, "rfm_segment": "at_risk", "vip_tier": "silver"}
    assert eligible_ids(session, policy, lapsed) == ["at-risk", "silver"]


def test_eligible_filters_by_recency_and_minimum_spend(session, policy):
    make_offer(session, policy, "recent", eligibility={"max_recency_days": 30})
    make_offer(session, policy, "big-spender", eligibility={"min_total_spend": 20_000})
    make_offer(session, policy, "both", eligibility={"max_recency_days": 7, "min_orders": 3})
    assert eligible_ids(session, policy, INSIGHTS) == ["big-spender", "recent"]
    small = {**INSIGHTS, "recency_days": 45, "total_spend": 800.0}
    assert eligible_ids(session, policy, small) == []
    fresh = {**INSIGHTS, "recency_days": 3}
    assert eligible_ids(session, policy, fresh) == ["big-spender", "both", "recent"]


def test_eligible_is_false_when_a_rule_reads_an_absent_insight(session, policy):
    make_offer(session, policy, "recent", eligibility={"max_recency_days": 30})
    make_offer(session, policy, "kitchen", eligibility={"categories_any": ["kitchen"]})
    assert eligible_ids(session, policy, {"rfm_segment": "champions"}) == []
    affinity = {"category_affinity": [{"category": "kitchen", "share": 0.6}]}
    assert eligible_ids(session, policy, affinity) == ["kitchen"]


def test_eligible_respects_the_validity_window(session, policy):
    make_offer(
        session,
        policy,
        "songkran",
        valid_from=NOW + timedelta(days=1),
        valid_until=NOW + timedelta(days=5),
    )
    assert eligible_ids(session, policy, INSIGHTS, now=NOW) == []
    assert eligible_ids(session, policy, INSIGHTS, now=NOW + timedelta(days=2)) == ["songkran"]
    assert eligible_ids(session, policy, INSIGHTS, now=NOW + timedelta(days=5)) == []


def test_eligible_stops_an_offer_at_its_budget_cap(session, policy):
    make_offer(session, policy, "capped", budget_cap=2)
    make_offer(session, policy, "unlimited", budget_cap=0)
    assert eligible_ids(session, policy, INSIGHTS) == ["capped", "unlimited"]
    for _ in range(2):
        decision_id = make_decision(session, "capped")
        offers_service.record_outcome(session, decision_id=decision_id, kind="converted", now=NOW)
    assert eligible_ids(session, policy, INSIGHTS) == ["unlimited"]


def test_eligible_leaves_out_inactive_and_generic_offers(session, policy):
    make_offer(session, policy, "paused", is_active=False)
    make_offer(session, policy, "everyone", is_generic=True)
    make_offer(session, policy, "live")
    assert eligible_ids(session, policy, INSIGHTS) == ["live"]
    generic = offers_service.generic(session, now=NOW)
    assert generic is not None
    assert generic.id == "everyone"


def test_generic_is_none_when_no_generic_offer_is_live(session, policy):
    make_offer(session, policy, "everyone", is_generic=True, valid_until=NOW)
    make_offer(session, policy, "live")
    assert offers_service.generic(session, now=NOW) is None


def test_eligible_leaves_out_explicit_consent_offers_unless_their_purpose_is_asked(session, policy):
    """An allergy-aware offer needs the explicit consent of its own purpose (TH-SEN-01)."""
    make_offer(
        session,
        policy,
        "gentle-soap",
        purpose="health_tailored_offers",
        eligibility={"traits_any": {"allergies": ["fragrance"]}},
    )
    make_offer(session, policy, "kitchen")
    insights = {**INSIGHTS, "traits": {"allergies": "fragrance"}}
    assert eligible_ids(session, policy, insights) == ["kitchen"]
    asked = eligible_ids(session, policy, insights, purpose="health_tailored_offers")
    assert asked == ["gentle-soap"]
    assert eligible_ids(session, policy, insights, purpose="personalized_offers") == ["kitchen"]


def test_eligible_serves_from_the_cache_without_a_query_when_nothing_changed(
    session, policy, engine, monkeypatch
):
    monkeypatch.setattr(offers_cache, "monotonic", lambda: 1000.0)
    make_offer(session, policy, "kitchen")
    session.commit()
    assert eligible_ids(session, policy, INSIGHTS) == ["kitchen"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert eligible_ids(session, policy, INSIGHTS) == ["kitchen"]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []


def test_eligible_sees_a_change_made_elsewhere_within_the_refresh_interval(
    session, policy, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(offers_cache, "monotonic", lambda: clock[0])
    make_offer(session, policy, "kitchen")
    assert eligible_ids(session, policy, INSIGHTS) == ["kitchen"]
    later = NOW + timedelta(minutes=1)
    session.execute(update(Offer).values(is_active=False, updated_at=later))  # another process
    assert eligible_ids(session, policy, INSIGHTS) == ["kitchen"]  # cached for a moment
    clock[0] += offers_cache.REFRESH_SECONDS
    assert eligible_ids(session, policy, INSIGHTS) == []


# ---- variants and choice ---------------------------------------------------------------------

VARIANTS = {
    "default": {"th": "ของดีราคาคุ้ม", "en": "Great value"},
    "champions": {"th": "ขอบคุณลูกค้าคนพิเศษ", "en": "Thanks for being a champion"},
    "gold": {"th": "สิทธิพิเศษสมาชิกทอง", "en": "A gold member treat"},
    "20_29": {"th": "ดูดีมีสไตล์", "en": "Looks sharp"},
}


@pytest.mark.parametrize(
    ("segment", "tier", "age_band", "expected"),
    [
        ("champions", "gold", "20_29", "champions"),
        ("lost", "gold", "20_29", "gold"),
        ("lost", "silver", "20_29", "20_29"),
        ("lost", None, "60_plus", "default"),
        (None, None, None, "default"),
    ],
)
def test_choose_picks_the_variant_by_audience_priority(
    session, policy, segment, tier, age_band, expected
):
    make_offer(session, policy, "kitchen", variants=VARIANTS)
    offers = offers_service.eligible(session, policy=policy, insights=INSIGHTS, now=NOW)
    chosen = offers_service.choose(
        session,
        offers=offers,
        segment=segment,
        tier=tier,
        age_band=age_band,
        rng=np.random.default_rng(0),
    )
    assert chosen.offer.id == "kitchen"
    assert chosen.variant_key == expected
    assert chosen.variant == VARIANTS[expected]
    assert chosen.decision_entry() == {"offer_id": "kitchen", "variant": expected}


def test_choose_refuses_an_empty_list(session):
    with pytest.raises(Invalid) as e:
        offers_service.choose(session, offers=[], segment="champions", rng=np.random.default_rng())
    assert e.value.field == "offers"


def test_thompson_choice_converges_to_the_better_offer_through_outcomes(session, policy):
    make_offer(session, policy, "weak")
    make_offer(session, policy, "strong")
    offers = offers_service.eligible(session, policy=policy, insights=INSIGHTS, now=NOW)
    rates = {"weak": 0.05, "strong": 0.25}
    rng, world = np.random.default_rng(7), np.random.default_rng(8)
    picks = []
    for _ in range(200):
        chosen = offers_service.choose(session, offers=offers, segment="champions", rng=rng)
        picks.append(chosen.offer.id)
        decision_id = make_decision(session, chosen.offer.id)
        kind = "converted" if world.random() < rates[chosen.offer.id] else "shown"
        offers_service.record_outcome(session, decision_id=decision_id, kind=kind, now=NOW)
    assert picks[-80:].count("strong") >= 64
    strong, weak = arm(session, "strong"), arm(session, "weak")
    assert strong[0] + weak[0] == 200
    assert strong[0] == picks.count("strong")


# ---- outcomes --------------------------------------------------------------------------------


def test_record_outcome_is_idempotent_per_decision_and_kind(session, policy):
    make_offer(session, policy, "kitchen")
    decision_id = make_decision(session, "kitchen")
    first = offers_service.record_outcome(session, decision_id=decision_id, kind="shown", now=NOW)
    later = NOW + timedelta(seconds=5)
    again = offers_service.record_outcome(session, decision_id=decision_id, kind="shown", now=later)
    assert (first.already_recorded, first.counted) == (False, True)
    assert (again.already_recorded, again.counted) == (True, False)
    assert again.at == first.at == NOW
    assert arm(session, "kitchen") == (1, 0)


def test_record_outcome_counts_a_conversion_as_shown_too_and_a_click_as_no_reward(session, policy):
    make_offer(session, policy, "kitchen")
    converted = make_decision(session, "kitchen")
    offers_service.record_outcome(session, decision_id=converted, kind="converted", now=NOW)
    offers_service.record_outcome(session, decision_id=converted, kind="shown", now=NOW)
    clicked = make_decision(session, "kitchen")
    click = offers_service.record_outcome(session, decision_id=clicked, kind="clicked", now=NOW)
    assert click.counted is False
    assert arm(session, "kitchen") == (2, 1)


def test_record_outcome_of_a_holdout_decision_does_not_update_the_arms(session, policy):
    make_offer(session, policy, "everyone", is_generic=True)
    decision_id = make_decision(session, "everyone", segment=None, personalized=False, holdout=True)
    for kind in ("shown", "clicked", "converted"):
        read = offers_service.record_outcome(session, decision_id=decision_id, kind=kind, now=NOW)
        assert read.counted is False
        assert read.offer_id == "everyone"
    assert session.scalars(select(OfferArm)).all() == []


def test_record_outcome_refuses_an_unknown_kind(session, policy):
    decision_id = make_decision(session, None)
    with pytest.raises(Invalid) as e:
        offers_service.record_outcome(session, decision_id=decision_id, kind="bought", now=NOW)
    assert e.value.field == "kind"


def test_record_outcome_of_an_unknown_decision_is_not_found(session):
    with pytest.raises(offers_service.DecisionNotFound) as e:
        offers_service.record_outcome(session, decision_id=uuid.uuid4(), kind="shown", now=NOW)
    assert e.value.status == 404


def test_record_outcome_without_a_segment_uses_the_all_arm(session, policy):
    make_offer(session, policy, "kitchen")
    decision_id = make_decision(session, "kitchen", segment=None)
    offers_service.record_outcome(session, decision_id=decision_id, kind="shown", now=NOW)
    assert arm(session, "kitchen", offers_service.ANY_SEGMENT) == (1, 0)


# ---- erasure (TH-DSR-04) ---------------------------------------------------------------------


def _outcomes(session: Session, subject_id: uuid.UUID | None, plan: list[str]) -> None:
    for kind in plan:
        decision_id = make_decision(session, "kitchen", subject_id=subject_id)
        offers_service.record_outcome(session, decision_id=decision_id, kind=kind, now=NOW)


def test_unlearn_subject_subtracts_exactly_their_outcomes_for_erasure(
    session: Session, policy: Policy, keyring: Keyring
) -> None:
    """TH-DSR-04: erasure reaches the bandit statistics, exactly and only once."""
    make_offer(session, policy, "kitchen")
    somchai = make_subject(session, keyring, "C-0101").id
    malee = make_subject(session, keyring, "C-0102").id
    _outcomes(session, malee, ["shown", "converted", "clicked"])
    baseline = arm(session, "kitchen")
    _outcomes(session, somchai, ["converted", "shown", "converted", "clicked"])
    assert arm(session, "kitchen") == (baseline[0] + 4, baseline[1] + 2)
    removed = offers_service.unlearn_subject(session, subject_id=somchai, now=NOW)
    assert (removed.decisions, removed.impressions, removed.conversions) == (4, 4, 2)
    assert arm(session, "kitchen") == baseline == (3, 1)
    again = offers_service.unlearn_subject(session, subject_id=somchai, now=NOW)
    assert (again.decisions, again.impressions) == (0, 0)
    assert arm(session, "kitchen") == baseline


def test_subject_narrowed_unlearns_only_on_erasure_not_on_withdrawal(
    session: Session, policy: Policy, keyring: Keyring
) -> None:
    """TH-CON-03 withdrawal keeps anonymous aggregates; TH-DSR-04 erasure removes them."""
    make_offer(session, policy, "kitchen")
    subject = make_subject(session, keyring, "C-0103").id
    _outcomes(session, subject, ["converted", "shown"])
    signals.subject_narrowed(session, subject_id=subject, reason="withdrawn", now=NOW)
    assert arm(session, "kitchen") == (2, 1)
    signals.subject_narrowed(session, subject_id=subject, reason="erased", now=NOW)
    assert arm(session, "kitchen") == (0, 0)


# ---- lift and stats --------------------------------------------------------------------------


def test_lift_report_compares_personalized_offers_with_the_holdout(session, policy):
    make_offer(session, policy, "kitchen")
    make_offer(session, policy, "everyone", is_generic=True)
    for i in range(40):
        decision_id = make_decision(session, "kitchen")
        kind = "converted" if i < 12 else "shown"
        offers_service.record_outcome(session, decision_id=decision_id, kind=kind, now=NOW)
    for i in range(20):
        decision_id = make_decision(
            session, "everyone", segment=None, personalized=False, holdout=True
        )
        kind = "converted" if i < 2 else "shown"
        offers_service.record_outcome(session, decision_id=decision_id, kind=kind, now=NOW)
    make_decision(session, "kitchen")  # never shown: not counted
    report = offers_service.lift_report(session)
    assert (report.treatment_shown, report.treatment_converted) == (40, 12)
    assert (report.holdout_shown, report.holdout_converted) == (20, 2)
    assert report.lift == pytest.approx(0.3 - 0.1)
    assert (report.lift, report.low, report.high) == pytest.approx(bandit.lift(12, 40, 2, 20))
    assert offers_service.lift_report(session, since=NOW + timedelta(days=1)).lift is None


def test_stats_lists_arms_with_their_posterior_mean(session, policy):
    make_offer(session, policy, "kitchen")
    _outcomes(session, None, ["converted", "shown", "shown"])
    report = offers_service.stats(session)
    [only] = report.arms
    assert (only.offer_id, only.segment, only.impressions, only.conversions) == (
        "kitchen",
        "champions",
        3,
        1,
    )
    assert only.posterior_mean == pytest.approx(2 / 5)
    assert report.lift.lift is None


def test_is_holdout_is_the_bandit_hash_of_the_subject_uuid():
    subjects = [uuid.UUID(int=i * 7919) for i in range(2_000)]
    held = [offers_service.is_holdout(s, share=0.05, salt="exp-1") for s in subjects]
    assert held == [bandit.in_holdout(str(s), 0.05, salt="exp-1") for s in subjects]
    assert 0 < sum(held) < 300


# ---- validation against the policy (TH-SEN-01, TH-PUR-01) -------------------------------------


def test_create_refuses_a_sensitive_trait_rule_without_explicit_consent(session, policy):
    """TH-SEN-01: targeting by allergies (health) needs an explicit-consent purpose."""
    with pytest.raises(Invalid) as e:
        make_offer(session, policy, "gentle", eligibility={"traits_any": {"allergies": ["nuts"]}})
    assert e.value.field == "eligibility.traits_any"
    assert "TH-SEN-01" in e.value.message
    assert "health" in e.value.message
    assert session.get(Offer, "gentle") is None


def test_create_refuses_a_rule_reading_a_category_the_purpose_does_not_declare(session, policy):
    """TH-PUR-01: health_tailored_offers does not declare age (the birth date's category)."""
    with pytest.raises(Invalid) as e:
        make_offer(
            session,
            policy,
            "gentle",
            purpose="health_tailored_offers",
            eligibility={"age_bands": ["20_29"]},
        )
    assert e.value.field == "eligibility.age_bands"
    assert "TH-PUR-01" in e.value.message


def test_create_refuses_a_variant_audience_the_purpose_does_not_declare(session, policy):
    with pytest.raises(Invalid) as e:
        make_offer(session, policy, "gentle", purpose="health_tailored_offers", variants=VARIANTS)
    assert e.value.field == "variants.20_29"


def test_create_refuses_an_unknown_purpose_or_trait(session, policy):
    with pytest.raises(Invalid) as e:
        make_offer(session, policy, "x", purpose="mind_reading")
    assert e.value.field == "purpose"
    with pytest.raises(Invalid) as e:
        make_offer(session, policy, "y", eligibility={"traits_any": {"shoe_size": ["42"]}})
    assert e.value.field == "eligibility.traits_any.shoe_size"


def test_create_refuses_a_duplicate_id(session, policy):
    make_offer(session, policy, "kitchen")
    with pytest.raises(offers_service.OfferExists):
        make_offer(session, policy, "kitchen")


def test_update_validates_the_merged_offer(session, policy):
    make_offer(session, policy, "songkran", valid_from=NOW)
    change = OfferUpdate(valid_until=NOW - timedelta(days=1))
    with pytest.raises(Invalid) as e:
        offers_service.update(
            session, policy=policy, offer_id="songkran", change=change, now=NOW, actor="test"
        )
    assert e.value.field == "valid_until"
    fine = OfferUpdate(valid_until=NOW + timedelta(days=3), eligibility={"tiers": ["gold"]})
    updated = offers_service.update(
        session, policy=policy, offer_id="songkran", change=fine, now=NOW, actor="test"
    )
    assert updated.eligibility == {"tiers": ["gold"]}
    assert updated.valid_from == NOW


def test_parse_offers_names_the_field_of_the_bad_offer_in_a_list():
    good = offer_data("a")
    bad = offer_data("b", eligibility={"favourite_colour": ["red"]})
    assert [o.id for o in offers_service.parse_offers({"offers": [good]})] == ["a"]
    with pytest.raises(Invalid) as e:
        offers_service.parse_offers([good, bad])
    assert e.value.field == "offers[1].eligibility.favourite_colour"


# ---- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def runner(db_url: str, factory: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


OFFERS_YAML = """
- id: kitchen-10
  kind: coupon
  title: {th: ลด 10% เครื่องครัว, en: 10% off kitchenware}
  eligibility: {segments: [champions, loyal]}
  variants:
    default: {th: ของดีราคาคุ้ม, en: Great value}
    champions: {th: ขอบคุณลูกค้าคนพิเศษ, en: Thanks for being a champion}
- id: everyone
  kind: message
  is_generic: true
  title: {th: ส่งฟรีทุกออเดอร์, en: Free delivery}
  variants:
    default: {th: ส่งฟรี, en: Free delivery}
"""


def test_cli_add_list_deactivate_and_stats(runner: CliRunner, tmp_path: Path) -> None:
    from rujai.cli.offers import app

    file = tmp_path / "offers.yaml"
    file.write_text(OFFERS_YAML, encoding="utf-8")
    added = runner.invoke(app, ["add", str(file)])
    assert added.exit_code == 0, added.output
    assert "created offer kitchen-10" in added.stdout
    listed = runner.invoke(app, ["list"])
    assert "kitchen-10" in listed.stdout
    assert "segments" in listed.stdout
    assert runner.invoke(app, ["deactivate", "everyone"]).exit_code == 0
    active = runner.invoke(app, ["list", "--active-only"])
    assert "everyone" not in active.stdout
    stats = runner.invoke(app, ["stats"])
    assert stats.exit_code == 0, stats.output
    assert "lift: not enough data" in stats.stdout


def test_cli_add_refuses_a_sensitive_rule_naming_th_sen_01(
    runner: CliRunner, tmp_path: Path
) -> None:
    from rujai.cli.offers import app

    file = tmp_path / "offer.json"
    file.write_text(
        '{"id": "gentle", "kind": "coupon", "title": {"th": "สบู่อ่อนโยน", "en": "Gentle soap"},'
        ' "eligibility": {"traits_any": {"allergies": ["fragrance"]}},'
        ' "variants": {"default": {"th": "อ่อนโยน", "en": "Gentle"}}}',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["add", str(file)])
    assert result.exit_code == 1
    assert "TH-SEN-01" in result.stderr
    assert "kitchen" not in runner.invoke(app, ["list"]).stdout
