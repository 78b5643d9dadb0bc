"""``kill -9`` under load: what was acknowledged is stored, no batch is half-written (TH-SEC-01).

A real ``rujai serve`` process takes event batches and consent changes from eight concurrent
clients and is killed with SIGKILL while requests are in flight. Afterwards, on the same database:
every request that got a 2xx is there whole; every batch is there whole or not at all; the audit
log verifies, against the checkpoint the server signed when it started.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from rujai.apikeys import service as apikeys_service
from rujai.audit import service as audit_service
from rujai.audit.anchor_check import Anchors
from rujai.audit.signing import load_or_create_signer
from rujai.consent.models import ConsentRecord
from rujai.db import make_engine, make_session_factory
from rujai.events.models import Event
from rujai.kit.time import utcnow
from rujai.writer import session_scope
from tests.serving.process import running_server

BATCH = 20
CLIENTS = 8
ACKED_BEFORE_KILL = 60


def _key(factory) -> str:
    with session_scope(factory) as s:
        created = apikeys_service.create(s, name="crash", scopes=["track", "consent"], now=utcnow())
    return created.key


def _batch(tag: str) -> dict:
    events = [
        {
            "type": "purchase", "customer_id": f"C-CRASH-{tag}", "message_id": f"{tag}.{i}",
            "properties": {"order_id": f"O-{tag}-{i}", "item_id": "SKU-1", "quantity": 1,
                           "amount": 100},
        }
        for i in range(BATCH)
    ]  # fmt: skip
    return {"events": events}


_GRANT = {"purpose": "recommendations", "action": "grant", "language": "th", "channel": "web",
          "actor": "self"}  # fmt: skip


class _Load:
    """Clients that send until told to stop (or the server dies) and note what was acknowledged."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.headers = url, {"Authorization": f"Bearer {key}"}
        self.batches: list[str] = []
        self.receipts: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def client(self, worker: int) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                tag = f"w{worker}n{n}"
                try:
                    if n % 3 == 0:
                        r = http.post(f"/v1/subjects/C-CRASH-{tag}/consents", json=_GRANT)
                    else:
                        r = http.post("/v1/batch", json=_batch(tag))
                except httpx.TransportError:
                    return  # the server is gone
                with self.lock:
                    if r.status_code == 201:
                        self.receipts.append(r.json()["receipt_id"])
                    elif r.status_code == 200:
                        self.batches.append(tag)

    def acknowledged(self) -> int:
        with self.lock:
            return len(self.batches) + len(self.receipts)


def _run_and_kill(db_url: str, key: str, workdir: Path) -> _Load:
    with running_server(db_url, workdir) as server:
        load = _Load(server.url, key)
        threads = [threading.Thread(target=load.client, args=(w,)) for w in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while load.acknowledged() < ACKED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()  # requests are in flight: eight clients never wait between requests
        load.stop.set()
        for thread in threads:
            thread.join(30)
    return load


def test_kill_9_keeps_every_acknowledged_write_and_no_half_batch(own_db_url, tmp_path):
    engine = make_engine(own_db_url, pool_size=5)  # a database of its own: a kill stays in it
    factory = make_session_factory(engine)
    load = _run_and_kill(own_db_url, _key(factory), tmp_path)
    assert load.acknowledged() >= ACKED_BEFORE_KILL, "the load did not get going"
    with factory() as s:
        ids = s.scalars(select(Event.message_id).where(Event.message_id.like("w%"))).all()
        per_batch = Counter(message_id.split(".")[0] for message_id in ids)
        stored = set(s.scalars(select(ConsentRecord.id)).all())
        report = audit_service.verify(
            s,
            anchors=Anchors(
                load_or_create_signer(tmp_path / "audit-signing.key").public_key,
                tmp_path / "audit-checkpoints.jsonl",
            ),
        )
    assert all(per_batch[tag] == BATCH for tag in load.batches), "an acknowledged batch is lost"
    assert set(per_batch.values()) <= {BATCH}, "a batch was half-written"
    assert {str(r) for r in stored} >= set(load.receipts), "an acknowledged consent is lost"
    engine.dispose()
    assert report.ok, report.problem
    assert report.checkpoint is not None, "the server signed a checkpoint when it started"
