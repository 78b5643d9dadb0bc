"""The serving version moves on every change to what decide reads, whoever makes it (TH-CON-03).

Decide caches a subject's consent facts, insights and recommendations per process under the
subject's ``serving_version``; database triggers move it. Each case changes one thing the cache
depends on, committed through the domain's service, and the version must have moved.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, text

from rujai.personalize.models import Insight
from rujai.personalize.serving_cache import ServingCache
from rujai.profiles import service as profiles_service
from rujai.profiles.models import Subject
from rujai.writer import session_scope
from tests.factories import make_consent, make_subject

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _version(factory, subject_id):
    with factory() as s:
        return s.scalar(select(Subject.serving_version).where(Subject.id == subject_id))


def _subject(factory, keyring):
    with session_scope(factory) as s:
        return make_subject(s, keyring, "C-SV-1", now=NOW).id


def test_a_consent_change_moves_the_version(factory, keyring, policy):
    sid = _subject(factory, keyring)
    before = _version(factory, sid)
    with session_scope(factory) as s:
        make_consent(s, keyring, policy, customer_id="C-SV-1", now=NOW)
    granted = _version(factory, sid)
    with session_scope(factory) as s:
        make_consent(s, keyring, policy, customer_id="C-SV-1", action="withdraw", now=NOW)
    assert before < granted < _version(factory, sid)


def test_a_restriction_and_an_objection_move_the_version_th_dsr_05(factory, keyring):
    sid = _subject(factory, keyring)
    before = _version(factory, sid)
    with session_scope(factory) as s:
        profiles_service.set_restricted(s, subject_id=sid, restricted=True, now=NOW)
    restricted = _version(factory, sid)
    with session_scope(factory) as s:
        profiles_service.set_objection(
            s, subject_id=sid, objection="profiling", objected=True, now=NOW
        )
    assert before < restricted < _version(factory, sid)


def test_insights_written_or_deleted_move_the_version(factory, keyring):
    sid = _subject(factory, keyring)
    before = _version(factory, sid)
    with session_scope(factory) as s:
        s.add(
            Insight(
                subject_id=sid, name="rfm_segment", value="champions", categories=["purchase"],
                computed_at=NOW,
            )
        )  # fmt: skip
    written = _version(factory, sid)
    with session_scope(factory) as s:
        s.execute(delete(Insight).where(Insight.subject_id == sid))
    assert before < written < _version(factory, sid)


def test_a_raw_sql_change_moves_it_too(factory, keyring):
    """Triggers, not application code: even a write around the services is seen by decide."""
    sid = _subject(factory, keyring)
    before = _version(factory, sid)
    with session_scope(factory) as s:
        s.execute(
            text("UPDATE subject SET is_restricted = :r WHERE id = :id"),
            {"r": True, "id": sid.hex if s.get_bind().dialect.name == "sqlite" else sid},
        )
    assert _version(factory, sid) == before + 1


def test_the_cache_keeps_by_key_and_evicts_the_least_recently_used():
    cache = ServingCache(max_entries=2)
    loads = []

    def load(value):
        loads.append(value)
        return value

    assert cache.get(("a", 1), lambda: load("a1")) == "a1"
    assert cache.get(("a", 1), lambda: load("again")) == "a1"
    assert cache.get(("a", 2), lambda: load("a2")) == "a2"  # a new version: read afresh
    cache.get(("b", 1), lambda: load("b1"))  # evicts ("a", 1)
    assert cache.get(("a", 1), lambda: load("a1 again")) == "a1 again"
    assert cache.get(("c", 1), lambda: load("c1"), ttl_s=0) == "c1"
    assert cache.get(("c", 1), lambda: load("c1 expired"), ttl_s=0) == "c1 expired"
    assert loads == ["a1", "a2", "b1", "a1 again", "c1", "c1 expired"]


def test_the_cache_drops_expired_entries_when_due_not_when_full():
    """Memory follows the working set (bench/soak.py): expired entries do not wait for the LRU."""
    cache = ServingCache(max_entries=1000)
    for n in range(50):
        cache.get(("recs", n), lambda: "x", ttl_s=0)
    cache.get(("facts", 1), lambda: "kept")
    assert len(cache) == 1


def test_a_newer_serving_version_drops_the_subjects_older_entries():
    cache = ServingCache(max_entries=1000)
    for kind in ("facts", "insights"):
        cache.get((kind, "s1", 1), lambda: "v1", owner=("s1", 1))
    cache.get(("facts", "s2", 7), lambda: "other", owner=("s2", 7))
    assert cache.get(("facts", "s1", 2), lambda: "v2", owner=("s1", 2)) == "v2"
    assert len(cache) == 2  # s1 at version 2 and s2; nothing of s1's version 1
    assert cache.get(("insights", "s1", 1), lambda: "late", owner=("s1", 1)) == "late"
    assert len(cache) == 2  # a request still at version 1 is answered, its value not kept
    assert cache.get(("facts", "s1", 2), lambda: "reloaded", owner=("s1", 2)) == "v2"
    cache.clear()
    assert len(cache) == 0
