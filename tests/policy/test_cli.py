"""`rujai policy check` and `rujai ropa`, run through Typer's CliRunner on the policy sub-app."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rujai.cli.policy import app, ropa
from rujai.config import get_settings
from rujai.policy.loader import load_policy_file
from tests.policy.broken_cases import BROKEN, EXAMPLE, Broken

runner = CliRunner()


@pytest.fixture
def ropa_app() -> typer.Typer:
    """The ``ropa`` function as a one-command app, as ``rujai ropa`` registers it."""
    single = typer.Typer()
    single.command()(ropa)
    return single


@pytest.fixture
def configured_policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE))
    get_settings.cache_clear()
    yield EXAMPLE
    get_settings.cache_clear()


def test_check_example_policy_exits_0_with_a_summary() -> None:
    result = runner.invoke(app, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "health_tailored_offers" in result.stdout
    assert "explicit_consent" in result.stdout
    assert "ok: 10 categories (1 sensitive" in result.stdout  # with age (TH-MIN-01)
    assert result.stderr == ""


@pytest.mark.parametrize("case", BROKEN, ids=[c.id for c in BROKEN])
def test_check_broken_policy_exits_1_naming_file_line_field_rule(
    tmp_path: Path, case: Broken
) -> None:
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text(), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    expected = f"{path}:{case.line()}: {case.field}: "
    lines = [line for line in result.stderr.splitlines() if line.startswith(expected)]
    assert lines, result.stderr
    cite = f"[rule {case.rule}, {case.ref}]" if case.ref else f"[rule {case.rule}]"
    assert any(line.endswith(cite) for line in lines), lines


def test_check_missing_file_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}: (file): policy file not found" in result.stderr
    assert "[rule file-not-found]" in result.stderr


def test_ropa_defaults_to_thai_csv_of_the_configured_policy(
    ropa_app: typer.Typer, configured_policy: Path
) -> None:
    result = runner.invoke(
        ropa_app, ["--policy-only"]
    )  # the live record: tests/rights/test_ropa.py
    assert result.exit_code == 0, result.output
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header[0] == "ผู้ควบคุมข้อมูลส่วนบุคคล"
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) == 1 + len(load_policy_file(configured_policy).purposes)  # a row per purpose


def test_ropa_json_in_english_from_a_given_policy(ropa_app: typer.Typer) -> None:
    args = ["--format", "json", "--lang", "en", "--policy", str(EXAMPLE), "--policy-only"]
    result = runner.invoke(ropa_app, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["columns"]["controller"] == "Controller"


def test_ropa_html(ropa_app: typer.Typer) -> None:
    result = runner.invoke(
        ropa_app, ["-f", "html", "-l", "en", "-p", str(EXAMPLE), "--policy-only"]
    )
    assert result.exit_code == 0, result.output
    assert '<html lang="en">' in result.stdout


@pytest.mark.parametrize(("option", "value"), [("--format", "xml"), ("--lang", "fr")])
def test_ropa_bad_option_names_it(ropa_app: typer.Typer, option: str, value: str) -> None:
    result = runner.invoke(ropa_app, [option, value, "--policy", str(EXAMPLE)])
    assert result.exit_code == 2
    assert option in result.output
    assert value in result.output


def test_ropa_of_a_broken_policy_exits_1_with_its_problems(
    ropa_app: typer.Typer, tmp_path: Path
) -> None:
    case = BROKEN[1]
    path = tmp_path / "broken.yaml"
    path.write_text(case.text(), encoding="utf-8")
    result = runner.invoke(ropa_app, ["--policy", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{case.line()}: {case.field}:" in result.stderr
    assert result.stdout == ""
