"""The erasure log and its replay: written before anything is deleted, finished after a crash.

On SQLite and PostgreSQL. A crash is a transaction that never commits: the erasure's line is in
the log, the subject is still whole in the database; ``rights.replay`` finishes it, once.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from rujai.kit.time import utcnow
from rujai.profiles import service as profiles_service
from rujai.profiles.models import Suppression
from rujai.rights import erasure, erasure_log, processing, replay, verification
from rujai.rights.erasure_log import ErasureEntry, ErasureLog, ErasureLogUnreadable
from rujai.rights.models import RightsRequest
from rujai.writer import session_scope
from tests.rights.test_requests import CUSTOMER, NOW, code_for, person, submit


class Crash(Exception):
    """The process died before the commit."""


@pytest.fixture
def log(tmp_path) -> ErasureLog:
    return ErasureLog(tmp_path / "erasure-log.jsonl")


@pytest.fixture
def logged(factory, log) -> sessionmaker:
    sessions = sessionmaker(**factory.kw)
    sessions.kw["info"] = {}
    erasure_log.attach(sessions, log)
    return sessions


def _replay(factory, keyring, policy, log):
    return replay.replay(factory, keyring=keyring, policy=policy, log=log, clock=utcnow,
                         actor="system:resume")  # fmt: skip


def _verified_erasure(factory, keyring, policy):
    with session_scope(factory) as s:
        person(s, keyring, CUSTOMER, phone="0812345678")
        request = submit(s, keyring, policy, "erasure")
        verification.start_verification(
            s, keyring=keyring, policy=policy, request_id=request.id, now=NOW
        )
        verification.confirm(s, keyring=keyring, request_id=request.id,
                             code=code_for(s, keyring, request.id), now=NOW)  # fmt: skip
    return request.id


def test_an_erasure_cut_off_before_its_commit_is_finished_by_the_replay(
    factory, logged, log, keyring, policy
):
    request_id = _verified_erasure(factory, keyring, policy)

    def crash_before_commit() -> None:
        with session_scope(logged) as s:
            processing.process(s, keyring=keyring, policy=policy, request_id=request_id,
                               now=NOW, actor="staff-1")  # fmt: skip
            raise Crash

    with pytest.raises(Crash):
        crash_before_commit()
    with factory() as s:  # nothing of it committed: whole, still waiting
        assert profiles_service.find_id(s, keyring=keyring, customer_id=CUSTOMER) is not None
        assert s.get(RightsRequest, request_id).status == "verified"
    (entry,) = log.entries()
    assert entry.request_id == request_id
    assert {kind for kind, _ in entry.suppress} == {"customer", "email", "phone"}

    report = _replay(factory, keyring, policy, log)
    assert (report.entries, report.replayed, report.erased, report.requests_completed) == (
        1, 1, 1, 1,
    )  # fmt: skip
    with factory() as s:
        assert len(s.scalars(select(Suppression)).all()) == 3
        assert profiles_service.find_id(s, keyring=keyring, customer_id=CUSTOMER) is None
        request = s.get(RightsRequest, request_id)
        assert (request.status, request.subject_id) == ("completed", None)
    again = _replay(factory, keyring, policy, log)
    assert (again.replayed, again.erased) == (0, 0)  # idempotent
    assert len(list(log.entries())) == 1  # a replay does not log again


def test_a_done_erasure_with_its_suppression_lost_gets_it_back(
    factory, logged, log, keyring, policy
):
    with session_scope(factory) as s:
        person(s, keyring, CUSTOMER)
    with session_scope(logged) as s:
        erasure.erase_customer(s, keyring=keyring, policy=policy, customer_id=CUSTOMER, now=NOW,
                               actor="cli")  # fmt: skip
    with session_scope(factory) as s:
        for row in s.scalars(select(Suppression)):
            s.delete(row)
    report = _replay(factory, keyring, policy, log)
    assert (report.replayed, report.erased, report.suppressed) == (1, 0, 2)


def test_an_erasure_left_in_progress_is_completed(factory, log, keyring, policy):
    request_id = _verified_erasure(factory, keyring, policy)
    with session_scope(factory) as s:
        row = s.get(RightsRequest, request_id)
        row.status = "in_progress"
        sid = row.subject_id
    log.append(ErasureEntry(NOW, request_id, (sid,), ()))
    report = _replay(factory, keyring, policy, log)
    assert (report.erased, report.requests_completed) == (1, 1)
    with factory() as s:
        request = s.get(RightsRequest, request_id)
        assert request.status == "completed"
        assert request.result["is_complete"] is True


def test_a_torn_last_line_is_skipped_and_a_broken_one_refused(log):
    entry = ErasureEntry(NOW, None, (), (("email", "ab" * 32),))
    log.append(entry)
    with log.path.open("ab") as fh:
        fh.write(b'{"at": "2026-12-0')  # the append a crash cut off
    assert list(log.entries()) == [entry]
    log.path.write_bytes(b"not json\n" + entry.line())
    with pytest.raises(ErasureLogUnreadable, match="line 1"):
        list(log.entries())


def test_a_line_holds_ids_and_blind_indexes_only(factory, logged, log, keyring, policy):
    with session_scope(factory) as s:
        sid = person(s, keyring, CUSTOMER)
    with session_scope(logged) as s:
        erasure.erase_customer(s, keyring=keyring, policy=policy, customer_id=CUSTOMER, now=NOW,
                               actor="cli")  # fmt: skip
    text = log.path.read_text()
    assert CUSTOMER not in text
    assert "@example.com" not in text
    assert json.loads(text)["subjects"] == [str(sid)]
    assert oct(log.path.stat().st_mode)[-3:] == "600"
