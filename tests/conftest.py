"""Shared fixtures: real SQLite and PostgreSQL databases, settings, an app client.

Every test that asks for ``db_url`` (directly or via ``session``, ``factory``, ``client``) runs
once on SQLite and once on PostgreSQL. Each backend gets a fresh database built by
``alembic upgrade head`` once per test session; after each test every table is emptied.

PostgreSQL is found through ``RUJAI_TEST_POSTGRES_URL`` (a server URL; databases are created and
dropped in it). Without it the default local server is tried; if none answers, the PostgreSQL
runs are skipped with that reason, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

import rujai.listeners
import rujai.models_registry  # noqa: F401 - fills Base.metadata
from rujai.config import Settings
from rujai.db import Base, make_engine, make_session_factory, upgrade
from rujai.kit.crypto import Keyring
from rujai.main import Storage
from rujai.policy.loader import load_policy_file
from rujai.policy.schemas import Policy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"
TEST_MASTER_KEY = bytes(range(32))
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# The shared data sets live beside the checkout (../shared/data); never copied into the repo.
SHARED_DATA = next(
    (p for p in (ROOT.parent / "shared" / "data", Path("/work/shared/data")) if p.is_dir()),
    ROOT.parent / "shared" / "data",
)


def _pg_server_url() -> str:
    return os.environ.get("RUJAI_TEST_POSTGRES_URL") or DEFAULT_PG


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'rujai.db'}"
        upgrade(url)
        yield url
        return
    server = _pg_server_url()
    name = f"rujai_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(_libpq(server), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at RUJAI_TEST_POSTGRES_URL or {DEFAULT_PG}: {e}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)
    url_text = url.render_as_string(hide_password=False)
    upgrade(url_text)
    yield url_text
    with psycopg.connect(_libpq(server), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def own_db_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own on ``db_url``'s backend, for tests that kill servers:
    whatever a killed process leaves behind cannot reach the session's shared database."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'own.db'}"
        upgrade(url)
        yield url
        return
    server = _pg_server_url()
    name = f"rujai_own_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url_text = make_url(server).set(drivername="postgresql+psycopg", database=name)
    rendered = url_text.render_as_string(hide_password=False)
    upgrade(rendered)
    yield rendered
    with psycopg.connect(_libpq(server), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url, pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on a database that is emptied after the test."""
    yield make_session_factory(engine)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed when the test ends without error."""
    s = factory()
    try:
        yield s
        s.commit()
    finally:
        s.close()


@pytest.fixture(autouse=True)
def _erasure_log_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI commands erase too: their erasure log goes to the test's directory, never ./var."""
    monkeypatch.setenv("RUJAI_RIGHTS__ERASURE_LOG_FILE", str(tmp_path / "erasure-log.jsonl"))


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy_file(EXAMPLE_POLICY)


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring(TEST_MASTER_KEY)


@pytest.fixture
def settings(db_url: str, factory: sessionmaker[Session], tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        audit={
            "signing_key_file": tmp_path / "audit-signing.key",
            "checkpoint_file": tmp_path / "audit-checkpoints.jsonl",
        },
        run_migrations_on_start=False,
        security={"master_key": base64.b64encode(TEST_MASTER_KEY).decode()},
        policy={"path": EXAMPLE_POLICY},
        rights={"retention_interval_hours": 0, "erasure_log_file": tmp_path / "erasure-log.jsonl"},
        personalize={"holdout_share": 0.0},  # tests choose their holdout explicitly
    )


@pytest.fixture
def storage(settings: Settings) -> Iterator[Storage]:
    """A server process's storage (read-only request sessions, the writer), started.

    For tests that build their own small FastAPI app: ``storage.attach(app.state)``.
    """
    opened = Storage.open(settings)
    opened.start()
    yield opened
    opened.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from rujai.main import create_app

    with TestClient(create_app(settings)) as c:
        yield c
