"""Fixtures of the consent tests: the environment the ``rujai`` CLI reads its settings from."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from rujai.config import get_settings
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY


@pytest.fixture
def cli_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI at the test master key and the example policy (no database needed)."""
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def cli_env(
    cli_keys: None, db_url: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> str:
    """Point the CLI at the test database too (emptied after the test by ``factory``)."""
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    return db_url
