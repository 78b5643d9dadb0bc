"""``rujai audit verify`` and ``rujai audit list`` against a real database.

Acceptance criterion: ``rujai audit verify`` exits 0 on an intact chain, and exits 1 naming the
entry after a row is edited and after a row is deleted (TH-SEC-01).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rujai.audit.models import AuditEntry
from rujai.cli import app
from rujai.config import get_settings
from tests.audit.chain import SUBJECT, build_chain, delete_entry, set_head, tamper
from tests.audit.rewrite import edit, rewrite


@pytest.fixture
def runner(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    monkeypatch.setenv("RUJAI_AUDIT__SIGNING_KEY_FILE", str(tmp_path / "audit-signing.key"))
    monkeypatch.setenv("RUJAI_AUDIT__CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def chain(factory: sessionmaker[Session]) -> int:
    with factory() as s, s.begin():
        return len(build_chain(s, 6))


def test_audit_verify_exits_0_on_an_intact_chain(runner: CliRunner, chain: int) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 6 entries" in result.stdout


def test_audit_verify_exits_1_after_an_entry_is_edited(
    runner: CliRunner, chain: int, engine: Engine
) -> None:
    tamper(engine, 3, detail={"i": 2, "reason": "edited"})
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "audit chain broken at entry #3:" in result.stderr
    assert "altered" in result.stderr


def test_audit_verify_exits_1_after_an_entry_is_deleted(
    runner: CliRunner, chain: int, engine: Engine
) -> None:
    delete_entry(engine, 2)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "audit chain broken at entry #2: entry #2 is missing" in result.stderr


def test_audit_verify_exits_1_after_the_last_entry_is_deleted(
    runner: CliRunner, chain: int, engine: Engine
) -> None:
    delete_entry(engine, 6)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "audit chain broken at entry #6" in result.stderr


def test_audit_list_shows_the_newest_entries_for_a_subject(runner: CliRunner, chain: int) -> None:
    result = runner.invoke(app, ["audit", "list", "--subject", str(SUBJECT), "--limit", "2"])
    assert result.exit_code == 0, result.output
    lines = [
        line for line in result.stdout.splitlines() if "consent.grant" in line or "policy." in line
    ]
    assert len(lines) == 2
    assert lines[0].split()[1] == "5"
    assert str(SUBJECT) in result.stdout


def test_audit_list_rejects_a_limit_out_of_range(runner: CliRunner, chain: int) -> None:
    result = runner.invoke(app, ["audit", "list", "--limit", "0"])
    assert result.exit_code == 1
    assert "limit" in result.stderr


def test_audit_verify_warns_without_a_checkpoint(runner: CliRunner, chain: int) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "warning: no checkpoint file" in result.stderr


def test_audit_checkpoint_then_verify_names_the_checkpoint(runner: CliRunner, chain: int) -> None:
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 6 entries; matches checkpoint #6 signed at" in result.stdout
    assert result.stderr == ""


def test_an_auditor_verifies_with_the_public_key_only(
    runner: CliRunner, chain: int, engine: Engine, tmp_path: Path
) -> None:
    """TH-SEC-01: the exported public key suffices; a truncated log is caught (exit 1)."""
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    exported = runner.invoke(app, ["audit", "public-key"])
    public = tmp_path / "auditor" / "audit-public.pem"
    public.parent.mkdir()
    public.write_text(exported.stdout)
    (tmp_path / "audit-signing.key").unlink()  # the auditor never holds the private key
    delete_entry(engine, 6)
    set_head(engine, seq=5, hash=_hash_of(engine, 5))
    args = ["audit", "verify", "--public-key", str(public)]
    result = runner.invoke(app, [*args, "--checkpoints", str(tmp_path / "checkpoints.jsonl")])
    assert result.exit_code == 1
    assert "chain is truncated: checkpoint #6" in result.stderr


def test_audit_verify_checks_a_receipt_file(
    runner: CliRunner, chain: int, engine: Engine, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    head = json.loads((tmp_path / "checkpoints.jsonl").read_text())
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps({"receipt_id": "x", "audit_head": head, "signature": "s"}))
    ok = runner.invoke(app, ["audit", "verify", "--receipt", str(receipt)])
    assert ok.exit_code == 0, ok.output
    assert "1 receipt(s) match" in ok.stdout
    (tmp_path / "checkpoints.jsonl").unlink()
    rewrite(engine, edit(2, purpose="marketing"))
    bad = runner.invoke(app, ["audit", "verify", "--receipt", str(receipt)])
    assert bad.exit_code == 1
    assert f"receipt {receipt}: head #6" in bad.stderr
    receipt.write_text("[1, 2]")
    assert runner.invoke(app, ["audit", "verify", "--receipt", str(receipt)]).exit_code == 2


def _hash_of(engine: Engine, seq: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(AuditEntry.hash).where(AuditEntry.seq == seq)).scalar_one())
