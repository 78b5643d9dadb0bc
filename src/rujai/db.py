"""Database plumbing: the declarative Base, engines, sessions and migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from weakref import WeakSet

from fastapi import Depends, Request
from sqlalchemy import JSON, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

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
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


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


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(
    engine: Engine, *, info: dict[str, Any] | None = None
) -> sessionmaker[Session]:
    """Return a session factory whose sessions never expire objects on commit."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False, info=info)


AFTER_ROLLBACK = "rujai.after_rollback"
STAGED = "rujai.staged"
READ_ONLY = "rujai.read_only"


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


def write(session: Session, work: Callable[[Session], object]) -> None:
    """Run ``work`` now on a writing session; on a request's read session, stage it."""
    if is_read_only(session):
        stage(session, work)
    else:
        work(session)


def stage(session: Session, write: Callable[[Session], object]) -> None:
    """Hand ``write`` to the writer when this read session's request succeeds (see get_session)."""
    session.info.setdefault(STAGED, []).append(write)


def take_staged(session: Session, *, succeeded: bool) -> list[Callable[[Session], object]]:
    """Remove and return what the writer must run for this read session's request."""
    staged = session.info.pop(STAGED, []) if succeeded else []
    session.info.pop(STAGED, None)
    return [*staged, *session.info.pop(AFTER_ROLLBACK, [])]


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
            await request.app.state.writer.run(partial(_run_all, staged))


def get_write_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency for form handlers that read what they write: the writer's session.

    A sync generator, so it runs in a worker thread: the handler's whole body is one unit of the
    writer (``Writer.lend``), committed when the endpoint returns and before the response.
    """
    with request.app.state.writer.lend() as session:
        yield session


def _run_all(writes: list[Callable[[Session], object]], session: Session) -> None:
    for write in writes:
        write(session)


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
