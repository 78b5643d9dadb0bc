"""Master-key rotation: online, resumable, audited; afterwards only the new key reads everything.

Every test runs on SQLite and PostgreSQL (the ``factory`` fixture). The data is made under the
tests' master key, as an installation that has run for a while (some data keys even from before
wrapped keys named their master key); then a key set with a new master key is made, the data keys
are re-wrapped in chunks, the old key is retired, and every sealed value (customer ids, birth
dates, identities, traits, events, outbox messages, a request's sealed correction) is read with
the new key alone and found unchanged.
"""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rujai.apikeys import service as apikeys_service
from rujai.audit import service as audit_service
from rujai.audit.models import AuditEntry
from rujai.config import SecuritySettings, get_settings
from rujai.events import service as events_service
from rujai.kit import keyset
from rujai.kit.crypto import DecryptionFailed, Keyring, seal, wrapped_by
from rujai.kit.time import utcnow
from rujai.ops import keys as ops_keys
from rujai.profiles import identities, rewrap, traits as profiles_traits
from rujai.profiles.models import Subject
from rujai.rights import export, processing, verification
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.factories import make_consent, rights_permit, track_event
from tests.rights.test_requests import NOW, code_for, outbox, person, submit

CUSTOMERS = [f"C-ROTATE-{n:03d}" for n in range(7)]
GRANT = {
    "purpose": "recommendations",
    "action": "grant",
    "language": "th",
    "channel": "web",
    "actor": "self",
    "notice_version": 1,
    "age_band": "adult",
}  # fmt: skip  (TH-MIN-01)
_clock = count()


def _now():
    return NOW + timedelta(seconds=next(_clock))


def _shopper(s: Session, keyring: Keyring, policy, n: int, cid: str) -> uuid.UUID:
    sid = person(s, keyring, cid, email=f"rotate{n}@example.com", phone=f"081234{n:04d}")
    for purpose in ("recommendations", "personalized_offers"):
        make_consent(s, keyring, policy, purpose, customer_id=cid, now=NOW - timedelta(days=9))
    profiles_traits.set_traits(
        s, keyring=keyring, policy=policy, subject_id=sid, source="api", now=NOW,
        traits={"first_name": f"สมชาย{n}", "birth_date": f"199{n}-0{n + 1}-1{n}"},
    )  # fmt: skip
    events = [
        track_event("purchase", customer_id=cid, timestamp=NOW - timedelta(days=2 + i),
                    order_id=f"O-{cid}-{i}", item_id=f"SKU-{i}", quantity=1, amount=120.0 + i)
        for i in range(3)
    ]  # fmt: skip
    summary = events_service.ingest(
        s, keyring=keyring, policy=policy, events=events, source="api", is_partner_data=False,
        now=NOW, actor="test",
    )  # fmt: skip
    assert summary.accepted == 3, summary
    return sid


def seed(factory: sessionmaker[Session], keyring: Keyring, policy) -> dict:
    """Customers with every kind of sealed value, two pending requests, and legacy-wrapped keys."""
    with session_scope(factory) as s:
        sids = [_shopper(s, keyring, policy, n, cid) for n, cid in enumerate(CUSTOMERS)]
        correction = submit(s, keyring, policy, "rectification", customer_id=CUSTOMERS[0],
                            detail={"traits": {"first_name": "มาลัย"}})  # fmt: skip
        verification.start_verification(
            s, keyring=keyring, policy=policy, request_id=correction.id, now=NOW
        )
        code = code_for(s, keyring, correction.id)
        verification.confirm(s, keyring=keyring, request_id=correction.id, code=code, now=NOW)
        for sid in sids[:3]:  # data keys made before wrapped keys named their master key
            wrapped = s.scalar(select(Subject.data_key_wrapped).where(Subject.id == sid))
            legacy = seal(keyring.wrapping, keyring.unwrap(wrapped))
            s.execute(update(Subject).where(Subject.id == sid).values(data_key_wrapped=legacy))
    return {"subjects": sids, "correction": correction.id}


def read_everything(factory: sessionmaker[Session], keyring: Keyring, policy, sids) -> dict:
    """Every sealed value of the seeded customers, opened (and the outbox), as plain data."""
    with session_scope(factory) as s:
        copies = {}
        for sid in sids:
            permit = rights_permit(s, keyring, policy, sid)
            document = export.collect(
                s, keyring=keyring, policy=policy, permit=permit, subject_id=sid, now=NOW
            )
            copies[str(sid)] = document.model_dump(
                mode="json", include={"subject", "identities", "traits", "events"}
            )
        messages = [(m.id, m.recipient, m.body) for m in outbox(s, keyring)]
    return {"copies": copies, "outbox": sorted(messages)}


def _wrapped(factory) -> list[bytes]:
    with factory() as s:
        return list(
            s.scalars(select(Subject.data_key_wrapped).where(Subject.data_key_wrapped.is_not(None)))
        )


def test_every_sealed_value_reads_the_same_after_rotation_with_only_the_new_key(
    factory, keyring, policy, tmp_path
):
    seeded = seed(factory, keyring, policy)
    before = read_everything(factory, keyring, policy, seeded["subjects"])
    assert all(c["identities"] and c["traits"] and c["events"] for c in before["copies"].values())
    assert all(c["subject"]["birth_date"] for c in before["copies"].values())
    assert before["outbox"]
    key_file = tmp_path / "master.key"
    rotating = ops_keys.new_master(factory, keyring=keyring, out=key_file, now=_now(), actor="t")
    assert keyset.load_keyring(None, key_file).previous_ids == (keyring.key_id,)

    first = ops_keys.rotate(factory, keyring=rotating, clock=_now, actor="t", chunk=2,
                            max_chunks=2)  # fmt: skip
    assert (first.rewrapped, first.chunks, first.is_done) == (4, 2, False)
    with pytest.raises(ops_keys.OldKeyStillInUse, match="3 data key"):
        ops_keys.retire(factory, keyring=rotating, out=key_file, now=_now(), actor="t")
    rest = ops_keys.rotate(factory, keyring=rotating, clock=_now, actor="t", chunk=2)
    assert (rest.rewrapped, rest.remaining, rest.is_done) == (3, 0, True)
    assert {wrapped_by(w) for w in _wrapped(factory)} == {rotating.key_id}

    ops_keys.retire(factory, keyring=rotating, out=key_file, now=_now(), actor="t")
    only_new = keyset.load_keyring(None, key_file)
    assert (only_new.key_id, only_new.previous) == (rotating.key_id, ())
    assert read_everything(factory, only_new, policy, seeded["subjects"]) == before
    for wrapped in _wrapped(factory):  # the old key alone opens nothing any more
        with pytest.raises(DecryptionFailed):
            keyring.unwrap(wrapped)
    with session_scope(factory) as s:  # a sealed correction, opened when staff process it
        done = processing.process(
            s, keyring=only_new, policy=policy, request_id=seeded["correction"], now=NOW,
            actor="staff-1",
        )  # fmt: skip
    assert done.result["stored"] == ["first_name"]


def test_rotation_is_audited_with_counts_and_the_log_verifies(factory, keyring, policy, tmp_path):
    seed(factory, keyring, policy)
    rotating = ops_keys.new_master(
        factory, keyring=keyring, out=tmp_path / "k", now=_now(), actor="cli"
    )
    ops_keys.rotate(factory, keyring=rotating, clock=_now, actor="cli", chunk=3)
    ops_keys.retire(factory, keyring=rotating, out=tmp_path / "k", now=_now(), actor="cli")
    with factory() as s:
        entries = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.like("keys.master.%"))
            .order_by(AuditEntry.seq)
        ).all()
        report = audit_service.verify(s)
    assert [e.action for e in entries] == [
        "keys.master.created", *["keys.master.rewrapped"] * 3, "keys.master.rotated",
        "keys.master.retired",
    ]  # fmt: skip
    assert sum(e.detail["rewrapped"] for e in entries[1:4]) == len(CUSTOMERS)
    assert all(e.subject_id is None for e in entries)
    assert entries[-1].detail == {"master_key_id": rotating.key_id,
                                  "retired_key_ids": [keyring.key_id]}  # fmt: skip
    assert report.ok, report.problem


def test_a_key_destroyed_during_rotation_is_never_written_back(factory, keyring, policy):
    """The re-wrap is a compare-and-swap: an erasure meanwhile wins (TH-DSR-04)."""
    seeded = seed(factory, keyring, policy)
    rotating = keyset.with_new_master(keyring)
    victim = seeded["subjects"][-1]
    with session_scope(factory) as s:
        stale = s.scalar(select(Subject.data_key_wrapped).where(Subject.id == victim))
        identities.destroy_data_key(s, subject_id=victim, now=NOW, actor="test")
        assert rewrap._swap(s, rotating, victim, stale) == 0
    report = ops_keys.rotate(factory, keyring=rotating, clock=_now, actor="t")
    assert (report.rewrapped, report.is_done) == (len(CUSTOMERS) - 1, True)
    with factory() as s:
        assert s.scalar(select(Subject.data_key_wrapped).where(Subject.id == victim)) is None
        census = rewrap.census(s, keyring=rotating)
    assert (census.current, census.other, census.destroyed) == (len(CUSTOMERS) - 1, 0, 1)


def test_a_rotation_without_the_old_key_stops_naming_the_subject(factory, keyring, policy):
    seed(factory, keyring, policy)
    stranger = Keyring(bytes(range(1, 33)))
    with pytest.raises(rewrap.DataKeyUnreadable, match="opens under no loaded master key"):
        ops_keys.rotate(factory, keyring=stranger, clock=_now, actor="t")
    with pytest.raises(ops_keys.RotationUnderWay):
        ops_keys.new_master(factory, keyring=keyset.with_new_master(keyring), out=None,
                            now=NOW, actor="t")  # fmt: skip


def test_the_server_keeps_serving_while_keys_are_rewrapped(factory, keyring, policy, settings):
    """Online: a server on the key set (new key, old kept) answers throughout the rotation."""
    from fastapi.testclient import TestClient

    from rujai.main import create_app

    seed(factory, keyring, policy)
    with session_scope(factory) as s:
        api_key = apikeys_service.create(
            s, name="rotation", scopes=["track", "consent", "decide"], now=utcnow()
        ).key
    rotating = keyset.with_new_master(keyring)
    online = settings.model_copy(
        update={"security": SecuritySettings(master_key=keyset.dumps(rotating))}
    )
    statuses: list[tuple[int, str]] = []
    with TestClient(create_app(online), headers={"Authorization": f"Bearer {api_key}"}) as http:
        for cid in [*CUSTOMERS, "C-ROTATE-NEW"]:  # the new one is wrapped under the new key
            answers = [
                http.post(f"/v1/subjects/{cid}/consents", json=GRANT),
                http.post("/v1/track", json={"type": "page_view", "customer_id": cid,
                                             "properties": {"path": "/th/x"}}),
                http.get(f"/v1/subjects/{cid}/consents"),
                http.post("/v1/decide", json={"customer_id": cid, "placement": "home_for_you"}),
            ]  # fmt: skip
            statuses += [(r.status_code, r.text[:200]) for r in answers]
            with session_scope(factory) as s:  # one chunk of the rotation between requests
                rewrap.rewrap_chunk(s, keyring=rotating, after=None, now=_now(), actor="t", limit=1)
    assert {code for code, _ in statuses} <= {200, 201}, statuses
    with factory() as s:
        assert rewrap.census(s, keyring=rotating).other == 0


def test_the_cli_rotates_resumes_and_destroys_the_old_key(
    factory, keyring, policy, db_url, tmp_path, monkeypatch
):
    seed(factory, keyring, policy)
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.b64encode(TEST_MASTER_KEY).decode() + "\n")
    monkeypatch.delenv("RUJAI_SECURITY__MASTER_KEY", raising=False)
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY_FILE", str(key_file))
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    monkeypatch.setenv("RUJAI_AUDIT__CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    get_settings.cache_clear()
    from rujai.cli import app

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["keys", *args])

    try:
        assert run("new-master").exit_code == 0
        rotating = keyset.load_keyring(None, key_file)
        assert rotating.previous_ids == (keyring.key_id,)
        again = run("new-master")
        assert (again.exit_code, "finish" in again.stderr) == (1, True)
        partial = run("rotate-master", "--chunk", "2", "--max-chunks", "1")
        assert (partial.exit_code, "5 left" in partial.stdout) == (1, True)
        refused = run("destroy-old-master")
        assert (refused.exit_code, "5 data key(s)" in refused.stderr) == (1, True)
        assert keyset.load_keyring(None, key_file).previous_ids == (keyring.key_id,)
        done = run("rotate-master")
        assert (done.exit_code, "0 left" in done.stdout) == (0, True), done.stdout
        status = run("master-status")
        assert f"master key {rotating.key_id}: {len(CUSTOMERS)} data key(s)" in status.stdout
        assert run("destroy-old-master").exit_code == 0
        assert keyset.load_keyring(None, key_file).previous == ()
        assert "nothing to destroy" in run("destroy-old-master").stdout
        assert run("list").exit_code == 0  # the API key commands live in the same group
    finally:
        get_settings.cache_clear()
    with factory() as s:
        shredded = s.scalar(select(func.count()).where(Subject.data_key_wrapped.is_(None)))
    assert shredded == 0
