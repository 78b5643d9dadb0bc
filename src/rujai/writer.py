"""The write path: in each process one owner commits every write (group commit).

Requests never commit. A request hands the writer a *unit*: a function of a ``Session`` that
writes its rows (decision, events, consent records, ...) and records its audit entries. The writer
thread takes everything queued (up to ``max_batch`` units), runs each unit in a SAVEPOINT of one
transaction, commits that transaction once, and only then completes each unit's future::

    request ─┐                       ┌─ SAVEPOINT unit 1 ─┐
    request ─┼─> queue ─> writer ────┼─ SAVEPOINT unit 2 ─┼─> audit integrated ─> COMMIT ─> futures
    request ─┘   (bounded)           └─ SAVEPOINT unit n ─┘   (one head lock)

- **Acknowledged means stored.** A future completes after the commit returned, so a response sent
  after awaiting it describes committed rows (DESIGN invariant 5).
- **Rows gathered per batch.** What a request's read session deferred (``db.Deferred``: decision
  rows, audit entries) is gathered over the whole batch and stored with one statement per kind
  (``db.register_flusher``); the audit chain takes its head lock once per batch.
- **A unit that fails fails alone.** Its savepoint rolls back (with the audit entries it wrote),
  its writes kept on rollback (``db.keep_even_on_rollback``: audited refusals) still run, and the
  others commit. A refusal that must count (``db.KeepsWrites``: a wrong one-time code's claimed
  attempt) keeps the unit's writes instead and still fails the request. If the gathered rows or
  the commit fail, the batch is rolled back and each of its units is stored alone, so only the
  unit at fault gets ``WriteFailed`` (503); nothing is ever half-stored: a unit is in the
  database whole or not at all.
- **Forms borrow the writer.** ``lend`` runs a form handler's body as one unit in the writer's
  transaction, for handlers that read what they write (console, privacy center).
- **Back-pressure, never a hang.** A full queue refuses new units with ``Overloaded`` (503 with
  ``Retry-After``), the one deliberate 5xx; a stopped writer refuses with ``WriterStopped``
  (both in ``rujai.write_errors``).
- **Reads never wait for it.** Requests read through their own read-only sessions (another pool);
  on SQLite (WAL) readers never block the writer and the writer never blocks readers.
- **Idle work.** When no unit arrived for ``idle_every_s`` the writer runs ``idle(session)`` in a
  transaction of its own (the audit log integrates pending entries and signs a checkpoint there).

Processes without concurrent requests (the CLI, benchmarks, tests) use ``session_scope``: the same
commit-or-roll-back unit of work, the process itself being the one writer. ``rujai.db`` has no
commit of its own; every commit in rujai is in this module.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from rujai.db import Deferred, Staged, flush_deferred, keeps_writes, run_kept
from rujai.write_errors import Overloaded, WriteFailed, WriterStopped

logger = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Session], T]

DEFAULT_MAX_BATCH = 256
DEFAULT_MAX_QUEUE = 4096
DEFAULT_IDLE_EVERY_S = 0.2
LEND_TIMEOUT_S = 30.0


@dataclass(slots=True)
class _Unit(Generic[T]):
    work: Work[T] | None
    future: Future[T]
    deferred: list[Deferred] = field(default_factory=list)


@dataclass(slots=True)
class WriterStats:
    """What the writer did since it started (tests and benchmarks read it)."""

    batches: int = 0
    units: int = 0
    failed_units: int = 0
    failed_batches: int = 0
    largest_batch: int = 0
    idle_runs: int = 0
    split_batches: int = 0

    def note_batch(self, size: int) -> None:
        self.batches += 1
        self.units += size
        self.largest_batch = max(self.largest_batch, size)


_STOP = object()


class Writer:
    """The one owner of this process's writes: a thread that group-commits queued units."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_queue: int = DEFAULT_MAX_QUEUE,
        idle: Callable[[Session], object] | None = None,
        idle_every_s: float = DEFAULT_IDLE_EVERY_S,
        name: str = "rujai-writer",
    ) -> None:
        self._factory = factory
        self._max_batch = max_batch
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._idle = idle
        self._idle_every_s = idle_every_s
        self._name = name
        self._thread: threading.Thread | None = None
        self._accepting = False
        self.stats = WriterStats()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._accepting = True
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Refuse new units, finish the queued ones, run the idle work once, then stop."""
        thread = self._thread
        if thread is None:
            return
        self._accepting = False
        self._queue.put(_STOP)  # blocks only while the queue is full, i.e. until it drains
        thread.join(timeout)
        self._thread = None

    def submit(self, work: Work[T]) -> Future[T]:
        """Queue ``work`` for the next batch; its future completes after that batch's commit."""
        return self._put(_Unit(work, Future()))

    def _put(self, unit: _Unit[T]) -> Future[T]:
        if not self._accepting:
            raise WriterStopped("the server is not accepting writes right now; retry")
        try:
            self._queue.put_nowait(unit)
        except queue.Full:
            raise Overloaded("too many writes are waiting; retry in a moment") from None
        return unit.future

    def submit_staged(self, items: Sequence[Staged]) -> Future[None]:
        """Queue what a read session staged: its writes run as one unit, its rows are gathered."""
        writes = [item for item in items if not isinstance(item, Deferred)]
        rows = [item for item in items if isinstance(item, Deferred)]
        work = partial(_run_all, writes) if writes else None
        unit: _Unit[None] = _Unit(work, Future(), rows)
        return self._put(unit)

    async def run_staged(self, items: Sequence[Staged]) -> None:
        """``submit_staged`` and await the commit (the request session's teardown)."""
        await asyncio.wrap_future(self.submit_staged(items))

    async def run(self, work: Work[T]) -> T:
        """Submit ``work`` and await its commit (for ``async`` request handlers)."""
        return await asyncio.wrap_future(self.submit(work))

    def run_sync(self, work: Work[T]) -> T:
        """Submit ``work`` and block until its commit (for threads: sync handlers, jobs)."""
        return self.submit(work).result()

    @contextmanager
    def lend(self, timeout_s: float = LEND_TIMEOUT_S) -> Iterator[Session]:
        """Lend the writer's session to the calling thread for one unit; commit on exit.

        For request handlers that must read what they write in one unit (console and
        privacy-center forms). The block runs as a unit of the writer's current batch, in its
        savepoint, while the writer thread waits; the exit waits for the batch's commit, so
        leaving the block means stored. Keep the block short: the writer does nothing else
        meanwhile. It must not submit to the writer itself (that would wait on itself).
        """
        lent: Future[Session] = Future()
        finished = threading.Event()
        failure: list[BaseException] = []

        def work(session: Session) -> None:
            if lent.done():  # its batch failed and is being stored unit by unit: not re-runnable
                raise WriteFailed("the batch holding this change failed; nothing was kept")
            lent.set_result(session)
            if not finished.wait(timeout_s):
                raise WriteFailed("the change took too long and was not stored")
            if failure:
                raise failure[0]

        committed = self.submit(work)
        try:
            session = lent.result(timeout=timeout_s)
        except TimeoutError:
            committed.cancel()
            raise Overloaded("too many writes are waiting; retry in a moment") from None
        try:
            yield session
        except BaseException as e:
            failure.append(e)
            finished.set()
            with suppress(Exception):
                committed.result()
            raise
        finished.set()
        committed.result()

    # --- the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while self._step():
                pass
        finally:
            self._fail_queued()

    def _step(self) -> bool:
        """Commit one batch (or do the idle work); False once told to stop."""
        try:
            first = self._queue.get(timeout=self._idle_every_s)
        except queue.Empty:
            self._run_idle()
            return True
        if first is _STOP:
            self._run_idle()
            return False
        batch, stopping = self._drain([first])
        self._commit(batch)
        if stopping:
            self._run_idle()
        return not stopping

    def _drain(self, batch: list[_Unit[Any]]) -> tuple[list[_Unit[Any]], bool]:
        while len(batch) < self._max_batch:
            try:
                unit = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if unit is _STOP:
                return batch, True
            batch.append(unit)
        return batch, False

    def _commit(self, batch: list[_Unit[Any]]) -> None:
        """Store the batch in one transaction, then complete each unit's future.

        If the batch cannot be stored (a gathered row refused, the commit failed) and it holds
        more than one unit, each unit is stored alone, so one bad unit fails only itself.
        """
        running = [unit for unit in batch if unit.future.set_running_or_notify_cancel()]
        if not running:
            return
        self.stats.note_batch(len(running))
        try:
            done = self._store(running)
        # Whatever stops the commit fails this batch's requests; none may be left hanging.
        except Exception as e:  # noqa: BLE001 - each request gets WriteFailed with this cause
            if len(running) == 1:
                self._fail(running, e)
                return
            self.stats.split_batches += 1
            for unit in running:
                self._commit_alone(unit)
            return
        self._complete(done)

    def _commit_alone(self, unit: _Unit[Any]) -> None:
        try:
            done = self._store([unit])
        except Exception as e:  # noqa: BLE001 - the request gets WriteFailed with this cause
            self._fail([unit], e)
            return
        self._complete(done)

    def _store(self, units: list[_Unit[Any]]) -> list[tuple[_Unit[Any], Any, BaseException | None]]:
        """Run every unit in a savepoint, store the gathered rows, commit; raise if that fails."""
        session = self._factory()
        try:
            done, rows = [], []
            for unit in units:
                result = _run_unit(session, unit)
                done.append(result)
                if result[2] is None:
                    rows.extend(unit.deferred)
            flush_deferred(session, rows)  # one statement per kind for the whole batch
            session.commit()
            return done
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _complete(self, done: list[tuple[_Unit[Any], Any, BaseException | None]]) -> None:
        for unit, value, error in done:
            if error is None:
                unit.future.set_result(value)
            else:
                self.stats.failed_units += 1
                unit.future.set_exception(error)

    def _fail(self, units: list[_Unit[Any]], error: BaseException) -> None:
        self.stats.failed_batches += 1
        logger.error("write batch of %d units failed: %s", len(units), type(error).__name__)
        for unit in units:
            failure = WriteFailed("the change could not be stored; nothing was kept")
            failure.__cause__ = error
            unit.future.set_exception(failure)

    def _run_idle(self) -> None:
        if self._idle is None:
            return
        self.stats.idle_runs += 1
        try:
            with session_scope(self._factory) as session:
                self._idle(session)
        # The idle work is retried on the next idle turn; the writer must outlive its failure.
        except Exception as e:  # noqa: BLE001 - logged by type only (no personal data)
            logger.warning("writer idle work failed: %s", type(e).__name__)

    def _fail_queued(self) -> None:
        """The thread is ending: fail whatever is still queued instead of leaving it hanging."""
        self._accepting = False
        while True:
            try:
                unit = self._queue.get_nowait()
            except queue.Empty:
                return
            if unit is not _STOP and unit.future.set_running_or_notify_cancel():
                unit.future.set_exception(WriterStopped("the writer stopped before this write"))


def _run_all(writes: list[Callable[[Session], object]], session: Session) -> None:
    for write in writes:
        write(session)


def _run_unit(session: Session, unit: _Unit[T]) -> tuple[_Unit[T], T | None, BaseException | None]:
    """Run one unit in its own savepoint; on failure roll it back and keep its kept writes."""
    if unit.work is None:  # rows only: nothing can fail before they are stored
        return unit, None, None
    savepoint = session.begin_nested()
    try:
        value = unit.work(session)
        run_kept(session)
        savepoint.commit()
    # A unit's failure belongs to the request that sent it: forwarded to its future, any type.
    except Exception as e:  # noqa: BLE001 - re-raised in the request through its future
        if keeps_writes(e) and savepoint.is_active:  # a refusal that counts (db.KeepsWrites)
            run_kept(session)
            savepoint.commit()
            return unit, None, e
        if savepoint.is_active:
            savepoint.rollback()
        _keep_after_failure(session)
        return unit, None, e
    return unit, value, None


def _keep_after_failure(session: Session) -> None:
    """Run a failed unit's writes that must stay (audited refusals) in a savepoint of their own."""
    if not session.info.get("rujai.after_rollback"):
        return
    savepoint = session.begin_nested()
    try:
        run_kept(session)
        savepoint.commit()
    except SQLAlchemyError:
        if savepoint.is_active:
            savepoint.rollback()
        logger.error("a write kept after a failed unit could not be stored")


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on any error.

    For processes that are their own single writer (CLI commands, benchmarks, tests) and for the
    writer's own idle work. Writes kept on rollback (``db.keep_even_on_rollback``) are committed
    even when the block fails; a ``db.KeepsWrites`` error commits the whole block, then raises.
    """
    session = factory()
    try:
        yield session
        run_kept(session)
        session.commit()
    except BaseException as e:
        if not keeps_writes(e):  # a refusal that counts keeps its writes (db.KeepsWrites)
            session.rollback()
        if keeps_writes(e) or session.info.get("rujai.after_rollback"):
            run_kept(session)
            session.commit()
        raise
    finally:
        session.close()
