"""Database plumbing: the declarative Base, engines, sessions and migrations."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar
from weakref import WeakSet

from fastapi import Depends, Request
from sqlalchemy import JSON, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from starlette.concurrency import run_in_threadpool

logger = logging.getLogger(__name__)
T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Portable JSON: JSONB on PostgreSQL, JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Every table names the columns that hold personal data in ``__personal__`` (``()``: none).

    A table with any is a personal table: only its own domain reads or writes it, and other code
    reaches it through that domain's service functions, which take a ``Permit`` or return counts
    (``tests/test_architecture.py`` holds the rule, ``docs/architecture.md`` explains it).
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __personal__: ClassVar[tuple[str, ...]]


MIGRATIONS_DIR = Path(__file__).parent / "migrations"


ENGINE_ROLES = ("default", "reader", "writer")
_READERS: WeakSet[Engine] = WeakSet()  # engines made with role="reader"


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, role: str = "default"
) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout.

    ``role`` is ``"reader"`` for a server's request sessions: the database itself refuses their
    writes (SQLite ``query_only``, PostgreSQL ``default_transaction_read_only``), so nothing but
    the writer (``rujai.writer``) can write. ``"writer"`` is the writer's own engine: on SQLite it
    opens every transaction with ``BEGIN IMMEDIATE`` (the write lock first, no upgrade races) and
    with working SAVEPOINTs (SQLAlchemy's pysqlite recipe). ``"default"`` is for processes that
    are their own writer (CLI, benchmarks, tests).
    """
    if role not in ENGINE_ROLES:
        raise ValueError(f"engine role must be one of {ENGINE_ROLES}")
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, parsed.database, kwargs, role, pool_size)
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        if role == "reader":
            kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        engine = create_engine(url, **kwargs)
    if role == "reader":
        _READERS.add(engine)
    return engine


SQLITE_POOL = 48  # FastAPI's thread pool has 40 threads


def _sqlite_engine(
    url: str, database: str | None, kwargs: dict[str, Any], role: str, pool_size: int
) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    # Enough kept connections for every worker thread: an overflow connection is opened and
    # closed per request, and opening one runs the PRAGMAs below.
    kwargs.update(pool_size=max(pool_size, SQLITE_POOL), max_overflow=SQLITE_POOL)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    if role == "reader":
        event.listen(engine, "connect", _sqlite_read_only)
    if role == "writer":
        event.listen(engine, "connect", _sqlite_driver_transactions_off)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only=ON")


def _sqlite_driver_transactions_off(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy's pysqlite recipe: the driver emits no BEGIN of its own, so SAVEPOINT works;
    # ``_sqlite_begin_immediate`` begins each transaction instead. FULL: a commit is on disk.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA synchronous=FULL")
    # No checkpoint inside the writer's commits: once the WAL passes its limit every commit
    # would copy pages back into the database (while readers keep the WAL from resetting), which
    # made commits tens of times slower. ``WalCheckpointer`` does it beside the writer instead.
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class WalCheckpointer:
    """Copies an SQLite WAL back into the database every ``every_s`` seconds, beside the writer.

    PASSIVE: it never takes the write lock and never waits for readers, so neither requests nor
    the writer wait for it; it copies what no reader still needs. But under steady reads the WAL
    never starts over (some reader always holds it), so it grew without bound (135 MB in 30 s
    of decides in the benchmark): past ``max_wal_bytes`` a TRUNCATE checkpoint waits briefly
    (at most a second) for the readers of the moment and starts the file over. Nothing to do on
    PostgreSQL.
    """

    def __init__(
        self, engine: Engine, every_s: float = 1.0, max_wal_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self._database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._every_s = every_s
        self._max_wal_bytes = max_wal_bytes
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._database in (None, "", ":memory:") or self._thread is not None:
            return
        self._stopped.clear()
        self._thread = threading.Thread(target=self._loop, name="rujai-wal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopped.set()
        self._thread.join(30)
        self._thread = None
        self._checkpoint("TRUNCATE")  # a clean file at shutdown

    def _loop(self) -> None:
        while not self._stopped.wait(self._every_s):
            self._checkpoint("TRUNCATE" if self._wal_bytes() > self._max_wal_bytes else "PASSIVE")

    def _wal_bytes(self) -> int:
        wal = Path(f"{self._database}-wal")
        try:
            return wal.stat().st_size
        except OSError:
            return 0

    def _checkpoint(self, mode: str) -> None:
        try:
            with closing(sqlite3.connect(str(self._database), timeout=1)) as conn:
                conn.execute(f"PRAGMA wal_checkpoint({mode})")
        except sqlite3.Error as e:  # busy or locked: the next turn tries again
            logger.debug("WAL checkpoint skipped: %s", type(e).__name__)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory whose sessions never expire objects on commit."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


AFTER_ROLLBACK = "rujai.after_rollback"
STAGED = "rujai.staged"
READ_ONLY = "rujai.read_only"


class KeepsWrites(Exception):
    """Mixin for an error that fails its request but keeps what the unit wrote before it.

    For a refusal that must count: a wrong one-time code's attempt is claimed with one conditional
    UPDATE *before* the code is compared, and that claim must stay committed when the request
    then fails, or a concurrent attempt would find the slot free again (``rights.verification``).
    The writer commits such a unit's savepoint instead of rolling it back (``session_scope`` its
    transaction) and still hands the error to the caller. Raise it only after writes that are
    meant to stay.
    """


def keeps_writes(error: BaseException) -> bool:
    """True for an error whose unit's writes are committed all the same (``KeepsWrites``)."""
    return isinstance(error, KeepsWrites)


def keep_even_on_rollback(session: Session, write: Callable[[Session], object]) -> None:
    """Run ``write`` in this transaction, or in a fresh one if this one rolls back.

    Used to audit a refusal: the request that was refused is about to fail, but the record that it
    was refused must stay. Runs at the end of the unit of work, so no lock is held meanwhile.
    """
    session.info.setdefault(AFTER_ROLLBACK, []).append(write)


def run_kept(session: Session) -> None:
    """Run (and forget) the writes ``keep_even_on_rollback`` registered on ``session``."""
    for write in session.info.pop(AFTER_ROLLBACK, []):
        write(session)


def is_read_only(session: Session) -> bool:
    """True for a request's read session: its writes must be staged for the writer."""
    return bool(session.info.get(READ_ONLY))


@dataclass(frozen=True, slots=True)
class Deferred:
    """Rows of one ``kind`` for the writer to store with the rest of its batch.

    The writer gathers the deferred rows of every unit in a batch and hands each kind's rows to
    its flusher at once (``register_flusher``): one statement per kind per batch instead of one
    per request (decisions, audit entries).
    """

    kind: str
    payload: Any


_FLUSHERS: dict[str, Callable[[Session, list[Any]], object]] = {}


def register_flusher(kind: str, flush: Callable[[Session, list[Any]], object]) -> None:
    """Name how rows of ``kind`` are stored (called once, at import, by the owning domain)."""
    _FLUSHERS[kind] = flush


def flush_deferred(session: Session, items: Iterable[Deferred]) -> None:
    """Store deferred rows, kind by kind, in the order given."""
    by_kind: dict[str, list[Any]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item.payload)
    for kind, payloads in by_kind.items():
        _FLUSHERS[kind](session, payloads)


def defer(session: Session, item: Deferred) -> None:
    """Store ``item`` now on a writing session; on a request's read session, stage it."""
    if is_read_only(session):
        stage(session, item)
    else:
        flush_deferred(session, [item])


def write(session: Session, work: Callable[[Session], object]) -> None:
    """Run ``work`` now on a writing session; on a request's read session, stage it."""
    if is_read_only(session):
        stage(session, work)
    else:
        work(session)


Staged = Callable[[Session], object] | Deferred


def stage(session: Session, item: Staged) -> None:
    """Hand ``item`` to the writer when this read session's request succeeds (see get_session)."""
    session.info.setdefault(STAGED, []).append(item)


def take_staged(session: Session, *, succeeded: bool) -> list[Staged]:
    """Remove and return what the writer must store for this read session's request.

    What was staged goes only if the request succeeded; refusals kept on rollback always go.
    """
    staged: list[Staged] = session.info.pop(STAGED, [])
    kept: list[Staged] = session.info.pop(AFTER_ROLLBACK, [])
    return [*staged, *kept] if succeeded else kept


async def get_session(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: a read-only session; what it staged is committed before the response.

    The session reads on its own connection and never commits. Writes staged on it (audit
    entries of its policy checks, refusals kept on rollback) go to the process's writer as one
    unit when the endpoint returns, and the response waits for their commit.
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    if session.get_bind() not in _READERS:  # a wiring mistake; never reached by a client
        session.close()
        raise RuntimeError("request sessions must come from an engine made with role='reader'")
    session.info[READ_ONLY] = True
    succeeded = False
    try:
        yield session
        succeeded = True
    finally:
        staged = take_staged(session, succeeded=succeeded)
        session.close()
        if staged:
            await request.app.state.writer.run_staged(staged)


async def run_reads(session: Session, work: Callable[[], T]) -> T:
    """Run a request's reads: inline on SQLite, in a worker thread on a network database.

    SQLite reads are in-process CPU work of microseconds, cheaper than a hop to a thread; a
    PostgreSQL read is a network round trip, which must not hold the event loop meanwhile.
    """
    if session.get_bind().dialect.name == "sqlite":
        return work()
    return await run_in_threadpool(work)


def get_write_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency for form handlers that read what they write: the writer's session.

    A sync generator, so it runs in a worker thread: the handler's whole body is one unit of the
    writer (``Writer.lend``), committed when the endpoint returns and before the response.
    """
    with request.app.state.writer.lend() as session:
        yield session


# scope="function": the teardown runs when the endpoint returns, before the response is sent,
# so a success response means the staged writes are committed (DESIGN invariant 5).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]


def alembic_config(url: str) -> Any:
    """Build an Alembic Config pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Revert migrations down to ``revision``."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)
