"""Consent receipts: signed, verifiable, tamper-evident, free of identifiers (TH-CON-04)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rujai.cli import app
from rujai.consent.receipts import verify_receipt
from rujai.kit.crypto import Keyring
from tests.factories import make_consent

runner = CliRunner()


@pytest.fixture
def receipt_data(session, keyring, policy) -> dict:
    receipt = make_consent(session, keyring, policy, "recommendations", customer_id="C-RCPT-9")
    return json.loads(receipt.model_dump_json())


def test_receipt_verifies_after_a_json_round_trip(receipt_data, keyring):
    assert verify_receipt(keyring, receipt_data)
    assert receipt_data["issued_by"] == "rujai"


def test_receipt_holds_no_customer_id_or_contact_data(receipt_data):
    text = json.dumps(receipt_data, ensure_ascii=False)
    assert "C-RCPT-9" not in text
    assert "@" not in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action", "withdraw"),
        ("purpose", "analytics"),
        ("recorded_at", "2020-01-01T00:00:00+00:00"),
        ("notice_version", 9),
        ("subject_id", "00000000-0000-4000-8000-000000000000"),
        ("extra", "added"),
    ],
)
def test_tampered_receipt_fails_verification(receipt_data, keyring, field, value):
    tampered = {**receipt_data, field: value}
    assert not verify_receipt(keyring, tampered)


def test_receipt_without_a_string_signature_fails(receipt_data, keyring):
    assert not verify_receipt(keyring, {k: v for k, v in receipt_data.items() if k != "signature"})
    assert not verify_receipt(keyring, {**receipt_data, "signature": 42})


def test_receipt_signed_under_another_key_fails(receipt_data):
    assert not verify_receipt(Keyring(bytes(32)), receipt_data)


def _verify_file(path: Path):
    return runner.invoke(app, ["consent", "verify-receipt", str(path)])


def test_cli_verify_receipt_accepts_a_valid_file(receipt_data, cli_keys, tmp_path):
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt_data, ensure_ascii=False, indent=2), encoding="utf-8")
    result = _verify_file(path)
    assert result.exit_code == 0, result.output
    assert "receipt valid" in result.output


def test_cli_verify_receipt_rejects_a_tampered_file(receipt_data, cli_keys, tmp_path):
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps({**receipt_data, "action": "withdraw"}), encoding="utf-8")
    result = _verify_file(path)
    assert result.exit_code == 1
    assert "receipt INVALID: signature does not match" in result.output


def test_cli_verify_receipt_names_the_file_when_missing(cli_keys, tmp_path):
    result = _verify_file(tmp_path / "nope.json")
    assert result.exit_code == 2
    assert "cannot read" in result.output
    assert "nope.json" in result.output


def test_cli_verify_receipt_names_the_line_when_json_is_broken(cli_keys, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "receipt_id": "x",\n  oops\n}\n', encoding="utf-8")
    result = _verify_file(path)
    assert result.exit_code == 2
    assert "broken.json is not valid JSON: line 3" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"[1, 2]", "expected a JSON object"), (b"\xff\xfe\x00junk", "not UTF-8")],
)
def test_cli_verify_receipt_refuses_a_file_that_is_not_a_receipt(
    cli_keys, tmp_path, content, message
):
    path = tmp_path / "odd.json"
    path.write_bytes(content)
    result = _verify_file(path)
    assert result.exit_code == 2
    assert message in result.output
    assert "odd.json" in result.output


def test_receipt_payload_is_what_was_signed(session, keyring, policy):
    receipt = make_consent(session, keyring, policy, "analytics")
    assert "signature" not in receipt.payload()
    assert keyring.verify(receipt.payload(), receipt.signature)
