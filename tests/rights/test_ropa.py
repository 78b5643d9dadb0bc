"""The live record of processing (TH-ROPA-01): the policy's activities and the refused requests.

``rujai ropa`` reads the refused requests (s.39(7)) from the configured database; ``--policy-only``
gives what the policy file alone says. The console's downloads are in tests/web/test_legal_walk.py.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from rujai.cli.policy import ropa
from rujai.config import get_settings
from rujai.rights import ropa as rights_ropa, service
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.factories import NOW
from tests.rights.test_requests import EMAIL, person, submit


@pytest.fixture
def cli_env(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _refused(factory, keyring, policy):
    """Two refused requests: an erasure (legal hold) and a withdrawal of email_marketing."""
    with session_scope(factory) as s:
        person(s, keyring)
        erasure = submit(s, keyring, policy, "erasure")
        withdrawal = submit(s, keyring, policy, "withdrawal", detail={"purpose": "email_marketing"})
        for request, code in ((erasure, "legal_hold"), (withdrawal, "identity_not_verified")):
            service.refuse(
                s, keyring=keyring, policy=policy, request_id=request.id, refusal_code=code,
                note="บันทึกภายใน-7731", now=NOW + timedelta(days=1), actor="test",
            )  # fmt: skip
    return erasure, withdrawal


def _app():
    import typer

    single = typer.Typer()
    single.command()(ropa)
    return single


def test_cli_record_of_processing_lists_refused_requests_from_the_database_th_ropa_01(
    cli_env, factory, keyring, policy
):
    """TH-ROPA-01 (s.39(7)): the record given out lists every refused request with its reason and
    provision, and counts them on the row of their purpose, in Thai (Buddhist Era) and English."""
    erasure, withdrawal = _refused(factory, keyring, policy)
    runner = CliRunner()
    result = runner.invoke(_app(), ["--format", "json", "--lang", "en"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    refused = body["refused_requests"]["rows"]
    by_id = {r["request_id"]: r for r in refused}
    assert {rid: r["refusal_code"] for rid, r in by_id.items()} == {
        str(erasure.id): "legal_hold", str(withdrawal.id): "identity_not_verified",
    }  # fmt: skip
    hold = by_id[str(erasure.id)]
    assert "s.33" in hold["provision"]
    assert hold["reason"].startswith("A law requires")
    counts = {row["purpose_id"]: row["refused_requests"] for row in body["rows"]}
    assert counts["email_marketing"] == 1
    assert sum(counts.values()) == 1
    assert "2 in all" in body["rows"][0]["note"]
    assert "บันทึกภายใน-7731" not in result.stdout
    assert EMAIL not in result.stdout
    thai = runner.invoke(_app(), ["--format", "csv"])
    assert thai.exit_code == 0, thai.output
    lines = list(csv.reader(io.StringIO(thai.stdout)))
    title = lines.index(["คำขอใช้สิทธิที่ถูกปฏิเสธพร้อมเหตุผล (มาตรา 39(7))"])
    assert lines[title + 1][0] == "เลขที่คำขอ"
    assert len(lines) == title + 4
    assert "2 ธันวาคม พ.ศ. 2569" in thai.stdout or "1 ธันวาคม พ.ศ. 2569" in thai.stdout
    html = runner.invoke(_app(), ["--format", "html", "--lang", "th"])
    assert "<h2>คำขอใช้สิทธิที่ถูกปฏิเสธพร้อมเหตุผล (มาตรา 39(7))</h2>" in html.stdout
    policy_only = runner.invoke(_app(), ["--format", "json", "--policy-only"])
    assert "refused_requests" not in json.loads(policy_only.stdout)


def test_live_record_without_refusals_says_none_and_keeps_every_activity(session, policy):
    """TH-ROPA-01: with no refused request the table is empty and every purpose has its row."""
    body = json.loads(
        rights_ropa.record_of_processing(session, policy=policy, lang="th", fmt="json")
    )
    assert body["refused_requests"]["rows"] == []
    assert [row["purpose_id"] for row in body["rows"]] == list(policy.purposes)
    assert all(row["refused_requests"] == 0 for row in body["rows"])
