"""The write path (``rujai.writer``): group commit, isolation of failures, back-pressure, reads.

Real databases (SQLite and PostgreSQL); the units insert catalogue rows so that what was stored
can be counted. Behaviour from DESIGN.md invariant 5 (acknowledged means stored).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from rujai.catalog.models import Item
from rujai.db import Deferred, make_engine, make_session_factory, register_flusher
from rujai.errors import install_handlers
from rujai.write_errors import Overloaded, WriteFailed, WriterStopped
from rujai.writer import Writer

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
_ITEM = insert(Item.__table__)
_KIND = "test.item"


def _row(sku: str) -> dict:
    return {
        "id": sku, "name_th": "สินค้าทดสอบ", "name_en": "Test item", "product_category": "test",
        "price_thb": Decimal("10"), "is_active": True, "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip


register_flusher(_KIND, lambda session, rows: session.execute(_ITEM, rows))


@pytest.fixture
def writer(db_url, factory):
    engine = make_engine(db_url, role="writer")
    started = Writer(make_session_factory(engine), max_batch=64, max_queue=64)
    started.start()
    yield started
    started.stop()
    engine.dispose()


def _insert(sku: str):
    def work(session):
        session.execute(_ITEM, _row(sku))
        return sku

    return work


def _count(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Item)) or 0


def _hold(writer: Writer) -> tuple[threading.Event, Future]:
    """Occupy the writer thread until the returned event is set."""
    release, entered = threading.Event(), threading.Event()

    def work(_session):
        entered.set()
        release.wait(30)

    held = writer.submit(work)
    assert entered.wait(10)
    return release, held


def test_units_queued_together_commit_as_one_batch(writer, factory):
    release, held = _hold(writer)
    futures = [writer.submit(_insert(f"SKU-{i}")) for i in range(20)]
    release.set()
    assert [f.result(10) for f in futures] == [f"SKU-{i}" for i in range(20)]
    held.result(10)
    assert _count(factory) == 20
    assert writer.stats.largest_batch == 20  # one transaction, one commit for the twenty


def test_a_failing_unit_fails_alone_and_the_rest_of_its_batch_is_stored(writer, factory):
    release, _held = _hold(writer)
    good = [writer.submit(_insert(f"OK-{i}")) for i in range(3)]
    duplicate = writer.submit(_insert("OK-0"))  # same primary key as a unit before it
    release.set()
    assert [f.result(10) for f in good] == ["OK-0", "OK-1", "OK-2"]
    with pytest.raises(IntegrityError):
        duplicate.result(10)
    assert _count(factory) == 3


def test_a_bad_gathered_row_fails_only_its_own_unit(writer, factory):
    """Rows gathered from many units go in one statement; if it fails, each unit goes alone."""
    release, _held = _hold(writer)
    first = writer.submit_staged([Deferred(_KIND, _row("ROW-1"))])
    clash = writer.submit_staged([Deferred(_KIND, _row("ROW-1"))])
    other = writer.submit_staged([Deferred(_KIND, _row("ROW-2"))])
    release.set()
    assert first.result(10) is None
    assert other.result(10) is None
    with pytest.raises(WriteFailed):
        clash.result(10)
    assert _count(factory) == 2
    assert writer.stats.split_batches == 1


def test_a_full_queue_is_refused_with_retry_after_never_a_hang(db_url, factory):
    engine = make_engine(db_url, role="writer")
    small = Writer(make_session_factory(engine), max_batch=4, max_queue=2)
    small.start()
    release, _held = _hold(small)
    try:
        queued = [small.submit(_insert(f"Q-{i}")) for i in range(2)]
        with pytest.raises(Overloaded) as refused:
            small.submit(_insert("Q-overflow"))
        assert refused.value.status == 503
        assert refused.value.problem()["retry_after"] >= 1
    finally:
        release.set()
        small.stop()
        engine.dispose()
    assert [f.result(10) for f in queued] == ["Q-0", "Q-1"]
    assert _count(factory) == 2


def test_overloaded_answers_503_problem_json_with_retry_after():
    app = FastAPI()
    install_handlers(app)

    @app.get("/busy")
    def busy() -> None:
        raise Overloaded("too many writes are waiting; retry in a moment")

    response = TestClient(app).get("/busy")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "1"


def test_a_stopped_writer_refuses_and_fails_nothing_silently(db_url, factory):
    engine = make_engine(db_url, role="writer")
    stopped = Writer(make_session_factory(engine))
    with pytest.raises(WriterStopped):
        stopped.submit(_insert("never"))
    stopped.start()
    future = stopped.submit(_insert("STOP-1"))
    stopped.stop()  # drains what was queued before stopping
    assert future.result(10) == "STOP-1"
    with pytest.raises(WriterStopped):
        stopped.submit(_insert("after"))
    engine.dispose()


def test_reads_never_wait_for_the_writer(writer, factory, db_url):
    """While the writer is busy inside a transaction that has written, a reader still reads."""
    reader = make_engine(db_url, role="reader")
    release, entered = threading.Event(), threading.Event()

    def slow(session):
        session.execute(_ITEM, _row("SLOW-1"))
        entered.set()
        release.wait(30)

    held = writer.submit(slow)
    assert entered.wait(10)
    try:
        started = time.monotonic()
        with make_session_factory(reader)() as s:
            seen = s.scalar(select(func.count()).select_from(Item).where(Item.id == "SLOW-1"))
        waited = time.monotonic() - started
    finally:
        release.set()
        held.result(10)
        reader.dispose()
    assert seen == 0  # the uncommitted row is not visible ...
    assert waited < 5  # ... and the read did not wait for the writer's transaction to end


def test_a_lent_session_commits_on_exit_and_rolls_back_on_error(writer, factory):
    with writer.lend() as session:
        session.execute(_ITEM, _row("LENT-1"))

    def failing_handler() -> None:
        with writer.lend() as session:
            session.execute(_ITEM, _row("LENT-2"))
            raise RuntimeError("the form handler failed")

    with pytest.raises(RuntimeError):
        failing_handler()
    with factory() as s:
        assert s.scalars(select(Item.id).order_by(Item.id)).all() == ["LENT-1"]


def test_a_lent_unit_in_a_failed_batch_fails_instead_of_running_twice(writer, factory):
    """A form handler's block ran once; if its batch must be split, it gets WriteFailed (503)."""
    release, _held = _hold(writer)
    outcome: list[BaseException | None] = []

    def handler() -> None:
        try:
            with writer.lend() as session:
                session.execute(_ITEM, _row("LENT-X"))
            outcome.append(None)
        except WriteFailed as e:
            outcome.append(e)

    thread = threading.Thread(target=handler)
    thread.start()
    deadline = time.monotonic() + 10
    while writer._queue.qsize() < 1 and time.monotonic() < deadline:  # the lend is queued
        time.sleep(0.01)
    good = writer.submit_staged([Deferred(_KIND, _row("ROW-A"))])
    clash = writer.submit_staged([Deferred(_KIND, _row("ROW-A"))])  # fails the gathered insert
    release.set()
    thread.join(30)
    assert good.result(10) is None
    with pytest.raises(WriteFailed):
        clash.result(10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], WriteFailed)
    with factory() as s:
        assert s.scalars(select(Item.id)).all() == ["ROW-A"]
