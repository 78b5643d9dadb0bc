"""Per-process cache of what decide reads about a subject, keyed by the subject's serving version.

Decide reads one row per request (the subject, by blind index, with ``serving_version``); the
consent facts, the insights and the recommendations are then taken from here while that version
is unchanged. The version is moved by database triggers on every change to the subject row, its
consent state, its insights and its recommender membership, by any process (migration
9d4c1b7e3a20), so a withdrawal, restriction or objection committed anywhere changes the key and
the very next decide reads afresh (TH-CON-03, TH-DSR-05, TH-DSR-06).

What the version does not cover ages out: recommendations (they also depend on new events, the
model and the catalogue) live ``RECS_TTL_S`` at most and carry the model version in their key.
No entry holds personal data beyond what the process already holds while serving; entries are
evicted least recently used beyond ``max_entries``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

MAX_ENTRIES = 60_000
RECS_TTL_S = 30.0
_FOREVER = float("inf")


class ServingCache:
    """A bounded LRU map from hashable keys to values, each with an optional time to live."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, load: Callable[[], T], *, ttl_s: float | None = None) -> T:
        """Return the cached value of ``key``, else ``load()`` (outside the lock) and keep it."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]  # type: ignore[return-value]  # stored by this method as a T
            self.misses += 1
        value = load()
        expires = now + ttl_s if ttl_s is not None else _FOREVER
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything (tests; a policy reload)."""
        with self._lock:
            self._entries.clear()


CACHE = ServingCache()
