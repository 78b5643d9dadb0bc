"""Concurrent appends keep the chain gapless and valid (the head row is locked on append)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from tests.audit.chain import T0

THREADS = 2
APPENDS_PER_THREAD = 25


def _append_many(
    factory: sessionmaker[Session], worker: int, barrier: threading.Barrier
) -> list[int]:
    seqs = []
    barrier.wait(timeout=30)
    for i in range(APPENDS_PER_THREAD):
        with factory() as s, s.begin():
            seqs.append(
                audit_service.record(
                    s,
                    actor=f"worker-{worker}",
                    action="test.concurrent",
                    now=T0 + timedelta(milliseconds=i),
                    detail={"worker": worker, "i": i},
                )
            )
    return seqs


def test_concurrent_appends_from_two_sessions_form_a_gapless_valid_chain(
    factory: sessionmaker[Session],
) -> None:
    """Both threads also race to create the missing head row on their first append."""
    barrier = threading.Barrier(THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(_append_many, factory, w, barrier) for w in range(THREADS)]
        results = [f.result(timeout=120) for f in futures]
    total = THREADS * APPENDS_PER_THREAD
    assert sorted(seq for seqs in results for seq in seqs) == list(range(1, total + 1))
    assert all(seqs == sorted(seqs) for seqs in results)
    with factory() as s:
        report = audit_service.verify(s)
        workers = {e.actor for e in audit_service.list_entries(s, limit=total)}
    assert report.ok, report
    assert report.checked == total
    assert workers == {"worker-0", "worker-1"}


def test_concurrent_appends_within_longer_transactions_stay_gapless(
    factory: sessionmaker[Session],
) -> None:
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> list[int]:
        barrier.wait(timeout=30)
        with factory() as s, s.begin():
            return [
                audit_service.record(s, actor=f"worker-{worker}", action="test.batch", now=T0)
                for _ in range(10)
            ]

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    assert sorted(results) == [list(range(1, 11)), list(range(11, 21))]
    with factory() as s:
        assert audit_service.verify(s).ok


def test_verify_during_concurrent_appends_never_reports_a_false_break(
    factory: sessionmaker[Session],
) -> None:
    """Appends that land while verify walks the chain are not mistaken for tampering."""
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(max_workers=1) as pool:
        appending = pool.submit(_append_many, factory, 0, barrier)
        barrier.wait(timeout=30)
        reports = []
        while not appending.done() or not reports:
            with factory() as s:
                reports.append(audit_service.verify(s, batch_size=3))
        appending.result(timeout=60)
    assert [r for r in reports if not r.ok] == []
    with factory() as s:
        assert audit_service.verify(s).checked == APPENDS_PER_THREAD
