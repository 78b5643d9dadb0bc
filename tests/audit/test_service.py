"""The hash-chained audit log: appends, listing, and tamper detection on SQLite and PostgreSQL.

TH-SEC-01 asks for an audit trail of access, change, deletion and transfer; these tests prove that
editing, deleting or relinking any stored entry is found, and that the chain verifies identically on
both databases.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from rujai.audit.models import AuditEntry, AuditHead
from rujai.audit.schemas import AuditVerifyReport
from rujai.errors import Invalid
from tests.audit.chain import SUBJECT, T0, build_chain, delete_entry, set_head, tamper

BANGKOK = timezone(timedelta(hours=7))


def _verify(factory: sessionmaker[Session]) -> AuditVerifyReport:
    with factory() as s:
        return audit_service.verify(s)


def _commit_chain(factory: sessionmaker[Session], count: int) -> list[int]:
    with factory() as s, s.begin():
        return build_chain(s, count)


def test_record_returns_consecutive_seqs_from_one(session: Session) -> None:
    seqs = build_chain(session, 5)
    assert seqs == [1, 2, 3, 4, 5]


def test_first_entry_links_to_the_genesis_hash(session: Session) -> None:
    build_chain(session, 2)
    first, second = audit_service.list_entries(session)[::-1]
    assert first.prev_hash == audit_service.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.hash != second.hash


def test_chain_of_many_entries_verifies_across_batches(factory: sessionmaker[Session]) -> None:
    _commit_chain(factory, 25)
    with factory() as s:
        report = audit_service.verify(s, batch_size=7)
    assert report.ok, report
    assert report.checked == 25
    assert report.first_bad_seq is None


def test_verify_reports_ok_on_an_empty_log(session: Session) -> None:
    report = audit_service.verify(session)
    assert report.ok
    assert report.checked == 0


def test_editing_a_detail_with_raw_sql_is_caught_at_that_seq(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 10)
    cast = "CAST(:d AS JSONB)" if engine.dialect.name == "postgresql" else ":d"
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE audit_entry SET detail = {cast} WHERE seq = 6"),  # noqa: S608 - fixed SQL
            {"d": json.dumps({"i": 999})},
        )
    report = _verify(factory)
    assert not report.ok
    assert report.first_bad_seq == 6
    assert report.checked == 5
    assert "altered" in (report.problem or "")


def test_editing_the_actor_with_raw_sql_is_caught(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 4)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'cli' WHERE seq = 2"))
    assert _verify(factory).first_bad_seq == 2


def test_deleting_a_middle_entry_is_reported_as_missing(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 10)
    delete_entry(engine, 4)
    report = _verify(factory)
    assert not report.ok
    assert report.first_bad_seq == 4
    assert "missing" in (report.problem or "")


def test_deleting_the_first_entry_is_reported_as_missing(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 3)
    delete_entry(engine, 1)
    assert _verify(factory).first_bad_seq == 1


def test_deleting_the_last_entry_is_caught_by_the_head(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 10)
    delete_entry(engine, 10)
    report = _verify(factory)
    assert not report.ok
    assert report.first_bad_seq == 10
    assert report.checked == 9
    assert "missing" in (report.problem or "")


def test_deleting_every_entry_is_caught_by_the_head(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 3)
    for seq in (1, 2, 3):
        delete_entry(engine, seq)
    assert _verify(factory).first_bad_seq == 1


def test_editing_prev_hash_is_caught(factory: sessionmaker[Session], engine: Engine) -> None:
    _commit_chain(factory, 8)
    tamper(engine, 5, prev_hash="f" * 64)
    report = _verify(factory)
    assert report.first_bad_seq == 5
    assert "prev_hash" in (report.problem or "")


def test_rehashing_an_edited_entry_is_caught_at_the_next_entry(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 6)
    with factory() as s:
        entry = audit_service.list_entries(s, before_seq=4, limit=1)[0]
    fields = entry.model_dump(exclude={"hash", "detail"})
    forged = audit_service.entry_hash(**fields, detail={"i": 0})
    tamper(engine, 3, detail={"i": 0}, hash=forged)
    assert _verify(factory).first_bad_seq == 4


def test_a_rewritten_head_is_caught(factory: sessionmaker[Session], engine: Engine) -> None:
    _commit_chain(factory, 4)
    set_head(engine, hash="a" * 64)
    report = _verify(factory)
    assert report.first_bad_seq == 4
    assert "head" in (report.problem or "")


def test_a_head_rolled_back_to_hide_the_last_entry_is_caught(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 4)
    with factory() as s:
        third = audit_service.list_entries(s, before_seq=4, limit=1)[0]
    set_head(engine, seq=3, hash=third.hash)
    report = _verify(factory)
    assert report.first_bad_seq == 4
    assert "past the head" in (report.problem or "")


def test_entries_without_any_head_are_caught(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    _commit_chain(factory, 2)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    assert _verify(factory).first_bad_seq == 1


def test_timestamps_round_trip_and_verify_on_both_backends(factory: sessionmaker[Session]) -> None:
    local = datetime(2026, 5, 4, 16, 5, 6, 789012, tzinfo=BANGKOK)
    with factory() as s, s.begin():
        audit_service.record(s, actor="system", action="test.time", now=local)
        audit_service.record(
            s, actor="system", action="test.time", now=local.replace(microsecond=0)
        )
    with factory() as s:
        entries = audit_service.list_entries(s)
        stored = s.execute(select(AuditEntry.at).order_by(AuditEntry.seq)).scalars().all()
        report = audit_service.verify(s)
    assert [e.at for e in entries] == [local.replace(microsecond=0), local]
    assert stored[0] == datetime(2026, 5, 4, 9, 5, 6, 789012, tzinfo=UTC)
    assert stored[0].utcoffset() == timedelta(0)
    assert report.ok, report


def test_hash_is_the_same_on_every_backend(factory: sessionmaker[Session]) -> None:
    """The same entry hashes identically on SQLite and PostgreSQL (pinned digest)."""
    with factory() as s, s.begin():
        audit_service.record(
            s,
            actor="system",
            action="test.pin",
            now=T0,
            subject_id=SUBJECT,
            detail={"big": 1e16, "ratio": 0.25, "th": "ภาษาไทย"},
        )
    with factory() as s:
        entry = audit_service.list_entries(s)[0]
        assert audit_service.verify(s).ok
    assert entry.detail == {"big": 10**16, "ratio": 0.25, "th": "ภาษาไทย"}
    assert entry.hash == "d2f689ea85e3e1b469ee57ffa0459dec02411c3632b714c41aa843db3946b36a"


def test_head_row_is_created_on_first_record(session: Session) -> None:
    assert session.get(AuditHead, 1) is None
    audit_service.record(session, actor="system", action="x.y", now=T0)
    head = session.execute(select(AuditHead.seq, AuditHead.hash)).one()
    assert head.seq == 1
    assert head.hash == audit_service.list_entries(session)[0].hash


def test_list_entries_filters_by_subject_and_action_newest_first(session: Session) -> None:
    build_chain(session, 12)
    by_subject = audit_service.list_entries(session, subject_id=SUBJECT)
    by_action = audit_service.list_entries(session, action="consent.grant")
    page = audit_service.list_entries(session, limit=3, before_seq=10)
    assert [e.seq for e in by_subject] == [11, 9, 7, 5, 3, 1]
    assert [e.seq for e in by_action] == [10, 7, 4, 1]
    assert [e.seq for e in page] == [9, 8, 7]
    assert audit_service.list_entries(session, subject_id=uuid.uuid4()) == []


@pytest.mark.parametrize("limit", [0, 501])
def test_list_entries_rejects_a_limit_out_of_range(session: Session, limit: int) -> None:
    with pytest.raises(Invalid) as caught:
        audit_service.list_entries(session, limit=limit)
    assert caught.value.field == "limit"


@pytest.mark.parametrize(
    "key",
    ["email", "Phone", "name", "customer_id", "ip", "user_agent", "address", "birth_date",
     "contact_email", "ip_address", "mobile_number"],
)  # fmt: skip
def test_detail_keys_that_look_like_personal_data_are_refused(session: Session, key: str) -> None:
    """STYLE §3.6 / TH-SEC-01: no personal data in audit details, subjects by UUID only."""
    with pytest.raises(ValueError, match="personal data"):
        audit_service.record(session, actor="system", action="x.y", now=T0, detail={key: "x"})
    assert audit_service.list_entries(session) == []


def test_nested_personal_data_keys_are_refused(session: Session) -> None:
    detail = {"items": [{"ok": 1}, {"email": "somchai@example.com"}]}
    with pytest.raises(ValueError, match="personal data"):
        audit_service.record(session, actor="system", action="x.y", now=T0, detail=detail)


def test_pseudonymous_detail_keys_are_accepted(session: Session) -> None:
    detail = {"key_id": str(uuid.uuid4()), "scopes": ["admin"], "reason": "ok", "accepted": 3}
    audit_service.record(session, actor="system", action="x.y", now=T0, detail=detail)
    assert audit_service.list_entries(session)[0].detail == detail


@pytest.mark.parametrize(
    "detail",
    [
        {"when": datetime(2026, 1, 1, tzinfo=UTC)},
        {"x": float("nan")},
        {"s": "a\x00b"},
        {"s": "\ud800"},
        {"k\x00": 1},
        {(1, 2): "tuple key"},
    ],
)
def test_detail_that_is_not_portable_json_is_refused(session: Session, detail: dict) -> None:
    with pytest.raises(ValueError, match="audit"):
        audit_service.record(session, actor="system", action="x.y", now=T0, detail=detail)


def test_naive_time_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        audit_service.record(session, actor="system", action="x.y", now=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("field", "value"),
    [("actor", ""), ("actor", "a" * 65), ("action", "b" * 65), ("outcome", "c" * 33),
     ("actor", "somchai@example.com"), ("action", "x\x00y")],
)  # fmt: skip
def test_text_fields_out_of_bounds_are_refused(session: Session, field: str, value: str) -> None:
    kwargs = {"actor": "system", "action": "x.y", field: value}
    with pytest.raises(ValueError, match="audit"):
        audit_service.record(session, now=T0, **kwargs)
