"""``rujai consent grant | withdraw | history`` against both databases."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from rujai.cli import app
from rujai.consent.models import ConsentRecord
from rujai.consent.receipts import verify_receipt

runner = CliRunner()


def _consent(*args: str):
    return runner.invoke(app, ["consent", *args])


def test_cli_grant_prints_a_signed_receipt(cli_env, factory, keyring, policy):
    result = _consent(
        "grant", "C-CLI-1", "personalized_offers", "--channel", "store", "--lang", "en",
        "--age-band", "adult",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    receipt = json.loads(result.stdout)
    assert verify_receipt(keyring, receipt)
    assert (receipt["action"], receipt["actor"], receipt["channel"]) == ("grant", "staff", "store")
    assert (receipt["language"], receipt["notice_version"]) == ("en", 2)
    with factory() as s:
        row = s.scalars(select(ConsentRecord)).one()
    assert (row.purpose, row.evidence_ip_hash) == ("personalized_offers", None)


def test_cli_grant_for_marketing_without_an_age_names_the_option(cli_env):
    """TH-MIN-01: the age is asked for, never assumed; a bad band names --age-band."""
    result = _consent("grant", "C-CLI-9", "personalized_offers")
    assert result.exit_code != 0
    assert "age_band" in result.stderr
    bad = _consent("grant", "C-CLI-9", "personalized_offers", "--age-band", "old")
    assert bad.exit_code != 0
    assert "--age-band" in bad.stderr


def test_cli_withdraw_then_history_shows_both_records(cli_env):
    """TH-CON-03: withdrawing takes the same arguments as granting."""
    assert _consent("grant", "C-CLI-2", "analytics", "--actor", "self").exit_code == 0
    withdrawn = _consent("withdraw", "C-CLI-2", "analytics", "--actor", "self")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert json.loads(withdrawn.stdout)["language"] == "th"  # the policy's default language
    listed = _consent("history", "C-CLI-2", "--json")
    assert listed.exit_code == 0, listed.output
    assert [r["action"] for r in json.loads(listed.stdout)] == ["grant", "withdraw"]
    table = _consent("history", "C-CLI-2")
    assert table.exit_code == 0
    assert "analytics" in table.stdout
    assert "withdraw" in table.stdout


def test_cli_history_fails_without_the_customer_id_when_unknown(cli_env):
    result = _consent("history", "C-CLI-404")
    assert result.exit_code == 1
    assert "no subject" in result.output
    assert "C-CLI-404" not in result.output


def test_cli_grant_fails_for_a_purpose_not_based_on_consent(cli_env):
    result = _consent("grant", "C-CLI-3", "order_fulfilment")
    assert result.exit_code == 1
    assert "consent does not apply" in result.output


def test_cli_grant_needs_explicit_for_sensitive_data(cli_env):
    """TH-SEN-01."""
    refused = _consent("grant", "C-CLI-4", "health_tailored_offers")
    assert refused.exit_code == 1
    assert "explicit" in refused.output
    granted = _consent(
        "grant", "C-CLI-4", "health_tailored_offers", "--explicit", "--birth-date", "1990-02-03"
    )
    assert granted.exit_code == 0, granted.output


def test_cli_grant_names_the_option_when_the_channel_is_too_long(cli_env):
    result = _consent("grant", "C-CLI-5", "analytics", "--channel", "x" * 40)
    assert result.exit_code == 1
    assert "--channel" in result.output
