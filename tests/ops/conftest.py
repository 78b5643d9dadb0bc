"""A second, empty database on the backend under test: where a backup is restored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import _libpq, _pg_server_url


@pytest.fixture
def other_db(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database on ``db_url``'s backend (dropped afterwards)."""
    if make_url(db_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"rujai_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(_pg_server_url()), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(db_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(_libpq(_pg_server_url()), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
