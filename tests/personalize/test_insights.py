"""Per-subject insights with lineage: values, what may feed them, narrowing, rectification, CLI.

Data is built through the services: consents with ``tests.factories``, events through
``events.service.ingest``. Every refresh runs at ``REF``; events happen before it.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rujai.audit.models import AuditEntry
from rujai.cli.insights import app as insights_cli
from rujai.config import get_settings
from rujai.errors import Invalid, PolicyDenied
from rujai.events import service as events_service
from rujai.kit.crypto import Keyring
from rujai.personalize import clv, insights, insights_population, rfm
from rujai.personalize.insights_compute import cut_points, score
from rujai.personalize.models import Insight, InsightModel
from rujai.personalize.schemas import InsightRead
from rujai.policy import service as policy_service
from rujai.policy.rules import Objection
from rujai.policy.schemas import Policy
from rujai.policy.service import Permit
from rujai.profiles import service as profiles_service
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.models import Subject
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.consent.helpers import count_queries
from tests.factories import make_consent, make_subject, rights_permit, track_event

REF = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
SETUP = REF - timedelta(days=320)  # within the 365 days allergy-aware consent lasts
PURCHASES = ["purchase_history"]


# --- helpers -------------------------------------------------------------------------------------


def _days_ago(days: int) -> datetime:
    return REF - timedelta(days=days)


def _buy(customer: str, days: int, amount: float, order: str, category: str = "kitchen") -> Any:
    return track_event(
        "purchase", customer_id=customer, timestamp=_days_ago(days), order_id=order,
        item_id=f"SKU-{order}", category=category, quantity=1, amount=amount,
    )  # fmt: skip


def _view(customer: str, days: int, category: str) -> Any:
    return track_event(
        "product_view", customer_id=customer, timestamp=_days_ago(days),
        item_id=f"SKU-{category}", category=category,
    )  # fmt: skip


def _visit(customer: str, days: int) -> Any:
    return track_event(
        "store_visit", customer_id=customer, timestamp=_days_ago(days), store_id="BKK-01"
    )


def _ingest(
    s: Session, keyring: Keyring, policy: Policy, events: list[Any], partner: bool = False
) -> None:
    summary = events_service.ingest(
        s, keyring=keyring, policy=policy, events=events, source="import" if partner else "api",
        is_partner_data=partner, now=REF, actor="test",
    )  # fmt: skip
    assert summary.accepted == len(events), summary.dropped_by_reason


def _customer(
    factory: sessionmaker[Session],
    keyring: Keyring,
    policy: Policy,
    customer: str,
    purposes: tuple[str, ...],
    events: list[Any],
    **subject: Any,
) -> Any:
    """Create a customer with consents (granted before the events) and ingest the events."""
    with factory() as s, s.begin():
        subject_id = make_subject(s, keyring, customer, now=SETUP, **subject).id
        for purpose in purposes:
            make_consent(s, keyring, policy, purpose, customer_id=customer, now=SETUP)
        if events:
            _ingest(s, keyring, policy, events)
    return subject_id


def _refresh(factory: sessionmaker[Session], keyring: Keyring, policy: Policy) -> Any:
    return insights.refresh_all(factory, keyring=keyring, policy=policy, now=REF)


def _stored(s: Session, subject_id: Any) -> list[InsightRead]:
    """The subject's insight rows as stored (tests read the table; code takes a permit)."""
    rows = s.scalars(select(Insight).where(Insight.subject_id == subject_id).order_by(Insight.name))
    return [InsightRead.model_validate(row, from_attributes=True) for row in rows]


def _insights(factory: sessionmaker[Session], subject_id: Any) -> dict[str, Any]:
    with factory() as s:
        return {row.name: row for row in _stored(s, subject_id)}


def _three_customers(factory, keyring, policy) -> tuple[Any, Any, Any]:
    """A: three orders (one of two lines) totalling 6,000 baht, B: two orders, C: one order."""
    a = _customer(factory, keyring, policy, "C-INS-A", ("recommendations",), [
        _buy("C-INS-A", 100, 1000.0, "A1"),
        _buy("C-INS-A", 60, 1500.0, "A2"), _buy("C-INS-A", 60, 500.0, "A2", "bedding"),
        _buy("C-INS-A", 10, 3000.0, "A3"),
    ])  # fmt: skip
    b = _customer(factory, keyring, policy, "C-INS-B", ("recommendations",), [
        _buy("C-INS-B", 200, 800.0, "B1"), _buy("C-INS-B", 40, 700.0, "B2"),
    ])  # fmt: skip
    c = _customer(
        factory,
        keyring,
        policy,
        "C-INS-C",
        ("recommendations",),
        [_buy("C-INS-C", 300, 99.0, "C1")],
    )
    return a, b, c


# --- values --------------------------------------------------------------------------------------


def test_rfm_tier_and_churn_values_for_a_hand_built_history(factory, keyring, policy):
    a, b, c = _three_customers(factory, keyring, policy)
    summary = _refresh(factory, keyring, policy)
    assert (summary.subjects, summary.with_insights, summary.purchasers) == (3, 3, 3)
    assert summary.bgnbd_fitted
    got = _insights(factory, a)
    values = {name: row.value for name, row in got.items()}
    assert values["recency_days"] == 10
    assert (values["orders"], values["frequency"]) == (3, 2)  # two lines of A2 are one order
    assert (values["total_spend"], values["monetary"]) == (6000.0, 2000.0)
    assert values["vip_tier"] == "silver"  # 5,000 <= 6,000 < 20,000 in examples/policy.yaml
    assert values["rfm_segment"] == "champions"  # best R, F and M of three
    assert _insights(factory, b)["rfm_segment"].value == "about_to_sleep"
    assert _insights(factory, c)["rfm_segment"].value == "lost"
    assert _insights(factory, c)["vip_tier"].value == "none"  # below the lowest threshold
    with factory() as s:
        population = insights_population.load_population(s)
        fitted = s.scalar(select(InsightModel.n_subjects).where(InsightModel.name == "bgnbd"))
    assert fitted == 3
    assert population.bgnbd is not None
    x, t_x, big_t = 2, 90 / 7, 100 / 7  # repeat days, first to last and first to now, in weeks
    churn = clv.churn_risk(population.bgnbd, x, t_x, big_t)
    expected = clv.expected_purchases(population.bgnbd, 90 / 7, x, t_x, big_t)
    assert values["churn_risk"] == round(float(churn), 4)
    assert 0.0 <= values["churn_risk"] <= 1.0
    assert values["expected_purchases_90d"] == round(float(expected), 3)
    assert {tuple(row.categories) for row in got.values()} == {("purchase_history",)}


def test_cut_points_reproduce_quintile_scores():
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 5, 11, 250):
        values = rng.integers(0, 6, size=n).astype(float)  # many ties
        assert score(values, cut_points(values)).tolist() == rfm.quintile_scores(values).tolist()


def test_lineage_lists_exactly_the_categories_each_insight_came_from(factory, keyring, policy):
    """Offers consent permits purchases, browsing, store visits and the birth date for profiling."""
    sid = _customer(
        factory, keyring, policy, "C-INS-L", ("personalized_offers",),
        [_buy("C-INS-L", 30, 900.0, "L1"), _view("C-INS-L", 20, "bedding"), _visit("C-INS-L", 5)],
        birth_date=date(1990, 5, 1),
    )  # fmt: skip
    _refresh(factory, keyring, policy)
    got = _insights(factory, sid)
    assert got["recency_days"].categories == PURCHASES
    assert got["category_affinity"].categories == ["browsing", "purchase_history"]
    assert got["category_affinity"].value == [
        {"category": "kitchen", "share": 0.75},  # a purchase weighs 3, a view 1
        {"category": "bedding", "share": 0.25},
    ]
    assert (got["last_visit_days"].value, got["last_visit_days"].categories) == (
        5, ["browsing", "location"]
    )  # fmt: skip
    assert (got["age_band"].value, got["age_band"].categories) == ("30_39", ["age"])  # birth date


def test_data_collected_for_a_non_profiling_purpose_does_not_feed_insights(
    factory, keyring, policy
):
    """Analytics (no profiling) may collect store visits; no insight may be derived from them."""
    sid = _customer(
        factory, keyring, policy, "C-INS-N", ("recommendations", "analytics"),
        [_view("C-INS-N", 20, "bedding"), _visit("C-INS-N", 2)], birth_date=date(1990, 5, 1),
    )  # fmt: skip
    _refresh(factory, keyring, policy)
    got = _insights(factory, sid)
    assert (got["last_visit_days"].value, got["last_visit_days"].categories) == (20, ["browsing"])
    assert "age_band" not in got  # age: no profiling purpose with consent declares it
    assert "recency_days" not in got


def test_subject_without_profiling_consent_gets_no_insights(factory, keyring, policy):
    """Purchases are kept on the contract basis, but profiling them needs a profiling purpose."""
    sid = _customer(factory, keyring, policy, "C-INS-0", (), [_buy("C-INS-0", 10, 500.0, "Z1")])
    summary = _refresh(factory, keyring, policy)
    assert _insights(factory, sid) == {}
    assert (summary.with_insights, summary.without_insights, summary.purchasers) == (0, 1, 0)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(InsightModel)) == 0


# --- narrowing -----------------------------------------------------------------------------------


def test_withdrawal_removes_browsing_derived_insights_at_once_th_con_03(factory, keyring, policy):
    """TH-CON-03: after withdrawing recommendations no insight derived from browsing is left."""
    sid = _customer(
        factory, keyring, policy, "C-INS-W", ("recommendations", "health_tailored_offers"),
        [_buy("C-INS-W", 30, 900.0, "W1"), _view("C-INS-W", 20, "bedding")],
    )  # fmt: skip
    _refresh(factory, keyring, policy)
    assert _insights(factory, sid)["category_affinity"].categories == [
        "browsing", "purchase_history"
    ]  # fmt: skip
    with factory() as s, s.begin():
        make_consent(
            s, keyring, policy, "recommendations", customer_id="C-INS-W", action="withdraw", now=REF
        )
        left = insights.export_subject(
            s, permit=rights_permit(s, keyring, policy, sid), subject_id=sid
        )
        assert all("browsing" not in row.categories for row in left)  # same transaction
    _refresh(factory, keyring, policy)
    got = _insights(factory, sid)
    assert got["category_affinity"].categories == PURCHASES  # allergy-aware offers: purchases
    assert got["category_affinity"].value == [{"category": "kitchen", "share": 1.0}]
    assert got["recency_days"].value == 30
    assert "last_visit_days" not in got


@pytest.mark.parametrize(
    "narrow",
    [
        pytest.param({"is_restricted": True}, id="restricted_th_dsr_05"),
        pytest.param({"objections": ["profiling"]}, id="objected_to_profiling_eu_02"),
    ],
)
def test_refresh_deletes_the_insights_of_a_restricted_or_objecting_subject(
    factory, keyring, policy, narrow
):
    """TH-DSR-05, EU-02: even when set without the signal, the next refresh removes the rows."""
    sid = _customer(
        factory, keyring, policy, "C-INS-R", ("recommendations",), [_buy("C-INS-R", 9, 90.0, "R1")]
    )
    _refresh(factory, keyring, policy)
    assert _insights(factory, sid)
    with factory() as s, s.begin():
        row = s.get(Subject, sid)
        for name, value in narrow.items():
            setattr(row, name, value)
    _refresh(factory, keyring, policy)
    assert _insights(factory, sid) == {}


def test_restriction_signal_deletes_insights_in_the_same_transaction(factory, keyring, policy):
    sid = _customer(
        factory, keyring, policy, "C-INS-S", ("recommendations",), [_buy("C-INS-S", 9, 90.0, "S1")]
    )
    _refresh(factory, keyring, policy)
    with factory() as s, s.begin():
        profiles_service.set_objection(
            s, subject_id=sid, objection=Objection.PROFILING, objected=True, now=REF
        )
        assert (
            insights.export_subject(
                s, permit=rights_permit(s, keyring, policy, sid), subject_id=sid
            )
            == []
        )
    with factory() as s, s.begin():
        profiles_service.set_objection(
            s, subject_id=sid, objection=Objection.PROFILING, objected=False, now=REF
        )
        profiles_service.set_restricted(s, subject_id=sid, restricted=True, now=REF)
        assert insights.refresh_subjects(
            s, keyring=keyring, policy=policy, subject_ids={sid}, now=REF
        ) == 0  # fmt: skip


def test_withdrawal_during_a_refresh_is_not_undone_by_its_second_pass_th_con_03(
    factory, keyring, policy
):
    """A withdrawal between the passes deletes the insights; rescoring must not bring any back."""
    a, b, _ = _three_customers(factory, keyring, policy)

    def withdraw_midway(done: int, total: int) -> None:
        if done == total // 2:  # every chunk rewritten, models not yet refitted
            with factory() as s, s.begin():
                make_consent(s, keyring, policy, customer_id="C-INS-A", action="withdraw", now=REF)

    insights.refresh_all(factory, keyring=keyring, policy=policy, now=REF, progress=withdraw_midway)
    assert _insights(factory, a) == {}
    assert "rfm_segment" in _insights(factory, b)


def test_partner_data_is_ignored_until_the_subject_is_notified_th_ind_01(factory, keyring, policy):
    sid = _customer(factory, keyring, policy, "C-INS-P", ("recommendations",), [])
    with factory() as s, s.begin():
        _ingest(s, keyring, policy, [_buy("C-INS-P", 15, 1200.0, "P1")], partner=True)
    _refresh(factory, keyring, policy)
    assert _insights(factory, sid) == {}
    with factory() as s, s.begin():
        s.get(Subject, sid).partner_notified_at = REF
    _refresh(factory, keyring, policy)
    assert _insights(factory, sid)["total_spend"].value == 1200.0


# --- reading, rectification, erasure -------------------------------------------------------------


def test_read_for_use_returns_only_insights_whose_lineage_is_permitted(factory, keyring, policy):
    sid = _customer(
        factory, keyring, policy, "C-INS-U", ("personalized_offers",),
        [_buy("C-INS-U", 30, 900.0, "U1"), _view("C-INS-U", 20, "bedding")],
    )  # fmt: skip
    _refresh(factory, keyring, policy)
    with factory() as s, s.begin():
        insights.remove_interest(s, subject_id=sid, category="garden", now=REF)

        def permit(categories: list[str]) -> Permit:
            return policy_service.authorize(
                s, policy=policy, keyring=keyring, subject_id=sid,
                purpose="personalized_offers", categories=categories, now=REF, actor="test",
            )  # fmt: skip

        purchases_only = insights.read_for_use(s, permit=permit(PURCHASES))
        both = insights.read_for_use(s, permit=permit(["purchase_history", "browsing"]))
        nothing = insights.read_for_use(s, permit=permit([]))
    assert "recency_days" in purchases_only
    assert not {"category_affinity", "last_visit_days"} & set(purchases_only)
    assert {"category_affinity", "last_visit_days", "vip_tier"} <= set(both)
    assert "suppressed_interests" not in both
    assert nothing == {}


def test_removed_interest_stays_removed_after_refresh_th_dsr_06(factory, keyring, policy):
    sid = _customer(
        factory, keyring, policy, "C-INS-I", ("recommendations",),
        [_buy("C-INS-I", 30, 900.0, "I1"), _view("C-INS-I", 20, "bedding")],
    )  # fmt: skip
    _refresh(factory, keyring, policy)
    with factory() as s, s.begin():
        removed = insights.remove_interest(s, subject_id=sid, category="kitchen", now=REF)
        assert removed == ["kitchen"]
        now_shown = insights.export_subject(
            s, permit=rights_permit(s, keyring, policy, sid), subject_id=sid
        )
    affinity = {row.name: row for row in now_shown}["category_affinity"].value
    assert [entry["category"] for entry in affinity] == ["bedding"]
    _refresh(factory, keyring, policy)
    got = _insights(factory, sid)
    assert got["category_affinity"].value == [{"category": "bedding", "share": 1.0}]
    assert got["category_affinity"].categories == ["browsing"]  # purchases only said kitchen
    assert got["suppressed_interests"].value == ["kitchen"]
    with factory() as s, s.begin():
        assert insights.erase_subject(s, subject_id=sid) == len(got)
        assert (
            insights.export_subject(
                s, permit=rights_permit(s, keyring, policy, sid), subject_id=sid
            )
            == []
        )


def test_remove_interest_names_the_field_and_the_subject_must_exist(session, keyring):
    sid = make_subject(session, keyring, "C-INS-X").id
    with pytest.raises(Invalid) as bad:
        insights.remove_interest(session, subject_id=sid, category="  ", now=REF)
    assert bad.value.field == "category"
    with pytest.raises(SubjectNotFound):
        insights.remove_interest(session, subject_id=uuid.uuid4(), category="kitchen", now=REF)


# --- incremental refresh and audit ---------------------------------------------------------------


def test_refresh_subjects_scores_with_the_stored_population_models(factory, keyring, policy):
    a, _, c = _three_customers(factory, keyring, policy)
    _refresh(factory, keyring, policy)
    with factory() as s, s.begin():
        _ingest(s, keyring, policy, [_buy("C-INS-C", 1, 9000.0, "C2")])
        written = insights.refresh_subjects(
            s, keyring=keyring, policy=policy, subject_ids={c}, now=REF
        )
        population = insights_population.load_population(s)
    got = _insights(factory, c)
    assert written == len(got)
    assert (got["orders"].value, got["recency_days"].value, got["vip_tier"].value) == (
        2, 1, "silver"
    )  # fmt: skip
    cuts = population.rfm_cuts
    assert cuts is not None
    r, f, m = (
        score([REF.date().toordinal() - 1], cuts["last_day"])[0],
        score([2], cuts["orders"])[0],
        score([9099.0], cuts["total_spend"])[0],
    )
    assert got["rfm_segment"].value == rfm.rfm_segment(int(r), int(f), int(m))
    assert _insights(factory, a)["orders"].value == 3  # others untouched


def test_refresh_subjects_without_stored_models_writes_no_model_based_insights(
    factory, keyring, policy
):
    sid = _customer(
        factory, keyring, policy, "C-INS-M", ("recommendations",), [_buy("C-INS-M", 3, 50.0, "M1")]
    )
    with factory() as s, s.begin():
        insights.refresh_subjects(s, keyring=keyring, policy=policy, subject_ids={sid}, now=REF)
    got = _insights(factory, sid)
    assert got["recency_days"].value == 3
    assert not {"rfm_segment", "churn_risk", "expected_purchases_90d"} & set(got)


def test_refresh_subjects_runs_a_constant_number_of_queries(factory, keyring, policy):
    """Cheap enough for every ingest batch: the queries do not grow with subjects or events."""
    a, b, c = _three_customers(factory, keyring, policy)
    with factory() as s, s.begin():
        # The first audit entry of a transaction takes the audit head's lock; then it is held.
        insights.refresh_subjects(s, keyring=keyring, policy=policy, subject_ids={a}, now=REF)
        with count_queries(s) as one:
            insights.refresh_subjects(s, keyring=keyring, policy=policy, subject_ids={c}, now=REF)
        with count_queries(s) as three:
            insights.refresh_subjects(
                s, keyring=keyring, policy=policy, subject_ids={a, b, c}, now=REF
            )
    assert len(one) == len(three)


def test_refresh_all_audits_its_permits_once_per_chunk_and_the_run_once(factory, keyring, policy):
    """The door's bulk permit (``authorize_many``) is audited with counts only, then the run."""
    _three_customers(factory, keyring, policy)
    with factory() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    calls: list[tuple[int, int]] = []
    insights.refresh_all(
        factory, keyring=keyring, policy=policy, now=REF, progress=lambda *a: calls.append(a)
    )
    with factory() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()[before:]
        rows = s.scalar(select(func.count()).select_from(Insight))
    assert [e.action for e in entries] == ["policy.authorize_many", "insights.refresh"]
    permits, run = entries
    assert permits.subject_id is None
    assert permits.detail["asked"] == 3
    assert set(permits.detail["verdicts"]) == {
        pid for pid, p in policy.purposes.items() if p.profiling
    }
    assert run.detail["insights"] == rows
    assert run.detail["subjects"] == 3
    assert calls[-1] == (6, 6)  # reading, then writing, the 3 subjects


# --- CLI -----------------------------------------------------------------------------------------


@pytest.fixture
def runner(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_refresh_and_show_are_audited(runner, factory, keyring, policy):
    _three_customers(factory, keyring, policy)
    result = runner.invoke(insights_cli, ["refresh"])
    assert result.exit_code == 0, result.output
    assert "insights refreshed: 3 subjects, 3 with insights" in result.stdout
    one = runner.invoke(insights_cli, ["refresh", "--subject", "C-INS-A"])
    assert one.exit_code == 0, one.output
    shown = runner.invoke(insights_cli, ["show", "C-INS-A", "--purpose", "recommendations"])
    assert shown.exit_code == 0, shown.output
    assert "rfm_segment" in shown.stdout
    assert "purchase_history" in shown.stdout
    # A purpose the customer did not consent to shows nothing (the door refuses, audited).
    refused = runner.invoke(insights_cli, ["show", "C-INS-A", "--purpose", "email_marketing"])
    assert refused.exit_code != 0
    assert "rfm_segment" not in refused.stdout
    with factory() as s:
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert [a for a in actions if a.startswith("insights.")][-3:] == [
        "insights.refresh", "insights.refresh", "insights.viewed"
    ]  # fmt: skip
    assert "policy.authorize_many" in actions  # what each refresh read was asked of the door


def test_cli_show_exits_1_for_an_unknown_customer(runner, factory):
    result = runner.invoke(insights_cli, ["show", "C-NOBODY", "--purpose", "personalized_offers"])
    assert result.exit_code == 1
    assert "no subject with this customer id" in result.stderr


def test_export_through_the_door_only_for_the_permits_subject_th_dsr_01(factory, keyring, policy):
    a, b, _ = _three_customers(factory, keyring, policy)
    _refresh(factory, keyring, policy)
    with factory() as s, s.begin():
        permit = rights_permit(s, keyring, policy, a)
        assert {r.name for r in insights.export_subject(s, permit=permit, subject_id=a)} == set(
            _insights(factory, a)
        )
        with pytest.raises(PolicyDenied):
            insights.export_subject(s, permit=permit, subject_id=b)
