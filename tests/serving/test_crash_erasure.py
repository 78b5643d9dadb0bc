"""``kill -9`` during erasure: an erasure is done, or finished before the next request is served.

A real ``rujai serve`` process carries out verified erasure requests from eight concurrent staff
clients and is killed with SIGKILL the moment a new erasure begins (its line appears in the
erasure log), three times, on SQLite and PostgreSQL. After each kill, on the same database:
every erasure that was acknowledged is complete, no subject is half-erased (each is either gone
or has every row it was seeded with), and the erasures cut off are in the log. The next server
start finishes them before it answers (``rujai serve`` replays the log), and after the last kill
``rujai rights resume`` does; then every request is completed, nothing is left of any erased
subject and ``rujai audit verify`` passes against the checkpoints the servers signed.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rujai.apikeys import service as apikeys_service
from rujai.config import get_settings
from rujai.db import make_engine, make_session_factory
from rujai.events import service as events_service
from rujai.events.models import Event
from rujai.kit.time import utcnow
from rujai.profiles.models import Identity, Subject
from rujai.rights import verify
from rujai.rights.erasure_log import ErasureLog
from rujai.rights.models import RightsRequest
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.factories import make_consent, track_event
from tests.rights.test_requests import NOW, person, submit
from tests.serving.process import running_server

SUBJECTS = 36
EVENTS = 25  # per subject: an erasure takes a while (events, legal holds, identities)
CLIENTS = 8
ROUNDS = 3
ACKED_BEFORE_ARMING = 4  # erasures acknowledged in a round before the kill is armed


def _cid(n: int) -> str:
    return f"C-KILL-{n:03d}"


def _seed(factory, keyring, policy) -> dict[uuid.UUID, uuid.UUID]:
    """Subjects with events, identities and consents, each with a verified erasure request."""
    requests: dict[uuid.UUID, uuid.UUID] = {}
    with session_scope(factory) as s:
        for n in range(SUBJECTS):
            sid = person(s, keyring, _cid(n), email=f"kill{n}@example.com", phone=f"0899{n:06d}")
            make_consent(s, keyring, policy, "recommendations", customer_id=_cid(n),
                         now=NOW - timedelta(days=30))  # fmt: skip
            request = submit(s, keyring, policy, "erasure", customer_id=_cid(n))
            requests[request.id] = sid
        events = [
            track_event("purchase", customer_id=_cid(n), timestamp=NOW - timedelta(hours=i + 1),
                        order_id=f"O-{n}-{i}", item_id=f"SKU-{i}", quantity=1, amount=99.0)
            for n in range(SUBJECTS)
            for i in range(EVENTS)
        ]  # fmt: skip
        summary = events_service.ingest(
            s, keyring=keyring, policy=policy, events=events, source="api",
            is_partner_data=False, now=NOW, actor="test",
        )  # fmt: skip
        assert summary.accepted == len(events), summary
        # Verified by the customer (the code flow is tested elsewhere): waiting for staff.
        s.execute(update(RightsRequest).values(status="verified", verified_at=NOW))
        key = apikeys_service.create(s, name="staff", scopes=["admin"], now=utcnow()).key
    return {"key": key, "requests": requests}  # type: ignore[dict-item]


@dataclass
class _Staff:
    """Clients that process the waiting requests until killed; note which were acknowledged."""

    url: str
    key: str
    todo: list[uuid.UUID]
    acked: list[uuid.UUID] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as http:
            while True:
                with self.lock:
                    if not self.todo:
                        return
                    request_id = self.todo.pop()
                try:
                    r = http.post(f"/v1/requests/{request_id}/process")
                except httpx.TransportError:
                    return  # the server is gone
                if r.status_code == 200:
                    with self.lock:
                        self.acked.append(request_id)


def _kill_during_an_erasure(server, staff: _Staff, log: Path) -> bool:
    """Start the staff; once a few are acknowledged, kill when the next erasure begins."""
    threads = [threading.Thread(target=staff.client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline, armed_at, during = time.monotonic() + 120, None, False
    while time.monotonic() < deadline and any(t.is_alive() for t in threads):
        size = log.stat().st_size if log.exists() else 0
        if armed_at is None and len(staff.acked) >= ACKED_BEFORE_ARMING:
            armed_at = size
        elif armed_at is not None and size > armed_at:
            during = True  # a line was just written: that erasure has only begun
            break
        time.sleep(0.0005)
    server.kill()
    for thread in threads:
        thread.join(60)
    return during


def _state(factory, requests: dict[uuid.UUID, uuid.UUID]) -> dict[str, set[uuid.UUID]]:
    with factory() as s:
        status = dict(s.execute(select(RightsRequest.id, RightsRequest.status)).all())
        alive = set(s.scalars(select(Subject.id)))
        events = dict(
            s.execute(select(Event.subject_id, func.count()).group_by(Event.subject_id)).all()
        )
        ids = dict(
            s.execute(select(Identity.subject_id, func.count()).group_by(Identity.subject_id)).all()
        )
    partial = {sid for sid in alive if (events.get(sid, 0), ids.get(sid, 0)) != (EVENTS, 2)}
    return {
        "completed": {r for r, st in status.items() if st == "completed"},
        "erased": set(requests.values()) - alive,
        "partial": partial,
    }


def _logged_subjects(log: Path) -> set[uuid.UUID]:
    return {sid for entry in ErasureLog(log).entries() for sid in entry.subjects}


@pytest.fixture
def own(own_db_url: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    engine = make_engine(own_db_url, pool_size=5)
    yield own_db_url, make_session_factory(engine)
    engine.dispose()


def test_kill_9_during_erasure_leaves_it_done_or_finished_before_serving(
    own, keyring, policy, tmp_path
):
    db_url, factory = own
    seeded = _seed(factory, keyring, policy)
    requests, log = seeded["requests"], tmp_path / "erasure-log.jsonl"
    cut_off_total = 0
    for round_no in range(ROUNDS):
        before = _state(factory, requests)
        cut_off = _logged_subjects(log) - before["erased"]
        with running_server(db_url, tmp_path, name=f"server{round_no}") as server:
            healed = _state(factory, requests)  # healthy: the start-up replay is done
            assert cut_off <= healed["erased"], "the server served before finishing erasures"
            waiting = [r for r in requests if r not in healed["completed"]]
            staff = _Staff(server.url, seeded["key"], waiting)
            assert _kill_during_an_erasure(server, staff, log), "no erasure was under way"
        after = _state(factory, requests)
        assert after["partial"] == set(), "a subject was half-erased"
        acked = set(staff.acked)
        assert acked <= after["completed"], "an acknowledged erasure is not complete"
        assert {requests[r] for r in acked} <= after["erased"]
        assert after["erased"] <= _logged_subjects(log), "an erasure ran without its log line"
        cut_off_total += len(_logged_subjects(log) - after["erased"])
    assert cut_off_total >= 1, "no kill landed inside an erasure's transaction"
    _resume_and_verify(db_url, factory, keyring, requests, tmp_path)


def _cli(db_url: str, workdir: Path, *args: str):
    from rujai.cli import app

    env = {
        "RUJAI_DATABASE_URL": db_url,
        "RUJAI_SECURITY__MASTER_KEY": base64.b64encode(TEST_MASTER_KEY).decode(),
        "RUJAI_POLICY__PATH": str(EXAMPLE_POLICY),
        "RUJAI_AUDIT__SIGNING_KEY_FILE": str(workdir / "audit-signing.key"),
        "RUJAI_AUDIT__CHECKPOINT_FILE": str(workdir / "audit-checkpoints.jsonl"),
        "RUJAI_RIGHTS__ERASURE_LOG_FILE": str(workdir / "erasure-log.jsonl"),
    }
    get_settings.cache_clear()
    try:
        return CliRunner(env=env).invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def _resume_and_verify(db_url, factory, keyring, requests, workdir: Path) -> None:
    log = workdir / "erasure-log.jsonl"
    resumed = _cli(db_url, workdir, "rights", "resume")
    assert resumed.exit_code == 0, resumed.output
    done = _state(factory, requests)
    logged = _logged_subjects(log)
    assert logged <= done["erased"], "rujai rights resume left an erasure unfinished"
    assert {r for r, sid in requests.items() if sid in logged} <= done["completed"]
    assert done["partial"] == set()
    with factory() as s:  # nothing at all is left of an erased customer, in any table
        for sid in logged:
            report = verify.scan(s, keyring=keyring, subject_id=sid)
            assert report.is_clean, report.leftovers
    audited = _cli(db_url, workdir, "audit", "verify")
    assert audited.exit_code == 0, audited.output
    assert "matches checkpoint" in audited.stdout
