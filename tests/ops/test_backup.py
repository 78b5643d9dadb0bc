"""Backups and restores: no key material in a backup; whoever was erased since stays erased.

On SQLite and PostgreSQL. A backup is taken of a shop with three customers; afterwards one is
erased by an operator and another by a verified request. The backup is restored into another
database: before anything serves it, both are erased again (from the erasure log, outside the
database), their blind indexes are suppression entries, the request is completed, the third
customer is intact and the audit log verifies against a fresh checkpoint. A restore by other means
(a disk snapshot, a hand-run pg_restore) is caught by ``rujai serve`` itself before it serves.
"""

from __future__ import annotations

import base64
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rujai.audit import anchor, service as audit_service
from rujai.audit.anchor_check import Anchors
from rujai.audit.signing import load_or_create_signer
from rujai.config import DatabaseSettings, Settings, get_settings
from rujai.db import make_engine, make_session_factory
from rujai.kit import dbcopy
from rujai.kit.time import utcnow
from rujai.ops import backup as ops_backup
from rujai.profiles import service as profiles_service
from rujai.profiles.models import Suppression
from rujai.rights import erasure, erasure_log, processing, verify
from rujai.rights.erasure_log import ErasureLog
from rujai.rights.models import RightsRequest
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.ops.test_keys import _shopper
from tests.rights.test_requests import NOW, code_for, submit
from tests.serving.process import running_server

KEPT, BY_OPERATOR, BY_REQUEST = "C-BACKUP-KEPT", "C-BACKUP-OPERATOR", "C-BACKUP-REQUEST"


def _shop(factory, keyring, policy) -> dict:
    """Three customers with data; the third has a verified erasure request waiting for staff."""
    from rujai.rights import verification

    with session_scope(factory) as s:
        for n, cid in enumerate((KEPT, BY_OPERATOR, BY_REQUEST)):
            _shopper(s, keyring, policy, n, cid)
        request = submit(s, keyring, policy, "erasure", customer_id=BY_REQUEST)
        verification.start_verification(
            s, keyring=keyring, policy=policy, request_id=request.id, now=NOW
        )
        code = code_for(s, keyring, request.id)
        verification.confirm(s, keyring=keyring, request_id=request.id, code=code, now=NOW)
    return {"request": request.id}


def _logged(factory: sessionmaker[Session], settings: Settings) -> sessionmaker[Session]:
    """Sessions like the server's writer: erasures append to the erasure log first."""
    logged = sessionmaker(**factory.kw)
    logged.kw["info"] = {}
    erasure_log.attach(logged, ErasureLog(settings.rights.erasure_log_file))
    return logged


def _erase_after_backup(factory, settings, keyring, policy, request_id) -> None:
    logged = _logged(factory, settings)
    with session_scope(logged) as s:
        erasure.erase_customer(s, keyring=keyring, policy=policy, customer_id=BY_OPERATOR,
                               now=NOW + timedelta(hours=1), actor="cli")  # fmt: skip
    with session_scope(logged) as s:
        processing.process(s, keyring=keyring, policy=policy, request_id=request_id,
                           now=NOW + timedelta(hours=2), actor="staff-1")  # fmt: skip
    for cid in (BY_OPERATOR, BY_REQUEST):
        with factory() as s:
            assert profiles_service.find_id(s, keyring=keyring, customer_id=cid) is None


def _checkpoint(factory, settings: Settings) -> None:
    with session_scope(factory) as s:
        signer = load_or_create_signer(settings.audit.signing_key_file)
        assert anchor.checkpoint(s, signer, settings.audit.checkpoint_file, utcnow()) is not None


def _cli_env(monkeypatch, settings: Settings, url: str) -> None:
    monkeypatch.setenv("RUJAI_DATABASE_URL", url)
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_AUDIT__SIGNING_KEY_FILE", str(settings.audit.signing_key_file))
    monkeypatch.setenv("RUJAI_AUDIT__CHECKPOINT_FILE", str(settings.audit.checkpoint_file))
    monkeypatch.setenv("RUJAI_RIGHTS__ERASURE_LOG_FILE", str(settings.rights.erasure_log_file))
    get_settings.cache_clear()


def _cli(*args: str):
    from rujai.cli import app

    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def _no_key_material(backup_dir, keyring) -> None:
    """Neither the master key nor a key derived from it is anywhere in the backup."""
    secrets = [keyring.master, keyring.wrapping, keyring.blind_index, keyring.receipts,
               keyring.evidence]  # fmt: skip
    needles = [*secrets, *(base64.b64encode(key) for key in secrets)]
    for path in backup_dir.iterdir():
        data = path.read_bytes()
        assert not any(needle in data for needle in needles), path.name


def test_restore_erases_again_whoever_was_erased_after_the_backup(
    factory, keyring, policy, settings, other_db, tmp_path, monkeypatch, db_url
):
    shop = _shop(factory, keyring, policy)
    _checkpoint(factory, settings)
    backup_dir = tmp_path / "backups" / "monday"
    _cli_env(monkeypatch, settings, db_url)
    made = _cli("backup", str(backup_dir))
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in backup_dir.iterdir()) == sorted(
        ["manifest.json", ops_backup.FILES[dbcopy.backend(db_url)]]
    )
    assert ops_backup.read_manifest(backup_dir).master_key_ids == [keyring.key_id]
    modes = {oct(p.stat().st_mode)[-3:] for p in [backup_dir, *backup_dir.iterdir()]}
    assert modes == {"700", "600"}  # sealed, but personal data all the same
    _no_key_material(backup_dir, keyring)

    _erase_after_backup(factory, settings, keyring, policy, shop["request"])
    _checkpoint(factory, settings)  # the signed log now reaches past the backup
    assert ErasureLog(settings.rights.erasure_log_file).count() == 2

    _cli_env(monkeypatch, settings, other_db)
    restored = _cli("restore", str(backup_dir))
    assert restored.exit_code == 0, restored.output
    assert '"erased": 2' in restored.stdout
    assert '"requests_completed": 1' in restored.stdout
    assert "set aside" in restored.stdout

    engine = make_engine(other_db)
    try:
        _check_restored(make_session_factory(engine), settings, keyring, shop["request"])
    finally:
        engine.dispose()
    archived = list(settings.audit.checkpoint_file.parent.glob("*.before-restore-*"))
    assert len(archived) == 1


def _check_restored(restored, settings: Settings, keyring, request_id) -> None:
    with restored() as s:
        for cid in (BY_OPERATOR, BY_REQUEST):
            assert profiles_service.find_id(s, keyring=keyring, customer_id=cid) is None
            report = verify.scan(s, keyring=keyring, customer_id=cid)
            assert report.is_clean, report.leftovers
        assert profiles_service.find_id(s, keyring=keyring, customer_id=KEPT) is not None
        request = s.get(RightsRequest, request_id)
        assert (request.status, request.subject_id) == ("completed", None)
        assert len(s.scalars(select(Suppression)).all()) >= 6  # refs, e-mails, phones of two
        public_key = load_or_create_signer(settings.audit.signing_key_file).public_key
        audit = audit_service.verify(s, anchors=Anchors(public_key, settings.audit.checkpoint_file))
    assert audit.ok, audit.problem
    assert audit.checkpoint is not None
    assert audit.checkpoint.seq == audit.checked  # signed after the replay


def test_the_server_erases_again_on_start_after_a_restore_by_other_means(
    factory, keyring, policy, settings, other_db, tmp_path
):
    shop = _shop(factory, keyring, policy)
    backup_dir = tmp_path / "snapshot"
    ops_backup.backup(settings, out=backup_dir, keyring=keyring, now=utcnow())
    _erase_after_backup(factory, settings, keyring, policy, shop["request"])
    manifest = ops_backup.read_manifest(backup_dir)
    dbcopy.load(other_db, backup_dir / manifest.database)  # no replay: by other means
    engine = make_engine(other_db)
    try:
        restored = make_session_factory(engine)
        with restored() as s:
            assert profiles_service.find_id(s, keyring=keyring, customer_id=BY_OPERATOR)
        # The same erasure log; healthy means past the replay: nothing was served before it.
        with running_server(other_db, tmp_path) as server, restored() as s:
            for cid in (BY_OPERATOR, BY_REQUEST):
                assert profiles_service.find_id(s, keyring=keyring, customer_id=cid) is None
            assert profiles_service.find_id(s, keyring=keyring, customer_id=KEPT)
        assert "finished 2 erasure(s) from the erasure log" in server.log.read_text()
    finally:
        engine.dispose()


def test_a_backup_never_overwrites_and_a_restore_never_replaces_unasked(
    factory, keyring, policy, settings, other_db, tmp_path
):
    _shop(factory, keyring, policy)
    backup_dir = tmp_path / "b"
    ops_backup.backup(settings, out=backup_dir, keyring=keyring, now=utcnow())
    with pytest.raises(dbcopy.CopyFailed, match="not empty"):
        ops_backup.backup(settings, out=backup_dir, keyring=keyring, now=utcnow())
    with pytest.raises(ops_backup.RestoreRefused, match="not empty"):
        ops_backup.restore(settings, source=backup_dir, keyring=keyring, policy=policy,
                           clock=utcnow)  # fmt: skip
    with pytest.raises(ops_backup.RestoreRefused, match="not a rujai backup"):
        ops_backup.restore(settings, source=tmp_path, keyring=keyring, policy=policy,
                           clock=utcnow)  # fmt: skip
    from rujai.kit.crypto import Keyring

    stranger = Keyring(bytes(range(2, 34)))
    target = settings.model_copy(update={"db": DatabaseSettings(url=other_db)})
    with pytest.raises(ops_backup.RestoreRefused, match="needs master key"):
        ops_backup.restore(target, source=backup_dir, keyring=stranger, policy=policy,
                           clock=utcnow)  # fmt: skip
    assert dbcopy.table_count(other_db) == 0


def test_a_backup_whose_audit_log_was_altered_is_refused(
    factory, keyring, policy, settings, other_db, tmp_path, db_url
):
    if dbcopy.backend(db_url) != "sqlite":
        pytest.skip("the copy is edited with sqlite3; the check itself is the same on both")
    _shop(factory, keyring, policy)
    _checkpoint(factory, settings)
    backup_dir = tmp_path / "b"
    ops_backup.backup(settings, out=backup_dir, keyring=keyring, now=utcnow())
    copy = backup_dir / ops_backup.FILES["sqlite"]
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 1")
    target = settings.model_copy(update={"db": DatabaseSettings(url=other_db)})
    with pytest.raises(ops_backup.RestoreRefused, match="audit log is broken"):
        ops_backup.restore(target, source=backup_dir, keyring=keyring, policy=policy,
                           clock=utcnow)  # fmt: skip
    assert settings.audit.checkpoint_file.exists()  # nothing set aside for a refused restore
