"""Writing checkpoints: the key file, the append-only file, ``Anchor.tick`` (TH-SEC-01)."""

from __future__ import annotations

import json
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import anchor, service as audit_service
from rujai.audit.errors import AuditHistoryRewritten
from rujai.audit.signing import (
    head_signature_ok,
    load_or_create_signer,
    load_public_key,
    public_key_pem,
)
from rujai.config import AuditSettings
from tests.audit.chain import T0, build_chain
from tests.audit.rewrite import edit, rewrite

LATER = T0 + timedelta(hours=1)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "audit-signing.key"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.jsonl"


def _grow(factory: sessionmaker[Session], count: int = 3) -> None:
    with factory() as s, s.begin():
        build_chain(s, count, start=LATER)


def test_the_signing_key_is_created_once_with_mode_0600(key_file: Path) -> None:
    first = load_or_create_signer(key_file)
    second = load_or_create_signer(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.key_id == second.key_id
    assert list(key_file.parent.iterdir()) == [key_file]  # no temporary file left behind


def test_the_public_key_pem_verifies_heads_without_the_private_key(
    key_file: Path, tmp_path: Path
) -> None:
    signer = load_or_create_signer(key_file)
    head = signer.sign_head(seq=1, chain_hash="0" * 64, at=T0)
    exported = tmp_path / "audit-public.pem"
    exported.write_text(public_key_pem(signer.public_key))
    assert "PRIVATE" not in exported.read_text()
    assert head_signature_ok(head, load_public_key(exported))
    assert head_signature_ok(head, load_public_key(key_file))
    other = load_or_create_signer(tmp_path / "other.key")
    assert not head_signature_ok(head, other.public_key)


def test_checkpoint_is_idempotent_until_the_log_grows(factory, key_file, path) -> None:
    signer = load_or_create_signer(key_file)
    with factory() as s:
        assert anchor.checkpoint(s, signer, path, LATER) is None  # empty log: nothing to sign
    _grow(factory)
    with factory() as s:
        first = anchor.checkpoint(s, signer, path, LATER)
        again = anchor.checkpoint(s, signer, path, LATER + timedelta(seconds=5))
    assert first is not None
    assert again == first
    _grow(factory, 2)
    with factory() as s:
        grown = anchor.checkpoint(s, signer, path, LATER + timedelta(seconds=9))
    assert grown is not None
    assert grown.seq == 5
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [3, 5]
    assert anchor.latest_checkpoint(path) == grown


def test_checkpoints_hold_no_personal_data(factory, key_file, path) -> None:
    _grow(factory)
    with factory() as s:
        anchor.checkpoint(s, load_or_create_signer(key_file), path, LATER)
    assert set(json.loads(path.read_text())) == {"seq", "hash", "at", "key_id", "signature"}


def test_checkpoint_refuses_to_sign_over_a_rewritten_history(
    factory, engine, key_file, path
) -> None:
    signer = load_or_create_signer(key_file)
    _grow(factory)
    with factory() as s:
        anchor.checkpoint(s, signer, path, LATER)
    rewrite(engine, edit(1, detail={"i": 9}))
    _grow(factory)
    with factory() as s, pytest.raises(AuditHistoryRewritten, match="entry #3"):
        anchor.checkpoint(s, signer, path, LATER + timedelta(minutes=1))
    tick = anchor.Anchor(signer, path)
    with factory() as s:
        assert tick.tick(s, LATER + timedelta(minutes=2)) is None  # logged, never raised
    assert len(path.read_text().splitlines()) == 1


def test_checkpoint_refuses_a_session_with_uncommitted_entries(factory, key_file, path) -> None:
    with factory() as s, s.begin():
        build_chain(s, 1)
        with pytest.raises(ValueError, match="uncommitted"):
            anchor.checkpoint(s, load_or_create_signer(key_file), path, LATER)


def test_tick_waits_every_s_unless_forced(factory, key_file, path) -> None:
    tick = anchor.Anchor(load_or_create_signer(key_file), path, every_s=10)
    _grow(factory)
    with factory() as s:
        first = tick.tick(s, LATER)
    _grow(factory)
    with factory() as s:
        assert tick.tick(s, LATER + timedelta(seconds=5)) == first  # too soon: nothing read
        forced = tick.tick(s, LATER + timedelta(seconds=6), force=True)
        assert tick.tick(s, LATER + timedelta(seconds=20)) == forced  # idle: nothing written
    assert first is not None
    assert forced is not None
    assert (first.seq, forced.seq) == (3, 6)
    assert tick.latest() == forced
    assert len(path.read_text().splitlines()) == 2


def test_anchor_from_settings_creates_the_key_and_attaches_to_sessions(
    factory, key_file, path
) -> None:
    tick = anchor.Anchor.from_settings(
        AuditSettings(signing_key_file=key_file, checkpoint_file=path, checkpoint_every_s=0)
    )
    assert key_file.exists()
    _grow(factory)
    with factory() as s:
        head = tick.tick(s, LATER)
    tick.attach(factory)
    with factory() as s:
        assert audit_service.current_head(s) == head
    with sessionmaker()() as bare:
        assert audit_service.current_head(bare) is None


def test_concurrent_writers_append_whole_lines_in_order(factory, key_file, path) -> None:
    """Many threads (each its own file descriptor, so ``flock`` contends) write checkpoints."""
    signer = load_or_create_signer(key_file)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                _grow(factory, 1)
                with factory() as s:
                    anchor.checkpoint(s, signer, path, LATER + timedelta(seconds=n * 10 + i))
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = [head.seq for _, head in anchor.read_checkpoints(path) if head is not None]
    assert len(seqs) == len(path.read_text().splitlines())  # every line whole and readable
    assert seqs == sorted(seqs)


def test_a_torn_last_line_is_skipped_and_the_next_line_stays_whole(factory, key_file, path) -> None:
    signer = load_or_create_signer(key_file)
    _grow(factory)
    with factory() as s:
        anchor.checkpoint(s, signer, path, LATER)
    with path.open("a") as fh:
        fh.write('{"seq": 9, "ha')  # a crash in the middle of a write
    assert anchor.latest_checkpoint(path) is not None
    _grow(factory)
    with factory() as s:
        head = anchor.checkpoint(s, signer, path, LATER + timedelta(seconds=1))
    assert anchor.latest_checkpoint(path) == head
