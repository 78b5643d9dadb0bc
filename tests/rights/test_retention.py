"""Retention (TH-RET-01): cut-offs from the policy, dry run versus real run, the kept report."""

from __future__ import annotations

import time
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rujai.audit.models import AuditEntry
from rujai.events import service as events_service
from rujai.events.models import Event
from rujai.personalize.models import Decision
from rujai.rights import retention, service, verification
from rujai.rights.models import (
    LegalHold,
    OutboxMessage,
    RetentionRun,
    RightsRequest,
    VerificationCode,
)
from rujai.writer import session_scope
from tests.factories import make_consent, track_event
from tests.rights.test_requests import CUSTOMER, NOW, cli_env, person, submit

__all__ = ["cli_env"]  # the fixture, imported for the CLI test

TABLES = (Event, Decision, VerificationCode, OutboxMessage, LegalHold, RightsRequest)


def _event(kind: str, days: int, message_id: str, **properties):
    when = NOW - timedelta(days=days)
    return track_event(kind, customer_id=CUSTOMER, timestamp=when, message_id=message_id,
                       **properties)  # fmt: skip


def _events(session: Session, keyring, policy) -> None:
    events = [
        _event("page_view", 1200, "pv-old"),
        _event("page_view", 100, "pv-new"),
        _event("store_visit", 10, "sv-new"),
        _event("purchase", 800, "buy-800", order_id="O-1", item_id="SKU-1", quantity=1, amount=9.0),
        _event(
            "purchase", 2000, "buy-2000", order_id="O-2", item_id="SKU-2", quantity=1, amount=4.0
        ),
    ]
    summary = events_service.ingest(
        session, keyring=keyring, policy=policy, events=events, source="api",
        is_partner_data=False, now=NOW, actor="test",
    )  # fmt: skip
    assert summary.accepted == len(events), summary


def _decision(subject_id, days: int) -> Decision:
    return Decision(
        subject_id=subject_id, placement="home_for_you", purpose="recommendations",
        personalized=True, reason="allowed_consent", created_at=NOW - timedelta(days=days),
    )  # fmt: skip


def _hold(until: date) -> LegalHold:
    return LegalHold(
        record_kind="tax_invoice", reference=f"O-{until}", issued_on=date(2021, 1, 1),
        hold_until=until, basis="Revenue Code s.87/3", created_at=NOW,
    )  # fmt: skip


def _history(factory: sessionmaker[Session], keyring, policy) -> None:
    """A person with old and new events, decisions, codes, messages, holds and requests."""
    with session_scope(factory) as s:
        subject_id = person(s, keyring)
        for purpose in ("recommendations", "analytics"):
            make_consent(s, keyring, policy, purpose, customer_id=CUSTOMER, now=NOW)
        _events(s, keyring, policy)
        s.add_all([_decision(subject_id, 800), _decision(subject_id, 10)])
        s.add_all([_hold(NOW.date() - timedelta(days=1)), _hold(date(2031, 1, 1))])
        old = submit(s, keyring, policy, "access", now=NOW - timedelta(days=1300))
        verification.start_verification(
            s, keyring=keyring, policy=policy, request_id=old.id, now=NOW - timedelta(days=1300)
        )
        service.refuse(
            s, keyring=keyring, request_id=old.id, refusal_code="identity_not_verified",
            policy=policy, note=None, now=NOW - timedelta(days=1200), actor="test",
        )  # fmt: skip
        submit(s, keyring, policy, "erasure", now=NOW)  # fresh: its message and request stay


def _counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES}


def _removed(report) -> dict[str, int]:
    return {item.what: item.count for item in report.items if item.count}


EXPECTED = {
    "event:browsing": 1,
    "event:purchase_history": 1,
    "decision": 1,
    "verification_code": 1,
    "outbox_message": 3,  # the old request's receipt, code and refusal
    "legal_hold": 1,
    "rights_request": 1,
}


def test_dry_run_reports_what_would_go_and_changes_nothing(factory, keyring, policy):
    _history(factory, keyring, policy)
    before = _counts(factory)
    report = retention.run(factory, policy=policy, now=NOW, dry_run=True)
    assert report.is_dry_run
    assert _removed(report) == EXPECTED
    assert _counts(factory) == before
    with factory() as s:
        [run] = s.scalars(select(RetentionRun)).all()
        assert run.is_dry_run
        assert run.report["items"] == report.model_dump(mode="json")["items"]


def test_run_purges_what_is_past_retention_and_keeps_the_report(factory, keyring, policy):
    """TH-RET-01: purchases stay 5 years (accounting_records), browsing 2 years, proof is kept."""
    _history(factory, keyring, policy)
    before = _counts(factory)
    report = retention.run(factory, policy=policy, now=NOW, dry_run=False)
    assert _removed(report) == EXPECTED
    after = _counts(factory)
    assert after == {
        "event": before["event"] - 2,
        "decision": before["decision"] - 1,
        "verification_code": before["verification_code"] - 1,
        "outbox_message": before["outbox_message"] - 3,
        "legal_hold": before["legal_hold"] - 1,
        "rights_request": before["rights_request"] - 1,
    }
    with factory() as s:
        left = set(s.scalars(select(Event.message_id)))
        assert left == {"pv-new", "sv-new", "buy-800"}
        assert [r.id for r in retention.list_runs(s)] == [report.id]
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.run")).one()
        assert audit.detail["rows"] == report.total == sum(EXPECTED.values())
    assert [(k.what, k.count) for k in report.kept] == [("consent_record", 2)]
    again = retention.run(factory, policy=policy, now=NOW, dry_run=False)
    assert again.total == 0


def test_cut_offs_come_from_the_longest_retention_of_the_purposes(factory, keyring, policy):
    """A legal obligation keeps purchases longest; purposes that do not collect extend nothing."""
    longest = retention.category_retention(policy)
    assert longest["purchase_history"] == (1825, "accounting_records")
    assert longest["browsing"] == (730, "personalized_offers")  # not rights_requests (1095)
    report = retention.run(factory, policy=policy, now=NOW, dry_run=True)
    items = {item.what: item for item in report.items}
    assert items["event:purchase_history"].cut_off == NOW - timedelta(days=1825)
    assert items["event:purchase_history"].basis == "accounting_records (1825 days)"
    assert items["decision"].cut_off == NOW - timedelta(days=730)


def test_events_of_a_category_no_purpose_declares_any_more_all_go(factory, keyring, policy):
    """TH-PUR-01: with no purpose for ``location``, store visits have no reason to be kept."""
    _history(factory, keyring, policy)
    purposes = {
        pid: p.model_copy(update={"categories": [c for c in p.categories if c != "location"]})
        for pid, p in policy.purposes.items()
    }
    narrowed = policy.model_copy(update={"purposes": purposes})
    report = retention.run(factory, policy=narrowed, now=NOW, dry_run=True)
    location = next(item for item in report.items if item.what == "event:location")
    assert (location.count, location.basis) == (1, retention.NO_PURPOSE)


def test_scheduler_runs_in_the_background_and_stops(factory, storage, policy):
    scheduler = retention.RetentionScheduler(
        storage.writer.run_sync,
        lambda: policy,
        interval_seconds=3600,
        initial_delay_seconds=0,
        clock=lambda: NOW,
    ).start()
    deadline = time.monotonic() + 30
    while scheduler.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.stop()
    assert scheduler.runs == 1
    assert not scheduler.is_running
    assert scheduler.last_report is not None
    assert not scheduler.last_report.is_dry_run
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(RetentionRun)) == 1


def test_start_scheduler_waits_for_its_first_run_and_refuses_a_zero_interval(storage, policy):
    state = SimpleNamespace(writer=storage.writer, policy=policy)
    scheduler = retention.start_scheduler(state, 24, initial_delay_seconds=3600)
    assert scheduler.is_running
    scheduler.stop()
    assert not scheduler.is_running
    assert scheduler.runs == 0
    with pytest.raises(ValueError, match="positive"):
        retention.start_scheduler(state, 0)


def test_cli_dry_run_prints_the_report(cli_env, factory, monkeypatch):
    from rujai.cli._context import console
    from rujai.cli.retention import app

    monkeypatch.setattr(console, "_width", 400)
    result = CliRunner().invoke(app, ["run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would remove 0 rows" in result.output
    assert "accounting_records (1825 days)" in result.output
    with factory() as s:
        assert s.scalars(select(RetentionRun.is_dry_run)).all() == [True]
    listed = CliRunner().invoke(app, ["runs"])
    assert listed.exit_code == 0, listed.output
    assert "yes" in listed.output
