"""The recommender as a service on both databases: consent-scoped training, versions, serving,
exact unlearning on withdrawal, objection, restriction and erasure; plus exact unlearning on a
realistic data set (ml-latest-small) without a database."""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
import scipy.sparse as sp
from sqlalchemy import func, select
from typer.testing import CliRunner

from rujai.audit import service as audit_service
from rujai.catalog import service as catalog_service
from rujai.catalog.schemas import ItemCreate
from rujai.config import get_settings
from rujai.consent import service as consent_service
from rujai.errors import Conflict, PolicyDenied
from rujai.events import service as events_service
from rujai.kit.time import utcnow
from rujai.personalize import recommend as recommend_service, recommend_serving
from rujai.personalize.models import RecommenderMember, RecommenderModel
from rujai.personalize.recommender import EaseModel
from rujai.policy import service as policy_service
from rujai.policy.rules import Objection
from rujai.profiles import service as profiles_service
from rujai.profiles.models import Subject
from tests.conftest import EXAMPLE_POLICY, SHARED_DATA, TEST_MASTER_KEY
from tests.factories import consent_change, make_consent, rights_permit, track_event

L2 = 5.0
N_ITEMS = 10
ITEMS = [f"SKU-R{n:02d}" for n in range(N_ITEMS)]
ML_RATINGS = SHARED_DATA / "ml-latest-small" / "ratings.csv"


@pytest.fixture(autouse=True)
def _fresh_caches():
    recommend_service.clear_caches()
    yield
    recommend_service.clear_caches()


# --- building a small shop -----------------------------------------------------------------------


def _earlier():
    return utcnow() - timedelta(hours=2)


def _catalogue(session, *, inactive=()):
    items = [
        ItemCreate(
            id=sku, name_th=f"สินค้าทดสอบ {n}", name_en=f"Test product {n}",
            product_category="kitchen" if n % 2 else "bedroom", price_thb=Decimal("199.00"),
            is_active=sku not in inactive,
        )
        for n, sku in enumerate(ITEMS)
    ]  # fmt: skip
    catalog_service.upsert_many(session, items=items, now=_earlier())


def _events_of(customer: str, n: int, when):
    """Views, a cart and a purchase of a subject-specific, overlapping set of items."""
    views = [ITEMS[n % N_ITEMS], ITEMS[(3 * n + 2) % N_ITEMS], ITEMS[(5 * n + 7) % N_ITEMS]]
    events = [track_event("product_view", customer_id=customer, timestamp=when, item_id=sku)
              for sku in views]  # fmt: skip
    events.append(
        track_event("add_to_cart", customer_id=customer, timestamp=when,
                    item_id=ITEMS[(2 * n + 5) % N_ITEMS], quantity=1)
    )  # fmt: skip
    events.append(
        track_event("purchase", customer_id=customer, timestamp=when, order_id=f"ORD-{n}",
                    item_id=ITEMS[(n + 1) % N_ITEMS], quantity=1, amount=199.0)
    )  # fmt: skip
    return events


def _purchase(customer, order_id, sku):
    return track_event(
        "purchase", customer_id=customer, timestamp=_earlier(), order_id=order_id, item_id=sku,
        quantity=1, amount=9.0,
    )  # fmt: skip


def _ingest(session, keyring, policy, events, *, partner=False):
    return events_service.ingest(
        session, keyring=keyring, policy=policy, events=events,
        source="import" if partner else "api", is_partner_data=partner, now=_earlier(),
        actor="test",
    )  # fmt: skip


def _shop(session, keyring, policy, *, consenting=12, others=()):
    """Items, ``consenting`` subjects who granted recommendations, and ``others`` who did not."""
    _catalogue(session)
    when = _earlier()
    customers = [f"C-REC-{n:02d}" for n in range(consenting)]
    for customer in customers:
        make_consent(session, keyring, policy, customer_id=customer, now=when)
    events = []
    for n, customer in enumerate([*customers, *others]):
        events += _events_of(customer, n, when - timedelta(minutes=5))
    _ingest(session, keyring, policy, events)
    return {c: profiles_service.find_id(session, keyring=keyring, customer_id=c)
            for c in [*customers, *others]}  # fmt: skip


def _train(session, keyring, policy, **kwargs):
    kwargs.setdefault("l2", L2)
    return recommend_service.train(session, keyring=keyring, policy=policy, now=utcnow(), **kwargs)


def _newest(session):
    return session.execute(
        select(RecommenderModel.version, RecommenderModel.parent_version,
               RecommenderModel.change, RecommenderModel.blob, RecommenderModel.item_ids)
        .order_by(RecommenderModel.id.desc()).limit(1)
    ).one()  # fmt: skip


def _members(session):
    return set(session.scalars(select(RecommenderMember.subject_id)))


def _retrain_gap(session, keyring, policy, model):
    """Max |score difference| between ``model`` and a from-scratch retrain over its items."""
    current = recommend_service.training_set(session, keyring=keyring, policy=policy, now=utcnow())
    retrained = EaseModel.fit(current.matrix, l2=L2, items=model.items)
    cols = model.items
    scores = model.scores(current.matrix)[:, cols]
    return float(np.abs(scores - retrained.scores(current.matrix)[:, cols]).max()), current


# --- training ------------------------------------------------------------------------------------


def test_training_set_holds_only_subjects_whose_consent_covers_recommendations(
    session, keyring, policy
):
    """TH-CON-03, TH-DSR-05, EU-02: no consent, restricted or objecting subjects never train."""
    ids = _shop(session, keyring, policy, consenting=6, others=("C-REC-NONE",))
    now = utcnow()
    profiles_service.set_restricted(session, subject_id=ids["C-REC-01"], restricted=True, now=now)
    profiles_service.set_objection(
        session, subject_id=ids["C-REC-02"], objection=Objection.PROFILING, objected=True, now=now
    )
    data = recommend_service.training_set(session, keyring=keyring, policy=policy, now=utcnow())
    expected = {ids[f"C-REC-0{n}"] for n in (0, 3, 4, 5)}
    assert set(data.subject_ids) == expected
    assert data.item_ids == ITEMS
    assert data.matrix.shape == (4, N_ITEMS)
    info = _train(session, keyring, policy)
    assert _members(session) == expected
    assert (info.n_users, info.version) == (4, _newest(session).version)


def test_training_set_reads_only_the_categories_asked_for(session, keyring, policy):
    """Only purchase_history: only purchases, never views or carts."""
    ids = _shop(session, keyring, policy, consenting=3)
    data = recommend_service.training_set(
        session, keyring=keyring, policy=policy, now=utcnow(), categories=("purchase_history",)
    )
    customer_of = {sid: customer for customer, sid in ids.items()}
    assert len(data.subject_ids) == 3
    for row, sid in enumerate(data.subject_ids):
        n = int(customer_of[sid][-2:])
        bought = ITEMS[(n + 1) % N_ITEMS]
        assert [data.item_ids[j] for j in data.matrix[row].indices] == [bought]


def test_partner_data_stays_out_of_training_until_the_subject_is_notified(session, keyring, policy):
    """TH-IND-01: a partner's purchase is used only once the subject was told."""
    ids = _shop(session, keyring, policy, consenting=2)
    sid = ids["C-REC-00"]
    partner = track_event("purchase", customer_id="C-REC-00", timestamp=_earlier(),
                          order_id="P-1", item_id=ITEMS[9], quantity=1, amount=50.0)  # fmt: skip
    assert _ingest(session, keyring, policy, [partner], partner=True).accepted == 1

    def items_of_subject():
        data = recommend_service.training_set(session, keyring=keyring, policy=policy, now=utcnow())
        row = data.matrix[data.subject_ids.index(sid)]
        return {data.item_ids[j] for j in row.indices}

    assert ITEMS[9] not in items_of_subject()
    session.get(Subject, sid).partner_notified_at = utcnow()
    session.flush()
    assert ITEMS[9] in items_of_subject()


def test_train_stores_a_version_its_members_and_an_audit_entry(session, keyring, policy):
    ids = _shop(session, keyring, policy, consenting=5)
    info = _train(session, keyring, policy)
    newest = _newest(session)
    assert (newest.version, newest.change, newest.parent_version) == (info.version, "fit", None)
    assert newest.item_ids == ITEMS
    permit = rights_permit(session, keyring, policy, ids["C-REC-00"])
    membership = recommend_service.export_subject(
        session, permit=permit, subject_id=ids["C-REC-00"]
    )
    assert membership.current_version == membership.model_version == info.version
    assert set(membership.item_ids) == {ITEMS[0], ITEMS[2], ITEMS[7], ITEMS[5], ITEMS[1]}
    entry = audit_service.list_entries(session, action="recommender.train", limit=1)[0]
    assert entry.detail["version"] == info.version
    assert entry.detail["n_users"] == 5
    assert not {c for c in ids if c in str(entry.detail)}  # no customer ids in the audit
    assert info.fit_s >= 0


def test_versions_increase_and_old_blobs_are_bounded(session, keyring, policy):
    _shop(session, keyring, policy, consenting=4)
    versions = [_train(session, keyring, policy, l2=float(l2)).version for l2 in (1, 2, 3, 4, 5)]
    assert len(set(versions)) == 5
    assert [int(v.split("-")[0]) for v in versions] == [1, 2, 3, 4, 5]
    sizes = session.execute(
        select(RecommenderModel.version, func.length(RecommenderModel.blob))
        .order_by(RecommenderModel.id)
    ).all()  # fmt: skip
    assert [v for v, _ in sizes] == versions
    assert [size > 0 for _, size in sizes] == [False, False, True, True, True]


# --- exact unlearning ----------------------------------------------------------------------------


def _withdraw(session, keyring, policy, ids, customer):
    consent_service.record(
        session, keyring=keyring, policy=policy, customer_id=customer,
        change=consent_change(policy, "recommendations", "withdraw"), now=utcnow(),
        evidence_ip=None, evidence_user_agent=None,
    )  # fmt: skip


def _restrict(session, keyring, policy, ids, customer):
    profiles_service.set_restricted(
        session, subject_id=ids[customer], restricted=True, now=utcnow()
    )


def _object(session, keyring, policy, ids, customer):
    profiles_service.set_objection(
        session, subject_id=ids[customer], objection=Objection.PROFILING, objected=True,
        now=utcnow(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("narrow", "reason"),
    [(_withdraw, "withdrawn"), (_restrict, "restricted"), (_object, "objected_profiling")],
    ids=["TH-CON-03-withdrawal", "TH-DSR-05-restriction", "EU-02-objection"],
)
def test_narrowing_unlearns_exactly_as_a_retrain_without_the_subject(
    session, keyring, policy, narrow, reason
):
    """Acceptance: every other member's scores equal a retrain without the subject (<= 1e-6)."""
    ids = _shop(session, keyring, policy)
    before = _train(session, keyring, policy)
    old = EaseModel.from_bytes(_newest(session).blob)
    narrow(session, keyring, policy, ids, "C-REC-03")
    newest = _newest(session)
    assert (newest.change, newest.parent_version) == ("unlearn", before.version)
    model = EaseModel.from_bytes(newest.blob)
    gap, current = _retrain_gap(session, keyring, policy, model)
    assert gap <= 1e-6
    assert _retrain_gap(session, keyring, policy, old)[0] > 1e-3  # the subject mattered
    assert ids["C-REC-03"] not in current.subject_ids
    assert _members(session) == set(current.subject_ids)
    permit = rights_permit(session, keyring, policy, ids["C-REC-03"])
    assert (
        recommend_service.export_subject(session, permit=permit, subject_id=ids["C-REC-03"]) is None
    )
    entry = audit_service.list_entries(session, action="recommender.unlearn", limit=1)[0]
    assert (entry.detail["version"], entry.detail["reason"]) == (newest.version, reason)
    assert entry.subject_id == ids["C-REC-03"]


def test_unlearning_empties_every_older_blob(session, keyring, policy):
    """TH-DSR-04: older versions still hold the subject, so only their metadata stays."""
    ids = _shop(session, keyring, policy, consenting=6)
    _train(session, keyring, policy)
    _train(session, keyring, policy, l2=7.0)
    _withdraw(session, keyring, policy, ids, "C-REC-01")
    sizes = session.execute(
        select(RecommenderModel.change, func.length(RecommenderModel.blob))
        .order_by(RecommenderModel.id)
    ).all()  # fmt: skip
    assert [(c, s > 0) for c, s in sizes] == [("fit", False), ("fit", False), ("unlearn", True)]


def test_erase_subject_unlearns_and_removes_the_membership(session, keyring, policy):
    """TH-DSR-04: erasure reaches the model, exactly."""
    ids = _shop(session, keyring, policy, consenting=6)
    _train(session, keyring, policy)
    sid = ids["C-REC-04"]
    assert recommend_service.erase_subject(session, subject_id=sid, now=utcnow()) == 1
    assert recommend_service.erase_subject(session, subject_id=sid, now=utcnow()) == 0
    assert sid not in _members(session)
    model = EaseModel.from_bytes(_newest(session).blob)
    assert model.n_users == 5
    data = recommend_service.training_set(session, keyring=keyring, policy=policy, now=utcnow())
    others = [data.subject_ids.index(s) for s in data.subject_ids if s != sid]
    retrained = EaseModel.fit(data.matrix[others], l2=L2, items=model.items)
    x = data.matrix[others]
    gap = np.abs(model.scores(x)[:, model.items] - retrained.scores(x)[:, model.items]).max()
    assert gap <= 1e-6


def test_unlearning_a_non_member_changes_nothing(session, keyring, policy):
    ids = _shop(session, keyring, policy, consenting=3, others=("C-REC-NONE",))
    info = _train(session, keyring, policy)
    sid = ids["C-REC-NONE"]
    assert (
        recommend_service.unlearn_subject(session, subject_id=sid, now=utcnow(), reason="x") is None
    )
    assert _newest(session).version == info.version


def test_a_withdrawal_during_training_is_unlearned_before_the_model_is_served(
    session, keyring, policy, monkeypatch
):
    """TH-CON-03: the subject read as consenting but withdrew before training finished."""
    ids = _shop(session, keyring, policy, consenting=6)
    real = recommend_service.training_set

    def read_then_withdraw(session, **kwargs):
        data = real(session, **kwargs)
        _withdraw(session, keyring, policy, ids, "C-REC-02")
        return data

    monkeypatch.setattr(recommend_service, "training_set", read_then_withdraw)
    info = _train(session, keyring, policy)
    newest = _newest(session)
    assert (info.version, newest.change, info.n_users) == (newest.version, "unlearn", 5)
    assert ids["C-REC-02"] not in _members(session)
    gap, _ = _retrain_gap(session, keyring, policy, EaseModel.from_bytes(newest.blob))
    assert gap <= 1e-6


def test_two_withdrawals_in_parallel_are_both_unlearned(factory, keyring, policy):
    """Model updates are serialised and always applied on top of the newest version."""
    with factory() as s, s.begin():
        ids = _shop(s, keyring, policy, consenting=8)
        _train(s, keyring, policy)
    barrier = threading.Barrier(2)

    def withdraw(customer):
        barrier.wait(timeout=30)
        with factory() as s, s.begin():
            _withdraw(s, keyring, policy, ids, customer)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(withdraw, ["C-REC-01", "C-REC-06"]))
    with factory() as s:
        assert {ids["C-REC-01"], ids["C-REC-06"]}.isdisjoint(_members(s))
        changes = s.scalars(select(RecommenderModel.change).order_by(RecommenderModel.id)).all()
        assert changes == ["fit", "unlearn", "unlearn"]
        model = EaseModel.from_bytes(_newest(s).blob)
        assert model.n_users == 6
        gap, current = _retrain_gap(s, keyring, policy, model)
    assert len(current.subject_ids) == 6
    assert gap <= 1e-6


def test_a_direct_unlearn_built_on_a_stale_version_is_a_conflict(session, keyring, policy):
    ids = _shop(session, keyring, policy, consenting=4)
    info = _train(session, keyring, policy)
    with pytest.raises(Conflict) as caught:
        recommend_service._lock(session, built_on=info.version + "-stale")
    assert caught.value.field == "model_version"
    permit = rights_permit(session, keyring, policy, ids["C-REC-00"])
    assert (
        recommend_service.export_subject(session, permit=permit, subject_id=ids["C-REC-00"])
        is not None
    )


def test_learn_subject_folds_a_new_consenting_subject_in_exactly(session, keyring, policy):
    _shop(session, keyring, policy, consenting=5)
    _train(session, keyring, policy)
    late = "C-REC-LATE"
    make_consent(session, keyring, policy, customer_id=late, now=_earlier())
    _ingest(session, keyring, policy, _events_of(late, 7, _earlier()))
    sid = profiles_service.find_id(session, keyring=keyring, customer_id=late)
    version = recommend_service.learn_subject(
        session, keyring=keyring, policy=policy, subject_id=sid, now=utcnow()
    )
    assert version == _newest(session).version
    assert _newest(session).change == "learn"
    assert sid in _members(session)
    gap, current = _retrain_gap(
        session, keyring, policy, EaseModel.from_bytes(_newest(session).blob)
    )
    assert sid in current.subject_ids
    assert gap <= 1e-6
    assert len(_members(session)) == 6
    again = recommend_service.learn_subject(
        session, keyring=keyring, policy=policy, subject_id=sid, now=utcnow()
    )
    assert again is None


# --- serving -------------------------------------------------------------------------------------


def test_recommend_for_a_member_explains_with_items_they_interacted_with(session, keyring, policy):
    ids = _shop(session, keyring, policy)
    info = _train(session, keyring, policy)
    sid = ids["C-REC-00"]
    permit = rights_permit(session, keyring, policy, sid)
    seen = set(recommend_service.export_subject(session, permit=permit, subject_id=sid).item_ids)
    recs = recommend_service.recommend_for(session, subject_id=sid, k=3, now=utcnow())
    assert recs.personalized
    assert recs.model_version == info.version
    assert 1 <= len(recs.items) <= 3
    assert [i.score for i in recs.items] == sorted((i.score for i in recs.items), reverse=True)
    for item in recs.items:
        assert item.item_id not in seen
        assert set(item.because) <= seen
        assert len(item.because) <= 2


def test_recommend_for_skips_excluded_and_inactive_items(session, keyring, policy):
    ids = _shop(session, keyring, policy)
    _train(session, keyring, policy)
    sid = ids["C-REC-00"]
    first = recommend_service.recommend_for(session, subject_id=sid, k=2, now=utcnow())
    top = first.items[0].item_id
    catalog_service.deactivate(session, item_id=first.items[1].item_id, now=utcnow())
    recommend_service.clear_caches()
    recs = recommend_service.recommend_for(
        session, subject_id=sid, k=N_ITEMS, exclude=[top], now=utcnow()
    )
    returned = {i.item_id for i in recs.items}
    assert top not in returned
    assert first.items[1].item_id not in returned


def test_recommend_for_a_consenting_non_member_reads_their_recent_events(session, keyring, policy):
    _shop(session, keyring, policy, consenting=6)
    _train(session, keyring, policy)
    make_consent(session, keyring, policy, customer_id="C-REC-NEW", now=_earlier())
    _ingest(session, keyring, policy, _events_of("C-REC-NEW", 4, _earlier()))
    sid = profiles_service.find_id(session, keyring=keyring, customer_id="C-REC-NEW")
    assert sid not in _members(session)
    blind = recommend_service.recommend_for(session, subject_id=sid, k=3, now=utcnow())
    assert (blind.personalized, blind.items) == (False, [])
    permit = policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=sid, purpose="recommendations",
        categories=("purchase_history", "browsing"), now=utcnow(), actor="test",
    )  # fmt: skip
    recs = recommend_service.recommend_for(
        session, subject_id=sid, k=3, now=utcnow(), keyring=keyring, permit=permit
    )
    assert recs.personalized
    assert all(i.because for i in recs.items)
    make_consent(session, keyring, policy, customer_id="C-REC-NEW2", now=_earlier())
    _ingest(session, keyring, policy, _events_of("C-REC-NEW2", 4, _earlier()))
    stranger = profiles_service.find_id(session, keyring=keyring, customer_id="C-REC-NEW2")
    with pytest.raises(PolicyDenied):  # a permit for one subject reads nobody else's events
        recommend_service.recommend_for(
            session, subject_id=stranger, k=3, now=utcnow(), keyring=keyring, permit=permit
        )


def test_recommend_for_without_a_model_or_subject_is_not_personalized(session, keyring, policy):
    ids = _shop(session, keyring, policy, consenting=2)
    for sid in (ids["C-REC-00"], None):
        recs = recommend_service.recommend_for(session, subject_id=sid, k=3, now=utcnow())
        assert (recs.personalized, recs.model_version, recs.items) == (False, None, [])


def test_popular_ranks_purchases_without_any_consent(session, keyring, policy):
    """Purchases (contract) counted as an anonymous aggregate; nobody consented to anything."""
    _catalogue(session)
    buys = {ITEMS[3]: 3, ITEMS[6]: 2, ITEMS[1]: 1}
    events, n = [], 0
    for sku, times in buys.items():
        for _ in range(times):
            n += 1
            events.append(_purchase(f"C-POP-{n}", f"O-{n}", sku))
    assert _ingest(session, keyring, policy, events).accepted == 6
    assert recommend_service.popular(session, k=5) == []  # nothing counted yet
    assert recommend_service.refresh_popular(session, keyring=keyring, now=utcnow()) == 3
    assert recommend_service.popular(session, k=5) == [ITEMS[3], ITEMS[6], ITEMS[1]]
    assert recommend_service.popular(session, k=1, exclude=[ITEMS[3]]) == [ITEMS[6]]
    assert recommend_service.popular(session, k=5, category="bedroom") == [ITEMS[6]]


def test_popular_leaves_out_restricted_subjects(session, keyring, policy):
    """TH-DSR-05: a restricted subject's data is not processed, not even into counts."""
    _catalogue(session)
    events = [_purchase(f"C-POP-{n}", f"O-{n}", ITEMS[n]) for n in (1, 2)]
    _ingest(session, keyring, policy, events)
    restricted = profiles_service.find_id(session, keyring=keyring, customer_id="C-POP-2")
    profiles_service.set_restricted(session, subject_id=restricted, restricted=True, now=utcnow())
    recommend_service.refresh_popular(session, keyring=keyring, now=utcnow())
    assert recommend_service.popular(session, k=5) == [ITEMS[1]]


def test_the_serving_cache_deserialises_once_and_picks_up_new_versions(
    session, keyring, policy, monkeypatch
):
    ids = _shop(session, keyring, policy)
    first = _train(session, keyring, policy)
    loads = []
    real = EaseModel.from_bytes
    monkeypatch.setattr(
        EaseModel, "from_bytes", classmethod(lambda cls, blob: loads.append(1) or real(blob))
    )
    sid = ids["C-REC-05"]
    for _ in range(3):
        recs = recommend_service.recommend_for(session, subject_id=sid, k=3, now=utcnow())
        assert recs.model_version == first.version
    assert len(loads) == 1  # decide never deserialises per request
    _withdraw(session, keyring, policy, ids, "C-REC-01")  # this process re-checks at once
    second = _newest(session).version
    recs = recommend_service.recommend_for(session, subject_id=sid, k=3, now=utcnow())
    assert recs.model_version == second != first.version
    # Another process's new version is seen within CHECK_EVERY_S.
    session.execute(
        RecommenderModel.__table__.insert().values(
            version="99-otherprocess", parent_version=second, change="learn", n_users=1,
            n_items=1, item_ids=ITEMS, blob=_newest(session).blob, created_at=utcnow(),
        )
    )  # fmt: skip
    still = recommend_service.recommend_for(session, subject_id=sid, k=3, now=utcnow())
    assert still.model_version == second  # checked less than a second ago
    monkeypatch.setattr(recommend_serving, "CHECK_EVERY_S", 0.0)
    later = recommend_service.recommend_for(session, subject_id=sid, k=3, now=utcnow())
    assert later.model_version == "99-otherprocess"


def test_show_for_customer_checks_the_policy_and_audits(session, keyring, policy):
    ids = _shop(session, keyring, policy, consenting=5)
    _train(session, keyring, policy)
    recs = recommend_service.show_for_customer(
        session, keyring=keyring, policy=policy, customer_id="C-REC-01", k=2, now=utcnow(),
        actor="admin-test",
    )  # fmt: skip
    assert recs.personalized
    _withdraw(session, keyring, policy, ids, "C-REC-01")
    refused = recommend_service.show_for_customer(
        session, keyring=keyring, policy=policy, customer_id="C-REC-01", k=2, now=utcnow(),
        actor="admin-test",
    )  # fmt: skip
    assert (refused.personalized, refused.reason) == (False, "withdrawn")
    checks = audit_service.list_entries(session, subject_id=ids["C-REC-01"], action="policy.check")
    assert [e.actor for e in checks] == ["admin-test", "admin-test"]


# --- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_train_prints_the_version_and_show_prints_the_recommendations(
    cli_env, factory, keyring, policy
):
    from rujai.cli.recs import app

    with factory() as s, s.begin():
        _shop(s, keyring, policy, consenting=5)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--l2", "5"])
    assert trained.exit_code == 0, trained.output
    with factory() as s:
        version = _newest(s).version
        n_items = s.scalar(select(RecommenderModel.n_items))
    assert f"model {version}: 5 users, {n_items} items, fit " in trained.stdout
    shown = runner.invoke(app, ["show", "C-REC-02", "--k", "2"])
    assert shown.exit_code == 0, shown.output
    assert f"model {version}" in shown.stdout
    assert "SKU-R" in shown.stdout
    unknown = runner.invoke(app, ["show", "C-NOBODY"])
    assert unknown.exit_code == 1


# --- a realistic size, without the database ------------------------------------------------------


def _ml_positives():
    ratings = np.loadtxt(ML_RATINGS, delimiter=",", skiprows=1, usecols=(0, 1, 2))
    _, users = np.unique(ratings[:, 0], return_inverse=True)
    _, items = np.unique(ratings[:, 1], return_inverse=True)
    keep = ratings[:, 2] >= 4.0
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    x = sp.csr_matrix((np.ones(int(keep.sum())), (users[keep], items[keep])), shape=shape)
    often = np.flatnonzero(np.asarray(x.sum(axis=0)).ravel() >= 5)  # as bench/recs.py does
    return x[:, often].tocsr()


def test_unlearning_a_median_user_of_ml_latest_small_equals_a_retrain():
    """TH-DSR-04 at a realistic size: <= 1e-6 from a retrain, in <= 2 % of its time."""
    x = _ml_positives()
    model = EaseModel.fit(x, l2=500.0)
    activity = np.diff(x.indptr)
    active = np.flatnonzero(activity > 0)
    user = int(active[np.argsort(activity[active], kind="stable")[active.size // 2]])
    others = np.delete(np.arange(x.shape[0]), user)
    started = time.perf_counter()
    retrained = EaseModel.fit(x[others], l2=500.0, items=model.items)
    retrain_s = time.perf_counter() - started
    unlearn_s = []
    for repeat in range(3):
        started = time.perf_counter()
        model.unlearn(x[user])
        unlearn_s.append(time.perf_counter() - started)
        if repeat < 2:
            model.learn(x[user])
    gap = np.abs(model.scores(x[others]) - retrained.scores(x[others])).max()
    assert gap <= 1e-6
    assert model.n_users == retrained.n_users == x.shape[0] - 1
    assert min(unlearn_s) <= 0.02 * retrain_s, (min(unlearn_s), retrain_s)
