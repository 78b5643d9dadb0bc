"""EASE recommender: exact unlearning (TH-DSR-04, TH-CON-03), fallback, explanations, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from rujai.errors import Invalid
from rujai.personalize.recommender import (
    EaseModel,
    PopularityModel,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

TOLERANCE = 1e-6


def _interactions(seed: int = 0, users: int = 200, items: int = 120) -> sp.csr_matrix:
    """Binary users x items with popular and niche items, so scores are not trivial."""
    rng = np.random.default_rng(seed)
    popularity = rng.uniform(0.01, 0.25, size=items)
    return sp.csr_matrix((rng.random((users, items)) < popularity).astype(np.float64))


def _without(x: sp.csr_matrix, user: int) -> sp.csr_matrix:
    keep = np.delete(np.arange(x.shape[0]), user)
    return x[keep]


def _max_diff(a: EaseModel, b: EaseModel, rows: sp.csr_matrix) -> float:
    items = a.items
    return float(np.abs(a.scores(rows)[:, items] - b.scores(rows)[:, items]).max())


def _reference_scores(x: sp.csr_matrix, l2: float) -> np.ndarray:
    """Textbook EASE: B = I - P / diag(P) with a zero diagonal, scores X·B."""
    n = x.shape[1]
    p = np.linalg.inv((x.T @ x).toarray() + l2 * np.eye(n))
    b = np.eye(n) - p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return np.asarray(x @ b)


def test_scores_match_textbook_ease():
    x = _interactions()
    model = EaseModel.fit(x, l2=10.0, items=np.arange(x.shape[1]))
    assert np.abs(model.scores(x) - _reference_scores(x, 10.0)).max() <= 1e-10


@pytest.mark.parametrize("user", [0, 17, 99, 150, 199])
def test_unlearn_equals_retrain_from_scratch(user):
    """TH-DSR-04: after unlearning, every other user's scores equal a retrain without the user."""
    x = _interactions()
    model = EaseModel.fit(x, l2=20.0)
    model.unlearn(x[user])
    retrained = EaseModel.fit(_without(x, user), l2=20.0, items=model.items)
    assert _max_diff(model, retrained, _without(x, user)) <= TOLERANCE
    assert model.n_users == retrained.n_users == x.shape[0] - 1


def test_unlearn_several_users_in_a_row_equals_retrain():
    x = _interactions(seed=3)
    model = EaseModel.fit(x, l2=15.0)
    for user in (5, 40, 41, 120):
        model.unlearn(x[user])
    rest = x[np.setdiff1d(np.arange(x.shape[0]), [5, 40, 41, 120])]
    retrained = EaseModel.fit(rest, l2=15.0, items=model.items)
    assert _max_diff(model, retrained, rest) <= TOLERANCE


def test_unlearn_keeps_an_item_that_loses_all_interactions():
    """The vocabulary is fixed: an item only the erased user touched keeps its row (TH-DSR-04)."""
    x = _interactions().tolil()
    x[:, 0] = 0
    x[3, 0] = 1
    x = x.tocsr()
    model = EaseModel.fit(x, l2=10.0)
    model.unlearn(x[3])
    retrained = EaseModel.fit(_without(x, 3), l2=10.0, items=model.items)
    assert 0 in model.items
    assert _max_diff(model, retrained, _without(x, 3)) <= TOLERANCE


def test_unlearn_accepts_an_item_index_array_like_a_sparse_row():
    x = _interactions()
    by_row, by_ids = EaseModel.fit(x, l2=10.0), EaseModel.fit(x, l2=10.0)
    by_row.unlearn(x[8])
    by_ids.unlearn(x[8].indices)
    assert _max_diff(by_row, by_ids, x) == 0.0


def test_learn_then_unlearn_returns_to_the_original_scores():
    x = _interactions()
    model = EaseModel.fit(x, l2=10.0)
    before, items = model.scores(x), model.items
    newcomer = np.array([1, 5, 9, 33, 70])
    model.learn(newcomer)
    assert np.abs(model.scores(x)[:, items] - before[:, items]).max() > TOLERANCE
    model.unlearn(newcomer)
    assert np.abs(model.scores(x)[:, items] - before[:, items]).max() <= TOLERANCE


def test_learn_equals_fit_with_the_new_user():
    x = _interactions()
    model = EaseModel.fit(x[:-1], l2=10.0, items=np.arange(x.shape[1]))
    model.learn(x[-1])
    assert _max_diff(model, EaseModel.fit(x, l2=10.0, items=model.items), x) <= TOLERANCE


@settings(max_examples=40, deadline=None)
@given(
    matrix=arrays(np.bool_, st.tuples(st.integers(2, 12), st.integers(1, 9))),
    pick=st.integers(0, 1000),
    l2=st.floats(1.0, 50.0),
)
def test_unlearn_equals_retrain_for_any_small_matrix(matrix, pick, l2):
    """Property (TH-DSR-04): unlearning any user of any small matrix equals retraining."""
    x = sp.csr_matrix(matrix.astype(np.float64))
    user = pick % x.shape[0]
    model = EaseModel.fit(x, l2=l2, items=np.arange(x.shape[1]))
    model.unlearn(x[user])
    retrained = EaseModel.fit(_without(x, user), l2=l2, items=model.items)
    assert _max_diff(model, retrained, _without(x, user)) <= TOLERANCE
    assert model.version.split("-")[1] == retrained.version.split("-")[1]


def test_unlearn_refuses_a_row_with_an_item_nobody_has_and_changes_nothing():
    x = _interactions().tolil()
    x[:, 4] = 0
    x = x.tocsr()
    model = EaseModel.fit(x, l2=10.0, items=np.arange(x.shape[1]))
    version = model.version
    with pytest.raises(Invalid) as caught:
        model.unlearn(np.array([2, 4]))
    assert caught.value.field == "user_row"
    assert model.version == version


def test_recommend_excludes_seen_items():
    x = _interactions()
    model = EaseModel.fit(x, l2=10.0)
    for user in range(20):
        items, scores = model.recommend(x[user], 10)
        assert not set(items) & set(x[user].indices)
        assert len(items) == 10
        assert np.all(np.diff(scores) <= 0)


def test_recommend_may_include_seen_items_when_exclude_seen_is_false():
    x = _interactions()
    model = EaseModel.fit(x, l2=10.0)
    items, _ = model.recommend(x[0], x.shape[1], exclude_seen=False)
    assert set(x[0].indices) <= set(items)


def test_recommend_never_returns_items_outside_the_vocabulary():
    x = _interactions()
    counts = np.asarray(x.sum(axis=0)).ravel()
    model = EaseModel.fit(x, l2=10.0, min_item_count=int(np.median(counts)))
    items, _ = model.recommend(np.array([], dtype=np.int64), x.shape[1])
    assert set(items) == set(model.items) < set(range(x.shape[1]))
    assert np.all(np.isneginf(model.scores(x[:3])[:, np.setdiff1d(np.arange(120), model.items)]))


def test_explain_returns_only_items_the_user_interacted_with():
    x = _interactions()
    model = EaseModel.fit(x, l2=10.0)
    for user in range(10):
        item = int(model.recommend(x[user], 1)[0][0])
        reasons = model.explain(x[user], item, limit=3)
        assert reasons
        assert len(reasons) <= 3
        assert {seen for seen, _ in reasons} <= set(x[user].indices)
        assert all(weight > 0 for _, weight in reasons)


def test_explain_contributions_are_the_item_weights_and_sum_to_the_score():
    x = _interactions()
    model = EaseModel.fit(x, l2=10.0)
    user, item = 4, int(model.recommend(x[4], 1)[0][0])
    p = np.linalg.inv((x.T @ x).toarray() + 10.0 * np.eye(x.shape[1]))
    weights = -p[:, item] / p[item, item]
    reasons = model.explain(x[user], item, limit=x.shape[1])
    for seen, weight in reasons:
        assert weight == pytest.approx(weights[seen], abs=1e-12)
    positive = sum(w for w in weights[x[user].indices] if w > 0)
    assert sum(w for _, w in reasons) == pytest.approx(positive, abs=1e-12)


def test_version_changes_on_fit_learn_and_unlearn():
    x = _interactions()
    model = EaseModel.fit(x, l2=10.0)
    versions = [model.version]
    model.unlearn(x[0])
    versions.append(model.version)
    model.learn(x[0])
    versions.append(model.version)
    assert len(set(versions)) == 3
    assert EaseModel.fit(x, l2=10.0, generation=4).version != versions[0]
    assert versions[2].split("-")[1] == versions[0].split("-")[1]


def test_to_bytes_round_trips_scores_version_and_unlearning():
    x = _interactions()
    model = EaseModel.fit(x, l2=10.0, min_item_count=3)
    copy = EaseModel.from_bytes(model.to_bytes())
    assert copy.version == model.version
    np.testing.assert_array_equal(copy.scores(x), model.scores(x))
    copy.unlearn(x[2])
    model.unlearn(x[2])
    assert _max_diff(copy, model, x) == 0.0


def test_from_bytes_rejects_bytes_that_are_not_a_model():
    with pytest.raises(Invalid) as caught:
        EaseModel.from_bytes(b"not a model")
    assert caught.value.field == "data"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"l2": 0.0}, "l2"),
        ({"l2": 1.0, "min_item_count": 0}, "min_item_count"),
        ({"l2": 1.0, "items": [3, 1]}, "items"),
        ({"l2": 1.0, "items": []}, "items"),
        ({"l2": 1.0, "min_item_count": 10**6}, "min_item_count"),
    ],
)
def test_fit_rejects_invalid_arguments_naming_the_field(kwargs, field):
    with pytest.raises(Invalid) as caught:
        EaseModel.fit(_interactions(), **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize("row", [np.array([-1]), np.array([120]), np.array([[1, 2]])])
def test_recommend_rejects_item_indices_out_of_range(row):
    model = EaseModel.fit(_interactions(), l2=10.0)
    with pytest.raises(Invalid) as caught:
        model.recommend(row, 5)
    assert caught.value.field == "user_row"


def test_popularity_recommends_most_popular_unseen_items_and_unlearns():
    x = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 0, 0]], dtype=np.float64))
    model = PopularityModel.fit(x)
    items, scores = model.recommend(np.array([0]), 5)
    assert items.tolist() == [1, 2]
    assert scores.tolist() == [2.0, 1.0]
    model.unlearn(x[2])
    assert model.recommend(np.array([], dtype=np.int64), 5)[0].tolist() == [0, 1, 2]
    with pytest.raises(Invalid):
        model.unlearn(np.array([3]))


def test_metrics_match_a_hand_computed_example():
    ranked = [np.array([3, 1, 7]), np.array([2, 5, 6]), np.array([9, 8, 4])]
    relevant = [{1, 7, 8}, {6}, set()]
    # user 0: hits at ranks 2 and 3 of 3 relevant; user 1: hit at rank 3; user 2 has none: skipped
    assert precision_at_k(ranked, relevant, 3) == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert recall_at_k(ranked, relevant, 3) == pytest.approx((2 / 3 + 1 / 1) / 2)
    ndcg0 = (1 / np.log2(3) + 1 / np.log2(4)) / (1 + 1 / np.log2(3) + 1 / np.log2(4))
    ndcg1 = (1 / np.log2(4)) / 1
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx((ndcg0 + ndcg1) / 2)
    assert ndcg_at_k(ranked, relevant, 1) == 0.0


def test_metrics_reject_mismatched_inputs():
    with pytest.raises(Invalid) as caught:
        ndcg_at_k([np.array([1])], [{1}, {2}], 10)
    assert caught.value.field == "relevant"
