"""Deliver: notices are POSTed, signed, to a live local webhook; failures back off (TH-PRC-01).

The processors are real HTTP servers started in the test (``processor_server``); nothing else
is contacted. Real SQLite and PostgreSQL.
"""

from __future__ import annotations

import hmac
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from rujai.apikeys import service as apikeys_service
from rujai.disclosures import outbox, outbox_delivery
from rujai.disclosures.models import ProcessorNotice
from rujai.disclosures.pseudonym import subject_ref
from rujai.policy.schemas import Policy, RecipientNotify
from rujai.rights import erasure
from rujai.writer import session_scope
from tests.disclosures.factories import make_disclosure
from tests.disclosures.processor_server import live_processor
from tests.factories import make_subject

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
CUSTOMER = "C-DELIVER-3301"
ACK_DAYS = 14
PAYLOAD_KEYS = {"notice_id", "recipient", "subject_ref", "kind", "purpose", "created_at", "sent_at"}


def with_webhooks(policy: Policy, urls: dict[str, str]) -> Policy:
    """The example policy with ``notify.webhook`` set for the given recipients."""
    recipients = {
        rid: r.model_copy(update={"notify": RecipientNotify(webhook=urls[rid])})
        if rid in urls
        else r
        for rid, r in policy.recipients.items()
    }
    return policy.model_copy(update={"recipients": recipients})


def _deliver(factory, keyring, policy, now):
    run = outbox_delivery.scoped(factory)
    return outbox_delivery.deliver(
        run, run, policy=policy, keyring=keyring, now=now, timeout=5, actor="test"
    )


def _one(factory, notice_id) -> ProcessorNotice:
    with factory() as s:
        row = s.get(ProcessorNotice, notice_id)
        s.expunge_all()
        return row


def _queue_restriction(factory, keyring, recipient="swift_delivery") -> uuid.UUID:
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        make_disclosure(s, keyring, subject_id=sid, recipient=recipient, purpose="order_fulfilment")
        (notice_id,) = outbox.enqueue(s, subject_id=sid, kind="restrict", now=NOW)
    return notice_id


def test_erasure_is_delivered_signed_to_live_webhooks_and_acknowledged(
    factory, keyring, policy, client
):
    """TH-PRC-01, TH-DSR-04 end to end: erase; two processors get a signed POST with only their
    own pseudonym; each acknowledges with a key scoped to itself."""
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        for recipient, purpose, is_processor in [
            ("swift_delivery", "order_fulfilment", True),
            ("chao_phraya_pay", "fraud_prevention", True),
            ("lumen_mail", "email_marketing", False),
        ]:
            make_disclosure(
                s,
                keyring,
                subject_id=sid,
                recipient=recipient,
                purpose=purpose,
                processor=is_processor,
            )
    with live_processor() as swift, live_processor() as pay, live_processor() as lumen:
        told = with_webhooks(
            policy,
            {
                "swift_delivery": f"{swift.url}/rujai",
                "chao_phraya_pay": f"{pay.url}/hooks/pdpa",
                "lumen_mail": lumen.url,
            },
        )
        with session_scope(factory) as s:
            erasure.erase(
                s,
                keyring=keyring,
                policy=told,
                subject_id=sid,
                request_id=None,
                now=NOW,
                actor="test",
            )
        report = _deliver(factory, keyring, told, NOW + timedelta(minutes=1))
    assert len(report.sent) == 2
    assert report.failed == []
    assert lumen.received == []  # not a processor: not told
    for processor, recipient, path in [
        (swift, "swift_delivery", "/rujai"),
        (pay, "chao_phraya_pay", "/hooks/pdpa"),
    ]:
        (got_path, headers, body) = processor.received[0]
        assert got_path == path
        sent = json.loads(body)
        assert set(sent) == PAYLOAD_KEYS
        assert sent["subject_ref"] == subject_ref(keyring, recipient=recipient, subject_id=sid)
        assert (sent["recipient"], sent["kind"], sent["purpose"]) == (recipient, "erase", None)
        assert str(sid) not in body.decode()
        assert CUSTOMER not in body.decode()
        signature = headers["X-Rujai-Signature"].removeprefix("sha256=")
        assert hmac.compare_digest(keyring.sign_for(recipient, sent), signature)
        assert keyring.sign_for(recipient, {**sent, "kind": "lift"}) != signature
        # a key per recipient: neither the receipts key nor another recipient's key checks it
        assert not keyring.verify(sent, signature)
        assert keyring.sign_for("lumen_mail", sent) != signature
    with session_scope(factory) as s:
        key = apikeys_service.create(
            s, name="swift", scopes=["processor:swift_delivery"], now=NOW
        ).key
    notice_id = json.loads(swift.received[0][2])["notice_id"]
    acked = client.post(
        f"/v1/processor-notices/{notice_id}/ack",
        json={"reference": "SW-1187"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert acked.status_code == 200, acked.text
    assert (acked.json()["status"], acked.json()["ack_reference"]) == ("acknowledged", "SW-1187")
    row = _one(factory, uuid.UUID(notice_id))
    assert (row.attempts, row.ack_reference) == (1, "SW-1187")
    assert row.sent_at is not None


def test_a_failing_webhook_is_retried_with_backoff_and_turns_overdue(factory, keyring, policy):
    """TH-PRC-01: a 503 counts an attempt and waits 1, then 2 minutes; unacknowledged after
    ``processor_ack_days`` the notice is overdue, and a later success still stores it."""
    notice_id = _queue_restriction(factory, keyring)
    with live_processor(status=503) as down:
        told = with_webhooks(policy, {"swift_delivery": down.url})
        first = _deliver(factory, keyring, told, NOW)
        assert first.failed == [notice_id]
        row = _one(factory, notice_id)
        assert (row.attempts, row.last_error, row.sent_at) == (1, "http_503", None)
        assert row.next_attempt_at == NOW + timedelta(minutes=1)
        early = _deliver(factory, keyring, told, NOW + timedelta(seconds=30))
        assert (early.sent, early.failed) == ([], [])  # not due yet
        second = _deliver(factory, keyring, told, NOW + timedelta(seconds=61))
        assert second.failed == [notice_id]
        assert _one(factory, notice_id).next_attempt_at == NOW + timedelta(seconds=61 + 120)
        assert len(down.received) == 2
    later = NOW + timedelta(days=ACK_DAYS, seconds=1)
    with factory() as s:
        overdue = outbox.list_notices(s, now=later, overdue_days=ACK_DAYS, status="overdue")
        pending = outbox.list_notices(s, now=NOW, overdue_days=ACK_DAYS, status="pending")
    assert [n.id for n in overdue] == [notice_id]
    assert overdue[0].due_by == NOW + timedelta(days=ACK_DAYS)
    assert [n.id for n in pending] == [notice_id]
    with live_processor() as up:
        third = _deliver(factory, keyring, with_webhooks(policy, {"swift_delivery": up.url}), later)
    assert third.sent == [notice_id]
    row = _one(factory, notice_id)
    assert (row.attempts, row.last_error, row.next_attempt_at) == (3, None, None)


def test_an_unreachable_webhook_is_a_failure_not_a_crash(factory, keyring, policy):
    notice_id = _queue_restriction(factory, keyring)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    told = with_webhooks(policy, {"swift_delivery": f"http://127.0.0.1:{port}/gone"})
    report = _deliver(factory, keyring, told, NOW)
    assert report.failed == [notice_id]
    assert _one(factory, notice_id).last_error == "unreachable"


def test_a_redirect_is_not_followed(factory, keyring, policy):
    """Only the host the policy names is contacted: a 307 elsewhere is a failure."""
    notice_id = _queue_restriction(factory, keyring)
    with live_processor() as elsewhere:
        with live_processor(status=307, location=f"{elsewhere.url}/steal") as hook:
            _deliver(factory, keyring, with_webhooks(policy, {"swift_delivery": hook.url}), NOW)
        assert elsewhere.received == []
    assert _one(factory, notice_id).last_error == "http_307"


def test_a_recipient_without_a_webhook_waits_for_a_manual_ack(factory, keyring, policy):
    notice_id = _queue_restriction(factory, keyring)
    report = _deliver(factory, keyring, policy, NOW)
    assert (report.sent, report.failed, report.no_webhook) == ([], [], 1)
    assert _one(factory, notice_id).attempts == 0


def test_acknowledged_notices_are_not_sent_again(factory, keyring, policy):
    notice_id = _queue_restriction(factory, keyring)
    with session_scope(factory) as s:
        outbox.acknowledge(
            s,
            notice_id=notice_id,
            reference="LETTER-4",
            recipients=None,
            actor="test",
            now=NOW,
            overdue_days=ACK_DAYS,
        )
    with live_processor() as hook:
        _deliver(factory, keyring, with_webhooks(policy, {"swift_delivery": hook.url}), NOW)
    assert hook.received == []


@given(attempts=st.integers(min_value=1, max_value=10_000))
def test_backoff_doubles_from_a_minute_and_is_capped(attempts):
    wait = outbox_delivery.backoff(attempts)
    assert timedelta(minutes=1) <= wait <= timedelta(hours=6)
    assert outbox_delivery.backoff(attempts + 1) >= wait
    if attempts <= 5:
        assert wait == timedelta(minutes=2 ** (attempts - 1))


def test_a_webhook_must_be_https_except_on_this_host():
    import pytest
    from pydantic import ValidationError

    assert RecipientNotify(webhook="https://hooks.example.com/pdpa").webhook
    assert RecipientNotify(webhook="http://127.0.0.1:8080/x").webhook
    with pytest.raises(ValidationError, match="webhook"):
        RecipientNotify(webhook="http://hooks.example.com/pdpa")


def test_the_server_task_delivers_through_the_writer(storage, factory, keyring, policy):
    """The periodic task of the server (``start_delivery``, main's lifespan) sends due notices:
    reads on a request session, records through the one writer."""
    import time
    from types import SimpleNamespace

    from rujai.db import make_session_factory

    notice_id = _queue_restriction(factory, keyring)
    with live_processor() as hook:
        state = SimpleNamespace(
            session_factory=make_session_factory(storage.read_engine),
            writer=storage.writer,
            policy=with_webhooks(policy, {"swift_delivery": hook.url}),
            keyring=keyring,
        )
        task = outbox_delivery.start_delivery(state, 0.05, 5)
        try:
            deadline = time.monotonic() + 10
            while _one(factory, notice_id).sent_at is None and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            task.stop()
    assert _one(factory, notice_id).sent_at is not None
    assert len(hook.received) == 1
    assert task.runs >= 1
