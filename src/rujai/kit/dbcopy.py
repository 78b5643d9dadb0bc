"""Copying a database out to a file and back in: SQLite's online backup API, pg_dump/pg_restore.

- SQLite: ``sqlite3.Connection.backup`` copies every page under one read transaction, so the copy
  is consistent while the server keeps writing (WAL readers never block the writer). The copy is
  turned into a plain one-file database (``journal_mode=DELETE``) and checked
  (``PRAGMA quick_check``). Loading copies it page by page over the target the same way.
- PostgreSQL: ``pg_dump --format=custom`` (one snapshot, the server keeps serving) and
  ``pg_restore --single-transaction --exit-on-error`` into an emptied ``public`` schema. A password
  in the URL is handed to the tools in ``PGPASSWORD``, never on their command line.

Only the database is copied: key files, the audit checkpoints and the erasure log live outside it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

from rujai.errors import AppError

PG_TIMEOUT_S = 3600


class CopyFailed(AppError):
    """The database could not be copied out or in (the tool's message says why)."""


def backend(url: str) -> str:
    """Return ``sqlite`` or ``postgresql`` for a SQLAlchemy URL; raise CopyFailed otherwise."""
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise CopyFailed(f"cannot copy a {name} database (SQLite and PostgreSQL only)")
    return name


def dump(url: str, out: Path) -> None:
    """Write a consistent copy of the database at ``url`` to ``out`` (a new file)."""
    if out.exists():
        raise CopyFailed(f"{out} exists: a backup never overwrites a file")
    if backend(url) == "sqlite":
        _sqlite_copy(f"file:{_sqlite_path(url)}", out)
        with closing(sqlite3.connect(out)) as copy:
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _check(copy, out)
        return
    target, env = _libpq(url)
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
          f"--file={out}", f"--dbname={target}"], env)  # fmt: skip


def load(url: str, source: Path) -> None:
    """Replace the database at ``url`` with the copy in ``source`` (the server must be stopped)."""
    if not source.is_file():
        raise CopyFailed(f"{source} is not a file")
    if backend(url) == "sqlite":
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as copy:
            _check(copy, source)
        _sqlite_copy(f"file:{source}?mode=ro", _sqlite_path(url))
        return
    target, env = _libpq(url)
    with psycopg.connect(target, password=_password(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", f"--dbname={target}", str(source)], env)  # fmt: skip


def table_count(url: str) -> int:
    """Return how many tables the database at ``url`` has (0: empty or absent)."""
    if backend(url) == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            return 0
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
        return int(row[0])
    target, _env = _libpq(url)
    with psycopg.connect(target, password=_password(url)) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    return int(found[0]) if found else 0


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise CopyFailed("an in-memory SQLite database cannot be copied")
    return Path(database)


def _sqlite_copy(source: str, target: Path) -> None:
    """Copy the database at the URI ``source`` over ``target``, page by page."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            closing(sqlite3.connect(source, uri=True, timeout=30)) as src,
            closing(sqlite3.connect(target, timeout=30)) as dst,
        ):
            src.backup(dst)
    except sqlite3.Error as e:
        raise CopyFailed(f"copying {source} to {target} failed: {e}") from e


def _check(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()
    if not result or result[0] != "ok":
        raise CopyFailed(f"{path} is not a sound SQLite database: {result}")


def _password(url: str) -> str | None:
    password = make_url(url).password
    return None if password is None else str(password)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URL without its password, and an environment carrying the password."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(argv[0])
    if tool is None:
        raise CopyFailed(f"{argv[0]} is not installed (it ships with the PostgreSQL client)")
    try:
        subprocess.run(  # noqa: S603 - a fixed tool, arguments built here (no shell)
            [tool, *argv[1:]], env=env, check=True, capture_output=True, timeout=PG_TIMEOUT_S
        )
    except subprocess.CalledProcessError as e:
        message = e.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise CopyFailed(f"{argv[0]} failed: {' / '.join(message)}") from e
    except subprocess.TimeoutExpired as e:
        raise CopyFailed(f"{argv[0]} took longer than {PG_TIMEOUT_S} s") from e
