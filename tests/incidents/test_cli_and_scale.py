"""``rujai incidents`` end to end, the blast radius's queries at scale, and erasure of a notified
subject (TH-BRE-01, TH-DSR-04)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

from rujai.cli import app as rujai_cli
from rujai.config import get_settings
from rujai.incidents import blast, notices, service
from rujai.rights import erasure, verify
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.factories import NOW, make_subject
from tests.incidents.seeding import _purchase, incident_body, seed
from tests.incidents.test_register import _assessment


@pytest.fixture
def cli_env(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_cli_declares_assesses_measures_drafts_and_exports_th_bre_01(
    cli_env, factory, keyring, policy, tmp_path
):
    with session_scope(factory) as s:
        seed(s, keyring, policy)
    runner = CliRunner()
    declared = runner.invoke(rujai_cli, [
        "incidents", "declare", "--title", "Public bucket", "--description", "Open for 2 days.",
        "--aware-at", NOW.isoformat(), "--occurred-from", (NOW - timedelta(days=2)).isoformat(),
        "--occurred-to", NOW.isoformat(), "--category", "purchase_history", "--category",
        "contact", "--system", "backup",
    ])  # fmt: skip
    assert declared.exit_code == 0, declared.output
    incident_id = declared.output.split()[0]
    assert "พ.ศ. 2569" in declared.output
    radius = runner.invoke(rujai_cli, ["incidents", "blast-radius", incident_id, "--subjects"])
    assert radius.exit_code == 0, radius.output
    assert json.loads(radius.output)["subject_count"] == 2
    assessed = runner.invoke(rujai_cli, [
        "incidents", "assess", incident_id, "--data-kind", "contact", "--subject-count", "2",
        "--record-count", "4", "--likelihood", "low", "--severity", "low", "--measures",
        "Bucket closed.", "--decision", "no_notice", "--reasoning", "Only order ids, no harm.",
    ])  # fmt: skip
    assert assessed.exit_code == 0, assessed.output
    assert "no_notice" in assessed.output
    drafts = runner.invoke(rujai_cli, ["incidents", "drafts", incident_id, "--lang", "en"])
    assert "Bucket closed." in drafts.output
    listed = runner.invoke(rujai_cli, ["incidents", "list"])
    assert "no_notice" in listed.output
    out = tmp_path / "register.csv"
    exported = runner.invoke(rujai_cli, ["incidents", "export", "-f", "csv", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert out.read_text(encoding="utf-8").startswith("\ufeff")


def test_the_cli_names_the_bad_option(cli_env):
    result = CliRunner().invoke(rujai_cli, [
        "incidents", "declare", "--title", "x", "--description", "y",
        "--aware-at", "2026-12-01T09:00:00", "--occurred-from", "2026-12-01T08:00:00+07:00",
        "--occurred-to", "2026-12-01T09:00:00+07:00", "--category", "contact",
    ])  # fmt: skip
    assert result.exit_code == 1
    assert "time zone" in result.output


def test_the_blast_radius_runs_the_same_queries_for_ten_or_a_hundred_subjects(
    session, keyring, policy, engine
):
    """Set-based: the number of statements does not grow with the subjects (under 500)."""

    def statements(n: int, prefix: str) -> int:
        for i in range(n):
            make_subject(session, keyring, f"C-{prefix}-{i}")
            _purchase(session, keyring, policy, f"C-{prefix}-{i}", f"O-{prefix}-{i}", NOW)
        incident = service.declare(
            session, policy=policy, body=incident_body(), now=NOW, actor="test"
        )
        window = blast.window_of(
            incident.id, incident.categories, incident.occurred_from, incident.occurred_to
        )
        seen: list[str] = []

        def count(*_args: object) -> None:
            seen.append("x")

        event.listen(engine, "before_cursor_execute", count)
        try:
            radius = blast.measure(
                session, keyring=keyring, policy=policy, window=window, with_subjects=True,
                now=NOW, actor="test",
            )  # fmt: skip
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert radius.subject_count >= n
        return len(seen)

    few = statements(10, "FEW")
    many = statements(100, "MANY")
    assert many <= few + 2  # a constant, not one per subject


def test_erasing_a_notified_subject_keeps_the_notice_without_the_link_th_dsr_04(
    factory, keyring, policy
):
    with session_scope(factory) as s:
        people = seed(s, keyring, policy)
        incident = service.declare(s, policy=policy, body=incident_body(), now=NOW, actor="t")
        service.assess(
            s, policy=policy, incident_id=incident.id, body=_assessment(), now=NOW, actor="t"
        )
        notices.notify_subjects(
            s, keyring=keyring, policy=policy, incident_id=incident.id, lang="th", now=NOW,
            actor="t",
        )  # fmt: skip
    with session_scope(factory) as s:
        erasure.erase_customer(
            s, keyring=keyring, policy=policy, customer_id="C-INC-A", now=NOW, actor="t"
        )
    with session_scope(factory) as s:
        kept = notices.list_notices(s, incident_id=incident.id)
        left = verify.subject_rows(s, [people.adult.id])
    assert len([n for n in kept if n.audience == "subject"]) == 2
    assert "incident_notice" not in left
