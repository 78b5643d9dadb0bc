"""``rujai disclosures export|list|ropa`` against a real database; errors name file and line."""

from __future__ import annotations

import base64
import json

import pytest
from typer.testing import CliRunner

from rujai.cli import app
from rujai.config import get_settings
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.disclosures.helpers import customer


@pytest.fixture
def runner(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def audience(factory, keyring, policy, tmp_path):
    with session_scope(factory) as s:
        customer(s, keyring, policy, "C-1", grants=("email_marketing",))
        customer(s, keyring, policy, "C-2")
    path = tmp_path / "audience.txt"
    path.write_text("C-1\nC-2\n\n", encoding="utf-8")
    return path


def _export(runner, audience, out, *extra):
    return runner.invoke(app, [
        "disclosures", "export", "--recipient", "lumen_mail", "--purpose", "email_marketing",
        "--categories", "contact,identity", "--customers", str(audience), "--out", str(out),
        *extra,
    ])  # fmt: skip


def test_export_writes_the_file_and_counts_the_refused_th_use_01(runner, audience, tmp_path):
    out = tmp_path / "mail.json"
    result = _export(runner, audience, out, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "1 of 2 disclosed" in result.stdout
    assert "no_consent: 1" in result.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [r["traits"]["email"] for r in document["records"]] == ["somchai.j@example.com"]
    listed = runner.invoke(app, ["disclosures", "list", "--recipient", "lumen_mail"])
    assert listed.exit_code == 0, listed.output
    assert "email_marketing" in listed.stdout
    assert "C-1" not in listed.stdout
    ropa = runner.invoke(app, ["disclosures", "ropa", "--format", "json", "--lang", "en"])
    assert ropa.exit_code == 0, ropa.output
    rows = {r["purpose_id"]: r for r in json.loads(ropa.stdout)["rows"]}
    assert rows["email_marketing"]["disclosures"] == [
        "Lumen Mail Pte. Ltd. (SG): 1 times, 1 people; Your consent; "
        "Standard data protection clauses"
    ]
    assert rows["email_marketing"]["disclosures_without_consent"] == 0


def test_a_bad_line_names_the_file_and_the_line(runner, audience, tmp_path):
    audience.write_text("C-1\nC-\u00002\n", encoding="utf-8")
    result = _export(runner, audience, tmp_path / "x.csv")
    assert result.exit_code == 1
    assert f"{audience}:2: customer_id" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_a_refused_recipient_exits_1_with_the_reason(runner, audience, tmp_path):
    result = runner.invoke(app, [
        "disclosures", "export", "--recipient", "swift_delivery", "--purpose", "email_marketing",
        "--categories", "contact", "--customers", str(audience), "--out", str(tmp_path / "x"),
    ])  # fmt: skip
    assert result.exit_code == 1
    assert "Siam Swift Delivery Co., Ltd. (TH)" in result.stderr


def test_a_bad_option_names_it(runner, audience, tmp_path):
    result = _export(runner, audience, tmp_path / "x", "--format", "xlsx")
    assert result.exit_code == 1
    assert "--format" in result.stderr
    bad = runner.invoke(app, [
        "disclosures", "export", "--recipient", "Lumen!", "--purpose", "email_marketing",
        "--categories", "contact", "--customers", str(audience), "--out", str(tmp_path / "x"),
    ])  # fmt: skip
    assert bad.exit_code == 1
    assert "--recipient" in bad.stderr
