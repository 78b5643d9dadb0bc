"""Backups and restores: the database alone, and every erasure since replayed before serving.

``backup`` writes a directory: the database copy (``kit.dbcopy``: SQLite's backup API or
``pg_dump``) and ``manifest.json`` (when, which backend, the ids of the master keys it needs).
It never holds key material: the master key, the audit signing key, the checkpoints and the
erasure log stay where they are and are kept apart (``docs/security.md``).

``restore`` loads a copy into the configured database (refusing a non-empty one unless told),
migrates it, then:

1. checks the restored audit chain against every signed checkpoint it still reaches (a backup
   whose history was altered is refused), and moves the checkpoint file aside
   (``<name>.before-restore-<time>``, kept for auditors): the restored log is shorter than what
   was signed, so it starts a new file;
2. replays the erasure log (``rights.replay``): every subject erased after the backup was taken
   is erased again and their blind indexes suppressed, before any server serves;
3. audits the restore (counts only) and signs a checkpoint of the new head.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from rujai import __version__
from rujai.audit import anchor, service as audit_service
from rujai.audit.anchor_check import Anchors
from rujai.audit.signing import load_or_create_signer
from rujai.config import Settings
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.errors import Conflict
from rujai.kit import dbcopy
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.rights import replay
from rujai.rights.erasure_log import ErasureLog
from rujai.writer import session_scope

FORMAT = "rujai-backup/1"
MANIFEST = "manifest.json"
FILES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}


class RestoreRefused(Conflict):
    """A restore that would lose data or could not be read: the message says which."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup directory holds (no key material, no personal data)."""

    format: str
    created_at: str
    backend: str
    database: str
    master_key_ids: list[str]
    erasure_log_entries: int
    rujai_version: str


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore did: the backup's time, the erasures replayed, the checkpoints set aside."""

    backup_created_at: str
    audit_entries_restored: int
    checkpoints_archived: str | None
    replay: replay.ReplayReport


@contextmanager
def _factory(url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def backup(settings: Settings, *, out: Path, keyring: Keyring, now: datetime) -> Manifest:
    """Copy the database into the new directory ``out`` with its manifest; audit it."""
    kind = dbcopy.backend(settings.db.url)
    if out.exists() and any(out.iterdir()):
        raise dbcopy.CopyFailed(f"{out} is not empty: a backup goes into a new directory")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    dbcopy.dump(settings.db.url, out / FILES[kind])
    manifest = Manifest(
        format=FORMAT, created_at=now.isoformat(), backend=kind, database=FILES[kind],
        master_key_ids=[keyring.key_id, *keyring.previous_ids],
        erasure_log_entries=ErasureLog(settings.rights.erasure_log_file).count(),
        rujai_version=__version__,
    )  # fmt: skip
    (out / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1) + "\n")
    for path in (out / FILES[kind], out / MANIFEST):
        path.chmod(0o600)  # sealed, but personal data all the same
    with _factory(settings.db.url) as factory, session_scope(factory) as session:
        audit_service.record(
            session, actor="cli", action="ops.backup", now=now, outcome="recorded",
            detail={"backend": kind, "master_key_ids": manifest.master_key_ids},
        )  # fmt: skip
    return manifest


def read_manifest(source: Path) -> Manifest:
    """Read a backup directory's manifest; raise RestoreRefused if it is not a backup."""
    try:
        data = json.loads((source / MANIFEST).read_text())
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError) as e:
        raise RestoreRefused(f"{source} is not a rujai backup (no readable {MANIFEST})") from e
    if manifest.format != FORMAT:
        raise RestoreRefused(f"{source}: unknown backup format {manifest.format!r}")
    return manifest


def restore(
    settings: Settings,
    *,
    source: Path,
    keyring: Keyring,
    policy: Policy,
    clock: Callable[[], datetime],
    overwrite: bool = False,
) -> RestoreReport:
    """Load the backup in ``source`` into the configured database and replay the erasure log."""
    url = settings.db.url
    manifest = _check_restorable(settings, source, keyring, overwrite=overwrite)
    dbcopy.load(url, source / manifest.database)
    upgrade(url)  # a backup of an older release
    with _factory(url) as factory:
        restored, archived = _rebase_checkpoints(settings, factory, clock())
        replayed = replay.replay(
            factory, keyring=keyring, policy=policy,
            log=ErasureLog(settings.rights.erasure_log_file), clock=clock,
            actor="system:restore",
        )  # fmt: skip
        report = RestoreReport(manifest.created_at, restored, archived, replayed)
        with session_scope(factory) as session:
            audit_service.record(
                session, actor="cli", action="ops.restored", now=clock(), outcome="recorded",
                detail={"backup_created_at": manifest.created_at, **asdict(replayed),
                        "audit_entries_restored": restored},
            )  # fmt: skip
        with session_scope(factory) as session:
            signer = load_or_create_signer(settings.audit.signing_key_file)
            anchor.checkpoint(session, signer, settings.audit.checkpoint_file, clock())
    return report


def _check_restorable(
    settings: Settings, source: Path, keyring: Keyring, *, overwrite: bool
) -> Manifest:
    manifest = read_manifest(source)
    kind = dbcopy.backend(settings.db.url)
    if manifest.backend != kind:
        raise RestoreRefused(f"{source} is a {manifest.backend} backup; the database is {kind}")
    loaded = {keyring.key_id, *keyring.previous_ids}
    if manifest.master_key_ids and not loaded.intersection(manifest.master_key_ids):
        raise RestoreRefused(
            f"{source} needs master key {' or '.join(manifest.master_key_ids)}, which is not "
            "loaded: its personal data could not be read (a retired key is destroyed for good)"
        )
    if not overwrite and dbcopy.table_count(settings.db.url):
        raise RestoreRefused("the database is not empty: replace it with `rujai restore --yes`")
    return manifest


def _rebase_checkpoints(
    settings: Settings, factory: sessionmaker[Session], now: datetime
) -> tuple[int, str | None]:
    """Check the restored chain against the checkpoints it reaches; set the file aside.

    Returns the restored chain's length and the archived file's name (None without a file).
    """
    path = settings.audit.checkpoint_file
    with session_scope(factory) as session:
        chain = audit_service.verify(session)
        if not chain.ok:
            raise RestoreRefused(f"the backup's audit log is broken: {chain.problem}")
        if not path.exists():
            return chain.checked, None
        reached = [
            (f"checkpoint line {number}", head)
            for number, head in anchor.read_checkpoints(path)
            if head is not None and head.seq <= chain.checked
        ]
        public_key = load_or_create_signer(settings.audit.signing_key_file).public_key
        checked = audit_service.verify(session, anchors=Anchors(public_key, None, receipts=reached))
        if not checked.ok:
            raise RestoreRefused(
                f"the backup does not match the signed audit log: {checked.problem}"
            )
    archived = path.with_name(f"{path.name}.before-restore-{now.strftime('%Y%m%dT%H%M%S%fZ')}")
    os.replace(path, archived)
    return chain.checked, archived.name
