"""``rujai keys create|list|revoke`` against a real database."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from rujai.cli import app
from rujai.config import get_settings

KEY_RE = re.compile(r"rk_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def runner(db_url: str, factory: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_keys_create_prints_the_key_once_with_a_warning(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["keys", "create", "--name", "web shop", "--scope", "consent", "--scope", "track"]
    )
    assert result.exit_code == 0, result.output
    assert KEY_RE.search(result.stdout)
    assert "shown only once" in result.stderr
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0
    assert "web shop" in listed.stdout
    assert "track,consent" in listed.stdout
    assert not KEY_RE.search(listed.stdout)


def test_keys_create_with_an_unknown_scope_names_the_option(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "superuser"])
    assert result.exit_code == 1
    assert "--scope" in result.stderr
    assert "superuser" in result.stderr
    assert not KEY_RE.search(result.output)


def test_keys_revoke_marks_the_key_revoked(runner: CliRunner) -> None:
    created = runner.invoke(app, ["keys", "create", "--name", "crm", "--scope", "admin"])
    key_id = UUID_RE.search(created.stdout).group(0)
    result = runner.invoke(app, ["keys", "revoke", key_id])
    assert result.exit_code == 0, result.output
    assert f"revoked key {key_id}" in result.stdout
    listed = runner.invoke(app, ["keys", "list"]).stdout
    row = next(line for line in listed.splitlines() if key_id in line)
    assert row.count("20") >= 2  # created and revoked dates


def test_keys_revoke_of_an_unknown_key_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "revoke", "00000000-0000-4000-8000-000000000000"])
    assert result.exit_code == 1
    assert "not found" in result.stderr


def test_a_partner_key_is_bound_to_one_recipient_th_use_01(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["keys", "create", "--name", "mailer", "--scope", "partner:lumen_mail"]
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["keys", "list"])
    assert "partner:lumen_mail" in listed.stdout
    bare = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "partner"])
    assert bare.exit_code == 1
    assert "--scope" in bare.stderr
