"""``rujai profiles import-verified``: good rows kept, bad rows named by file, line and field
(TH-SEC-01: sealed and blind-indexed, audited without the value; TH-DSR-00)."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from rujai.audit import service as audit_service
from rujai.cli import app
from rujai.config import get_settings
from rujai.profiles import identities
from rujai.profiles.models import Identity
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY

runner = CliRunner()
HEADER = "customer_id,kind,value,verified_at,method,evidence_ref\n"


@pytest.fixture
def cli_env(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def test_import_keeps_good_rows_and_names_line_and_field_of_bad_ones(
    cli_env, tmp_path, factory, keyring
):
    """TH-SEC-01: the good rows are stored verified with their method; bad ones are reported."""
    csv = tmp_path / "verified.csv"
    csv.write_text(
        HEADER
        + "C-V-1,email,ploy.rakdee@example.com,2026-11-01T10:00:00+07:00,email_link,crm-1\n"
        + "C-V-2,phone,081 234 5678,2026-11-02T09:00:00+07:00,sms_otp,\n"
        + "C-V-3,email,kittipong@example.com,2026-11-03T09:00:00,in_store_id_check,\n"
        + "C-V-4,email,not-an-email,2026-11-03T09:00:00+07:00,email_link,\n"
        + "C-V-5,fax,0812345678,2026-11-03T09:00:00+07:00,email_link,\n"
        + "C-V-6,email,x6@example.com,0001-01-01T00:00:00+14:00,email_link,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["profiles", "import-verified", str(csv)])
    assert result.exit_code == 1, result.output
    assert "recorded 2 verified identities" in result.stdout
    assert f"{csv}:4: verified_at:" in result.stderr
    assert f"{csv}:5: value:" in result.stderr
    assert f"{csv}:6: kind:" in result.stderr
    assert f"{csv}:7: verified_at: verified_at is out of range" in result.stderr
    assert "kittipong" not in result.output
    assert "not-an-email" not in result.output
    with factory() as s:
        rows = s.scalars(select(Identity).order_by(Identity.kind)).all()
        assert [(r.kind, r.is_verified, r.verification_method) for r in rows] == [
            ("email", True, "email_link"), ("phone", True, "sms_otp"),
        ]  # fmt: skip
        assert all(b"example.com" not in (r.value_sealed or b"") for r in rows)
        holder = identities.find_by_identity(
            s, keyring=keyring, kind="email", value="Ploy.Rakdee@example.com"
        )
        assert holder == rows[0].subject_id
        [summary] = audit_service.list_entries(s, action="identity.verified_import")
    assert summary.detail == {"recorded": 2, "new": 2, "refused": 4}


def test_import_without_a_required_column_names_it(cli_env, tmp_path):
    csv = tmp_path / "short.csv"
    csv.write_text("customer_id,kind,value\nC-1,email,a@example.com\n", encoding="utf-8")
    result = runner.invoke(app, ["profiles", "import-verified", str(csv)])
    assert result.exit_code == 1
    assert f"{csv}:1: verified_at: missing column" in result.stderr


def test_an_erased_customer_or_identifier_is_not_re_linked(session, keyring):
    """TH-DSR-04 with TH-SEC-01: suppressed customer ids and identifiers are refused, by field."""
    from datetime import timedelta

    from rujai.profiles import service as profiles_service, suppression, verified
    from rujai.profiles.schemas import VerifiedIdentityCreate
    from rujai.profiles.verified import IdentitySuppressed
    from tests.factories import NOW

    gone_customer = keyring.blind("customer", profiles_service.normalise_customer_id("C-GONE-9"))
    gone_email = keyring.blind("email", "gone.person@example.com")
    suppression.suppress(
        session, [("customer", gone_customer), ("email", gone_email)], request_id=None, now=NOW
    )
    body = VerifiedIdentityCreate(
        kind="email", value="new.person@example.com", verified_at=NOW - timedelta(days=1),
        method="email_link",
    )  # fmt: skip
    with pytest.raises(IdentitySuppressed) as refused:
        verified.record_verified(session, keyring=keyring, customer_id="C-GONE-9", body=body,
                                 now=NOW, actor="test")  # fmt: skip
    assert refused.value.field == "customer_id"
    again = body.model_copy(update={"value": "Gone.Person@example.com"})
    with pytest.raises(IdentitySuppressed) as refused:
        verified.record_verified(session, keyring=keyring, customer_id="C-NEW-9", body=again,
                                 now=NOW, actor="test")  # fmt: skip
    assert refused.value.field == "value"
    assert profiles_service.find_id(session, keyring=keyring, customer_id="C-NEW-9") is None
