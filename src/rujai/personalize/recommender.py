"""Item-based recommender over implicit feedback with exact unlearning, a fallback and metrics.

``EaseModel`` is EASE (Steck 2019): ``P = (XᵀX + λI)⁻¹``, item weights ``B = I - P·diag(1/diag(P))``
(zero diagonal), scores ``x·B = x - (x·P) / diag(P)``. Only ``P`` is stored (float64), never ``B``.

Removing a user changes ``G`` by ``-xᵀx``, a rank-one change, so ``unlearn`` applies the
Sherman-Morrison formula to ``P`` in place (one BLAS ``dger``: O(n·k + n²)), and the scores of
every other user equal those of a model retrained from scratch without that user, up to rounding.
This is how withdrawal (TH-CON-03), objection (TH-DSR-03), erasure (TH-DSR-04) and restriction
(TH-DSR-05) reach the model. ``learn`` folds a new consenting user in the same way.

The item vocabulary is fixed at ``fit`` (items with at least ``min_item_count`` interactions, or an
explicit list) and never changes under ``learn``/``unlearn``: interactions with items outside it
are ignored, and out-of-vocabulary items score ``-inf`` and are never recommended.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import blas, lapack

from rujai.errors import Invalid

UserRow: TypeAlias = "sp.csr_matrix | sp.csr_array | NDArray[np.integer[Any]] | Sequence[int]"
"""One user's interactions: a 1 x n_items sparse row or an array of item indices."""

Ranked: TypeAlias = "tuple[NDArray[np.int64], NDArray[np.float64]]"
Lists: TypeAlias = "Sequence[ArrayLike]"
Relevant: TypeAlias = "Sequence[Collection[int]]"

_FORMAT = 1
_BLOCK = 256
_MIN_DENOMINATOR = 1e-12
_MASK64 = (1 << 64) - 1
_NOT_TRAINED = "these interactions are not in the model's training set"


def _row_items(user_row: UserRow, n_items: int) -> NDArray[np.int64]:
    """Return the sorted, unique item indices of one user's interactions."""
    if sp.issparse(user_row):
        row = sp.csr_matrix(user_row)
        if row.shape != (1, n_items):
            raise Invalid(f"user_row must have shape (1, {n_items})", field="user_row")
        raw = row.indices[row.data != 0]
    else:
        raw = np.asarray(user_row)
        if raw.ndim != 1 or (raw.size and not np.issubdtype(raw.dtype, np.integer)):
            raise Invalid("user_row must be a sparse row or item indices", field="user_row")
    ids = np.unique(raw.astype(np.int64))
    if ids.size and (ids[0] < 0 or ids[-1] >= n_items):
        raise Invalid(f"item indices must lie in [0, {n_items})", field="user_row")
    return ids


def _binary_csr(interactions: Any) -> Any:
    """Return ``interactions`` as a canonical float64 CSR matrix of ones."""
    if not sp.issparse(interactions) or interactions.ndim != 2:
        raise Invalid("interactions must be a 2-D scipy sparse matrix", field="interactions")
    x = sp.csr_matrix(interactions, dtype=np.float64, copy=True)
    x.sum_duplicates()
    x.eliminate_zeros()
    x.data[:] = 1.0
    return x


def _row_hash(items: NDArray[np.int64]) -> int:
    """Hash one training row (its sorted item indices) to 64 bits."""
    digest = hashlib.blake2b(items.astype("<i8").tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _symmetrize_upper(p: NDArray[np.float64]) -> None:
    """Copy the upper triangle of square ``p`` onto its lower triangle, block by block."""
    n = p.shape[0]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        p[stop:, start:stop] = p[start:stop, stop:].T
        block = p[start:stop, start:stop]
        block[...] = np.triu(block) + np.triu(block, 1).T


def _inverse_gram(x: Any, l2: float) -> NDArray[np.float64]:
    """Return ``(XᵀX + l2·I)⁻¹`` as a C-contiguous float64 matrix, inverted in place."""
    n = x.shape[1]
    g = (x.T @ x).toarray(order="F")
    g.flat[:: n + 1] += l2
    chol, info = lapack.dpotrf(g, lower=0, overwrite_a=1, clean=0)
    if info != 0:
        raise Invalid("the Gram matrix is not positive definite; raise l2", field="l2")
    p, info = lapack.dpotri(chol, lower=0, overwrite_c=1)
    if info != 0:
        raise Invalid("the Gram matrix could not be inverted; raise l2", field="l2")
    _symmetrize_upper(p)
    return np.ascontiguousarray(p.T)


def _vocabulary(counts: NDArray[np.int64], min_item_count: int, items: ArrayLike | None) -> Any:
    """Return the sorted item vocabulary: ``items`` if given, else items counted often enough."""
    if items is None:
        if min_item_count < 1:
            raise Invalid("min_item_count must be at least 1", field="min_item_count")
        vocab = np.flatnonzero(counts >= min_item_count)
    else:
        vocab = np.asarray(items, dtype=np.int64)
        bad = vocab.ndim != 1 or np.any(np.diff(vocab) <= 0)
        if bad or (vocab.size and (vocab[0] < 0 or vocab[-1] >= counts.size)):
            raise Invalid("items must be sorted, unique, in-range item indices", field="items")
    if vocab.size == 0:
        raise Invalid(
            "the item vocabulary is empty", field="min_item_count" if items is None else "items"
        )
    return vocab.astype(np.int64)


def _top_k(scores: NDArray[np.float64], k: int, labels: NDArray[np.int64]) -> Ranked:
    """Return the ``k`` best finite scores (ties by lower label) with their labels."""
    if k < 0:
        raise Invalid("k must not be negative", field="k")
    k = min(k, int(np.isfinite(scores).sum()))
    if k == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.lexsort((labels[best], -scores[best]))]
    return labels[best], scores[best]


@dataclass(eq=False)
class _State:
    """Everything an ``EaseModel`` stores; ``to_bytes`` writes exactly these fields."""

    p: NDArray[np.float64]  # (XᵀX + l2·I)⁻¹ over the vocabulary, C-contiguous, symmetric
    items: NDArray[np.int64]  # the vocabulary: sorted item indices
    counts: NDArray[np.int64]  # users per vocabulary item
    n_items: int
    l2: float
    n_users: int
    generation: int
    content: int  # sum of the training rows' 64-bit hashes, mod 2**64


class EaseModel:
    """EASE item-item model with exact rank-one ``unlearn`` and ``learn``; see the module doc.

    Build one with ``fit`` or ``from_bytes``. Not thread-safe: ``learn``/``unlearn`` update the
    matrix in place, so serve from one copy and swap copies by ``version``.
    """

    def __init__(self, state: _State) -> None:
        self._s = state
        self._pos = np.full(state.n_items, -1, np.int64)
        self._pos[state.items] = np.arange(state.items.size)

    @classmethod
    def fit(
        cls,
        interactions: Any,
        *,
        l2: float,
        min_item_count: int = 1,
        items: ArrayLike | None = None,
        generation: int = 1,
    ) -> EaseModel:
        """Train on a binary users x items sparse matrix (non-zeros count as interactions).

        ``items`` fixes the vocabulary (used to retrain over the same items as an earlier model);
        otherwise it is the items with at least ``min_item_count`` interactions. Pass the previous
        model's ``generation + 1`` as ``generation`` to keep versions increasing across retrains.
        """
        if not (math.isfinite(l2) and l2 > 0):
            raise Invalid("l2 must be a positive number", field="l2")
        x = _binary_csr(interactions)
        vocab = _vocabulary(np.bincount(x.indices, minlength=x.shape[1]), min_item_count, items)
        xv = x[:, vocab].tocsr()
        content = 0
        for start, stop in zip(xv.indptr[:-1], xv.indptr[1:], strict=True):
            content += _row_hash(vocab[np.sort(xv.indices[start:stop])])
        counts = np.bincount(xv.indices, minlength=vocab.size).astype(np.int64)
        p = _inverse_gram(xv, float(l2))
        meta = (x.shape[1], float(l2), x.shape[0], generation, content & _MASK64)
        return cls(_State(p, vocab, counts, *meta))

    @property
    def version(self) -> str:
        """``<generation>-<hash>``: the hash covers the training rows, l2 and the vocabulary."""
        h = hashlib.blake2b(digest_size=8)
        for part in (self._s.content, self._s.n_users, self._s.n_items):
            h.update(part.to_bytes(8, "little"))
        h.update(np.float64(self._s.l2).tobytes())
        h.update(self._s.items.astype("<i8").tobytes())
        return f"{self._s.generation}-{h.hexdigest()}"

    @property
    def generation(self) -> int:
        """Number of fits, learns and unlearns in this model's history (starts at ``fit``)."""
        return self._s.generation

    @property
    def items(self) -> NDArray[np.int64]:
        """The item vocabulary (sorted item indices); a copy."""
        return self._s.items.copy()

    @property
    def n_items(self) -> int:
        """Width of the item index space (columns of the training matrix)."""
        return self._s.n_items

    @property
    def n_users(self) -> int:
        """Number of users currently in the model."""
        return self._s.n_users

    def _positions(self, user_row: UserRow) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Return the vocabulary positions and item indices of a user's in-vocabulary items."""
        ids = _row_items(user_row, self._s.n_items)
        pos = self._pos[ids]
        keep = pos >= 0
        return pos[keep], ids[keep]

    def _vocab_scores(self, pos: NDArray[np.int64]) -> NDArray[np.float64]:
        p = self._s.p
        scores: NDArray[np.float64] = -p[pos].sum(axis=0) / p.diagonal()
        scores[pos] += 1.0
        return scores

    def scores(self, user_rows: Any) -> NDArray[np.float64]:
        """Score every item for each row of a users x items sparse matrix (``-inf`` off-vocab)."""
        x, s = _binary_csr(user_rows), self._s
        if x.shape[1] != s.n_items:
            raise Invalid(f"user_rows must have {s.n_items} columns", field="user_rows")
        xv = x[:, s.items].tocsr()
        vocab = np.asarray(xv @ s.p)
        vocab /= -s.p.diagonal()
        vocab[np.repeat(np.arange(xv.shape[0]), np.diff(xv.indptr)), xv.indices] += 1.0
        out = np.full((x.shape[0], s.n_items), -np.inf)
        out[:, s.items] = vocab
        return out

    def recommend(self, user_row: UserRow, k: int, exclude_seen: bool = True) -> Ranked:
        """Return the ``k`` best item indices and their scores for one user, best first."""
        pos, _ = self._positions(user_row)
        scores = self._vocab_scores(pos)
        if exclude_seen:
            scores[pos] = -np.inf
        return _top_k(scores, k, self._s.items)

    def explain(self, user_row: UserRow, item: int, *, limit: int = 3) -> list[tuple[int, float]]:
        """Return up to ``limit`` of the user's own items that push ``item`` up, largest first.

        Each pair is ``(seen item index, contribution)`` with contribution ``B[seen, item] > 0``;
        the contributions of all seen items sum to the item's score. Keep ``limit`` small: an
        explanation should reveal few personal data points.
        """
        if not 0 <= item < self._s.n_items:
            raise Invalid(f"item must lie in [0, {self._s.n_items})", field="item")
        j = int(self._pos[item])
        pos, ids = self._positions(user_row)
        if j < 0 or limit <= 0:
            return []
        pos, ids = pos[pos != j], ids[pos != j]
        contribution = -self._s.p[pos, j] / self._s.p[j, j]
        order = np.lexsort((ids, -contribution))[:limit]
        return [(int(ids[i]), float(contribution[i])) for i in order if contribution[i] > 0]

    def unlearn(self, user_row: UserRow) -> None:
        """Remove one training user's interactions exactly, as if never trained on (TH-DSR-04).

        Pass the row exactly as it was learned. A row that cannot be part of the training set
        (an item with no interactions left) is refused with ``Invalid`` and changes nothing.
        """
        pos, ids = self._positions(user_row)
        if self._s.n_users == 0 or np.any(self._s.counts[pos] == 0):
            raise Invalid(_NOT_TRAINED, field="user_row")
        self._update(pos, ids, sign=-1)

    def learn(self, user_row: UserRow) -> None:
        """Add one consenting user's interactions exactly, as if trained from scratch with them."""
        pos, ids = self._positions(user_row)
        self._update(pos, ids, sign=1)

    def _update(self, pos: NDArray[np.int64], ids: NDArray[np.int64], *, sign: int) -> None:
        """Apply ``G += sign·xᵀx`` to ``P`` with Sherman-Morrison, then the bookkeeping."""
        s = self._s
        if pos.size:
            px = s.p[pos].sum(axis=0)
            denominator = 1.0 + sign * float(px[pos].sum())
            if denominator <= _MIN_DENOMINATOR:
                raise Invalid(_NOT_TRAINED, field="user_row")
            updated = blas.dger(-sign / denominator, px, px, a=s.p.T, overwrite_a=1)
            s.p = updated.T  # the same buffer: P is symmetric and C-contiguous
        s.counts[pos] += sign
        s.n_users += sign
        s.content = (s.content + sign * _row_hash(ids)) & _MASK64
        s.generation += 1

    def to_bytes(self) -> bytes:
        """Serialise the model with ``np.savez`` (no pickle), to store a model version."""
        buffer = io.BytesIO()
        np.savez(buffer, format=np.int64(_FORMAT), **vars(self._s))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> EaseModel:
        """Load a model written by ``to_bytes``; anything else raises ``Invalid``."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                if int(z["format"]) != _FORMAT:
                    raise Invalid("unsupported model format", field="data")
                values = [z[f.name] for f in fields(_State)]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
            raise Invalid("not a serialised EaseModel", field="data") from e
        p = np.ascontiguousarray(values[0], np.float64)
        items, counts = (np.asarray(v, np.int64) for v in values[1:3])
        if p.ndim != 2 or p.shape != (items.size, items.size) or counts.shape != items.shape:
            raise Invalid("inconsistent model arrays", field="data")
        meta = [v.item() for v in values[3:]]
        return cls(_State(p, items, counts, *meta))


class PopularityModel:
    """Non-personalized fallback: items ranked by how many users interacted with them."""

    def __init__(self, counts: NDArray[np.int64]) -> None:
        self._counts = counts

    @classmethod
    def fit(cls, interactions: Any) -> PopularityModel:
        """Count the users per item in a binary users x items sparse matrix."""
        x = _binary_csr(interactions)
        return cls(np.bincount(x.indices, minlength=x.shape[1]).astype(np.int64))

    @property
    def n_items(self) -> int:
        """Width of the item index space."""
        return int(self._counts.size)

    def recommend(self, user_row: UserRow, k: int, exclude_seen: bool = True) -> Ranked:
        """Return the ``k`` most popular items (never ones nobody interacted with), best first."""
        ids = _row_items(user_row, self.n_items)
        scores = self._counts.astype(np.float64)
        scores[self._counts == 0] = -np.inf
        if exclude_seen:
            scores[ids] = -np.inf
        return _top_k(scores, k, np.arange(self.n_items, dtype=np.int64))

    def unlearn(self, user_row: UserRow) -> None:
        """Remove one user's interactions from the counts (TH-DSR-04)."""
        ids = _row_items(user_row, self.n_items)
        if np.any(self._counts[ids] == 0):
            raise Invalid(_NOT_TRAINED, field="user_row")
        self._counts[ids] -= 1

    def learn(self, user_row: UserRow) -> None:
        """Add one user's interactions to the counts."""
        self._counts[_row_items(user_row, self.n_items)] += 1


def _hits(ranked: Lists, relevant: Relevant, k: int) -> list[tuple[NDArray[np.bool_], int]]:
    """Return, per user with relevant items, the top ``k`` hit flags and the relevant count."""
    if k < 1:
        raise Invalid("k must be at least 1", field="k")
    if len(ranked) != len(relevant):
        raise Invalid("ranked and relevant must have one entry per user", field="relevant")
    rows = []
    for recs, rel in zip(ranked, relevant, strict=True):
        wanted = {int(i) for i in rel}
        if wanted:
            top = np.asarray(recs, dtype=np.int64)[:k]
            rows.append((np.isin(top, list(wanted)), len(wanted)))
    if not rows:
        raise Invalid("no user has relevant items", field="relevant")
    return rows


def precision_at_k(ranked: Lists, relevant: Relevant, k: int) -> float:
    """Mean over users with relevant items of (relevant items in the top ``k``) / ``k``."""
    return float(np.mean([hits.sum() / k for hits, _ in _hits(ranked, relevant, k)]))


def recall_at_k(ranked: Lists, relevant: Relevant, k: int) -> float:
    """Mean over users with relevant items of (relevant items in the top ``k``) / |relevant|."""
    return float(np.mean([hits.sum() / n for hits, n in _hits(ranked, relevant, k)]))


def ndcg_at_k(ranked: Lists, relevant: Relevant, k: int) -> float:
    """Mean over users with relevant items of binary-gain NDCG of the top ``k``."""
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)
    rows = _hits(ranked, relevant, k)
    return float(np.mean([discount[: h.size][h].sum() / ideal[min(k, n) - 1] for h, n in rows]))
