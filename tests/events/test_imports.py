"""``rujai import``: files go through the one ingest path, one transaction per batch."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rujai.cli.imports import app
from rujai.config import get_settings
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.events.models import Event
from rujai.profiles.models import Subject
from tests.conftest import EXAMPLE_POLICY, SHARED_DATA, TEST_MASTER_KEY

CDNOW_MASTER = SHARED_DATA / "cdnow" / "CDNOW_master.txt"
SECRET = "somchai.secret@example.com"
runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the CLI at the test database, master key and example policy."""
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield EXAMPLE_POLICY
    get_settings.cache_clear()


def purchase(n: int, **overrides) -> dict:
    record = {
        "type": "purchase",
        "customer_id": f"C-IMP-{n % 3}",
        "timestamp": "2026-11-01T10:30:00+07:00",
        "message_id": f"imp-{n}",
        "properties": {"order_id": f"ORD-{n}", "item_id": "SKU-1", "quantity": 1, "amount": 99},
    }
    return {**record, **overrides}


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def stored(factory: sessionmaker[Session]) -> list[tuple[str, bool, str]]:
    with factory() as s:
        rows = s.execute(select(Event.message_id, Event.is_partner_data, Event.source))
        return sorted(tuple(r) for r in rows)


def test_import_events_stores_every_batch_and_prints_a_summary(cli_env, factory, tmp_path):
    records = [purchase(n) for n in range(5)] + [purchase(5, type="wishlist_add")]
    file = write_jsonl(tmp_path / "events.jsonl", records)
    result = runner.invoke(app, ["events", str(file), "--partner", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert [r[0] for r in stored(factory)] == [f"imp-{n}" for n in range(5)]
    assert all(partner and source == "import" for _, partner, source in stored(factory))
    assert "accepted" in result.stdout
    assert "unknown_event_type" in result.stdout


def test_import_with_a_broken_line_exits_non_zero_naming_it_and_keeps_earlier_batches(
    cli_env, factory, tmp_path
):
    """The batch holding the broken line is not written; re-running is idempotent."""
    records: list[dict | str] = [purchase(n) for n in range(5)]
    records.insert(5, f'{{"type": "purchase", "customer_id": "{SECRET}", broken')
    file = write_jsonl(tmp_path / "events.jsonl", records)
    result = runner.invoke(app, ["events", str(file), "--batch-size", "3"])
    assert result.exit_code == 1
    assert "events.jsonl:6: json: not valid JSON" in result.stderr
    assert SECRET not in result.output
    assert [r[0] for r in stored(factory)] == ["imp-0", "imp-1", "imp-2"]

    write_jsonl(file, [purchase(n) for n in range(6)])
    again = runner.invoke(app, ["events", str(file), "--batch-size", "3"])
    assert again.exit_code == 0, again.output
    assert len(stored(factory)) == 6
    assert "duplicates" in again.stdout


def test_import_csv_with_a_bad_timestamp_exits_non_zero_naming_the_line(cli_env, factory, tmp_path):
    file = tmp_path / "events.csv"
    file.write_text(
        "type,customer_id,timestamp,message_id,order_id,item_id,quantity,amount\n"
        "purchase,C-1,2026-11-01T10:00:00Z,c-1,O-1,SKU-1,1,10.5\n"
        "purchase,C-2,yesterday,c-2,O-2,SKU-1,1,10.5\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["events", str(file)])
    assert result.exit_code == 1
    assert "events.csv:3: timestamp: not an ISO 8601 timestamp" in result.stderr
    assert stored(factory) == []


def test_import_of_a_missing_file_exits_non_zero(cli_env, tmp_path):
    result = runner.invoke(app, ["cdnow", str(tmp_path / "nope.txt")])
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_import_cdnow_loads_every_purchase_of_every_customer(tmp_path, monkeypatch):
    """All 69,659 CDNOW purchases of 23,570 customers, on SQLite, through ``rujai import cdnow``.

    CDNOW lines carry no order or item id, so the policy used declares them optional; purchases are
    permitted for everyone through the contract basis of ``order_fulfilment``.
    """
    url = f"sqlite:///{tmp_path / 'cdnow.db'}"
    upgrade(url)
    document = yaml.safe_load(EXAMPLE_POLICY.read_text(encoding="utf-8"))
    for name in ("order_id", "item_id"):
        document["event_types"]["purchase"]["properties"][name]["required"] = False
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(policy_file))
    monkeypatch.setenv("RUJAI_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["cdnow", str(CDNOW_MASTER), "--batch-size", "2000"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            assert s.scalar(select(func.count()).select_from(Event)) == 69_659
            assert s.scalar(select(func.count(func.distinct(Event.subject_id)))) == 23_570
            assert s.scalar(select(func.count()).select_from(Subject)) == 23_570
    finally:
        engine.dispose()
    assert "69,659" in result.stdout
