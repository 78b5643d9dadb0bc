"""Acknowledge and list: ``/v1/processor-notices`` and ``rujai processors`` (TH-PRC-01).

A processor acknowledges its own notices with a ``processor:<recipient>`` key; another recipient's
notice is 403 problem+json; a repeat is idempotent; staff record acks with an admin key or the
CLI; the DPO reads (console, TH-DPO-01) but cannot acknowledge. Real SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from rujai.apikeys import service as apikeys_service
from rujai.audit.models import AuditEntry
from rujai.cli import app as cli_app
from rujai.config import get_settings
from rujai.disclosures import outbox
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.disclosures.factories import make_disclosure
from tests.factories import make_subject

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
runner = CliRunner()


def _notice(factory, keyring, recipient="swift_delivery", customer="C-ACK-1") -> uuid.UUID:
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, customer, now=NOW).id
        make_disclosure(s, keyring, subject_id=sid, recipient=recipient, purpose="order_fulfilment")
        (notice_id,) = outbox.enqueue(s, subject_id=sid, kind="erase", now=NOW)
    return notice_id


def _key(factory, *scopes: str) -> dict[str, str]:
    with session_scope(factory) as s:
        key = apikeys_service.create(s, name="test key", scopes=list(scopes), now=NOW).key
    return {"Authorization": f"Bearer {key}"}


def test_a_processor_acknowledges_its_own_notice_once(client, factory, keyring):
    """TH-PRC-01: the time and the processor's reference are stored; a repeat changes nothing."""
    notice_id = _notice(factory, keyring)
    swift = _key(factory, "processor:swift_delivery")
    url = f"/v1/processor-notices/{notice_id}/ack"
    first = client.post(url, json={"reference": "SW-2024-0007"}, headers=swift)
    assert first.status_code == 200, first.text
    again = client.post(url, json={"reference": "SW-OTHER"}, headers=swift)
    assert again.status_code == 200
    assert again.json()["ack_reference"] == "SW-2024-0007"
    assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert "subject_ref" not in first.json()
    with factory() as s:
        details = [
            e.detail
            for e in s.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "processor_notice.acknowledged")
                .order_by(AuditEntry.seq)
            )
        ]
    assert [d["repeated"] for d in details] == [False, True]
    assert all(set(d) == {"notice_id", "recipient", "repeated"} for d in details)


def test_another_recipients_key_is_403_problem_json(client, factory, keyring):
    notice_id = _notice(factory, keyring)
    lumen = _key(factory, "processor:lumen_mail")
    response = client.post(
        f"/v1/processor-notices/{notice_id}/ack", json={"reference": "X-1"}, headers=lumen
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert outbox.list_notices(factory(), now=NOW, overdue_days=14)[0].status == "pending"


@pytest.mark.parametrize("scope", ["consent", "decide", "track"])
def test_a_key_that_speaks_for_no_processor_may_not_ack(client, factory, keyring, scope):
    notice_id = _notice(factory, keyring)
    response = client.post(
        f"/v1/processor-notices/{notice_id}/ack",
        json={"reference": "X-1"},
        headers=_key(factory, scope),
    )
    assert response.status_code == 403


def test_staff_record_an_ack_received_another_way_with_an_admin_key(client, factory, keyring):
    notice_id = _notice(factory, keyring)
    response = client.post(
        f"/v1/processor-notices/{notice_id}/ack",
        json={"reference": "LETTER-2569-11"},
        headers=_key(factory, "admin"),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "acknowledged"


@pytest.mark.parametrize("reference", ["", "a\x00b", "x" * 129, "line\nbreak"])
def test_a_bad_reference_is_422_naming_the_field(client, factory, keyring, reference):
    notice_id = _notice(factory, keyring)
    response = client.post(
        f"/v1/processor-notices/{notice_id}/ack",
        json={"reference": reference},
        headers=_key(factory, "processor:swift_delivery"),
    )
    assert response.status_code == 422
    assert "reference" in response.text


def test_an_unknown_notice_is_404(client, factory):
    response = client.post(
        f"/v1/processor-notices/{uuid.uuid4()}/ack",
        json={"reference": "R"},
        headers=_key(factory, "admin"),
    )
    assert response.status_code == 404


def test_the_list_filters_by_recipient_and_status(client, factory, keyring):
    """TH-DPO-01: read-only listing; the ack moves a notice from pending to acknowledged."""
    swift = _notice(factory, keyring, "swift_delivery", "C-ACK-2")
    pay = _notice(factory, keyring, "chao_phraya_pay", "C-ACK-3")
    admin = _key(factory, "admin")
    client.post(f"/v1/processor-notices/{pay}/ack", json={"reference": "P-9"}, headers=admin)
    listed = client.get("/v1/processor-notices", params={"status": "pending"}, headers=admin)
    assert [n["id"] for n in listed.json()] == [str(swift)]
    acked = client.get(
        "/v1/processor-notices",
        params={"recipient": "chao_phraya_pay", "status": "acknowledged"},
        headers=admin,
    )
    assert [n["id"] for n in acked.json()] == [str(pay)]
    assert (
        client.get("/v1/processor-notices", params={"status": "lost"}, headers=admin).status_code
        == 422
    )
    assert (
        client.get(
            "/v1/processor-notices", headers=_key(factory, "processor:swift_delivery")
        ).status_code
        == 403
    )


def test_a_processor_scope_is_stored_and_read_back(factory):
    with session_scope(factory) as s:
        created = apikeys_service.create(
            s,
            name="pay",
            scopes=["processor:chao_phraya_pay", "processor:chao_phraya_pay"],
            now=NOW,
        )
        assert created.processor_of == ["chao_phraya_pay"]
        assert created.scopes == []
        principal = apikeys_service.authenticate(s, token=created.key, now=NOW)
    assert principal.processor_of == frozenset({"chao_phraya_pay"})
    assert not principal.has("admin")


@pytest.fixture
def cli_env(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_outbox_ack_and_deliver(cli_env, factory, keyring):
    """``rujai processors outbox | ack | deliver`` (TH-PRC-01)."""
    notice_id = _notice(factory, keyring)
    listed = runner.invoke(cli_app, ["processors", "outbox", "--status", "pending"])
    assert listed.exit_code == 0, listed.output
    assert str(notice_id) in listed.stdout
    assert "1 notices" in listed.stdout
    acked = runner.invoke(cli_app, ["processors", "ack", str(notice_id), "--reference", "TEL-77"])
    assert acked.exit_code == 0, acked.output
    assert "TEL-77" in acked.stdout
    none = runner.invoke(cli_app, ["processors", "outbox", "--status", "pending"])
    assert "0 notices" in none.stdout
    delivered = runner.invoke(cli_app, ["processors", "deliver"])
    assert delivered.exit_code == 0, delivered.output
    assert "sent 0, failed 0" in delivered.stdout


def test_cli_ack_names_the_option_and_unknown_ids(cli_env, factory, keyring):
    bad = runner.invoke(cli_app, ["processors", "ack", str(uuid.uuid4()), "--reference", "a\x01"])
    assert bad.exit_code == 2
    assert "--reference" in bad.output
    unknown = runner.invoke(cli_app, ["processors", "ack", str(uuid.uuid4()), "--reference", "R"])
    assert unknown.exit_code == 1
    assert "no processor notice" in unknown.output


def test_cli_key_prints_the_recipients_own_signing_key(cli_env, factory, keyring):
    """The processor gets a key of its own, not the receipts key (TH-PRC-01, TH-SEC-01)."""
    shown = runner.invoke(cli_app, ["processors", "key", "swift_delivery"])
    assert shown.exit_code == 0, shown.output
    assert bytes.fromhex(shown.stdout.strip()) == keyring.recipient_key("swift_delivery")
    assert keyring.recipient_key("swift_delivery") != keyring.recipient_key("chao_phraya_pay")
    unknown = runner.invoke(cli_app, ["processors", "key", "nobody"])
    assert unknown.exit_code == 2
    assert "recipient" in unknown.output
