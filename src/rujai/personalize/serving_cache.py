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

import heapq
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

MAX_ENTRIES = 60_000
RECS_TTL_S = 30.0
_FOREVER = float("inf")


Owner = tuple[Hashable, int]  # (subject id, serving version)


class ServingCache:
    """A bounded LRU map from hashable keys to values, each with an optional time to live.

    Memory stays at the working set, not at ``max_entries`` of garbage (a soak showed the server
    growing for as long as it ran): an entry past its time to live is dropped as soon as it is
    due, not when the least recently used end reaches it; and an entry given an ``owner``
    (subject, serving version) is dropped as soon as the same subject is asked for at a newer
    version, which no request will ever ask the old entry for again. A request still holding an
    older version gets its value loaded and not kept.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, object, Owner | None]] = OrderedDict()
        self._due: list[tuple[float, int, Hashable]] = []  # (expiry, tie, key), a heap
        self._tie = itertools.count()
        self._owners: dict[Hashable, tuple[int, set[Hashable]]] = {}  # subject -> version, keys
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self,
        key: Hashable,
        load: Callable[[], T],
        *,
        ttl_s: float | None = None,
        owner: Owner | None = None,
    ) -> T:
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
            if owner is not None and not self._claim(owner):
                return value  # an older version than one already served: never asked again
            self._put(key, (expires, value, owner))
            self._expire(now)
            while len(self._entries) > self._max:
                self._drop(next(iter(self._entries)))
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def _claim(self, owner: Owner) -> bool:
        """Drop the subject's entries of older versions; False if ``owner`` is the older one."""
        subject, version = owner
        known = self._owners.get(subject)
        if known is not None and known[0] > version:
            return False
        if known is not None and known[0] < version:
            for stale in list(known[1]):
                self._drop(stale)
        return True

    def _put(self, key: Hashable, entry: tuple[float, object, Owner | None]) -> None:
        if key in self._entries:
            self._drop(key)
        self._entries[key] = entry
        if entry[0] != _FOREVER:
            heapq.heappush(self._due, (entry[0], next(self._tie), key))
        owner = entry[2]
        if owner is not None:
            version, keys = self._owners.setdefault(owner[0], (owner[1], set()))
            if version != owner[1]:
                version, keys = self._owners[owner[0]] = (owner[1], set())
            keys.add(key)

    def _expire(self, now: float) -> None:
        while self._due and self._due[0][0] <= now:
            expires, _tie, key = heapq.heappop(self._due)
            entry = self._entries.get(key)
            if entry is not None and entry[0] == expires:
                self._drop(key)

    def _drop(self, key: Hashable) -> None:
        _expires, _value, owner = self._entries.pop(key)
        if owner is None:
            return
        known = self._owners.get(owner[0])
        if known is not None:
            known[1].discard(key)
            if not known[1]:
                del self._owners[owner[0]]

    def clear(self) -> None:
        """Forget everything (tests; a policy reload)."""
        with self._lock:
            self._entries.clear()
            self._due.clear()
            self._owners.clear()


CACHE = ServingCache()
