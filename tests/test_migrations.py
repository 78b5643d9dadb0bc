"""Migrations match the models and revert cleanly, on SQLite and PostgreSQL (STYLE.md §8)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import rujai.models_registry  # noqa: F401 - fills Base.metadata
from rujai.db import Base, downgrade, make_engine, upgrade


def test_models_match_migrations(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    assert "consent_record" in inspect(engine).get_table_names()
    engine.dispose()
