"""Recovery before serving: finish every erasure the erasure log names that is not done.

``rujai rights resume`` runs it by hand; ``rujai serve`` runs it before the server takes a
request, and does not serve if it fails (an erasure is a legal obligation: better no answer than a
subject who should be gone). After a crash it finishes the erasures whose transaction was cut off;
after a database was restored by other means than ``rujai restore`` (a disk snapshot, a manual
``pg_restore``) it erases again whoever was erased since.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rujai.config import Settings
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.rights import replay
from rujai.rights.erasure_log import ErasureLog


def resume(
    settings: Settings,
    *,
    keyring: Keyring,
    policy: Policy,
    clock: Callable[[], datetime],
    actor: str,
) -> replay.ReplayReport:
    """Replay the erasure log against the configured database; report counts."""
    engine = make_engine(settings.db.url)
    try:
        return replay.replay(
            make_session_factory(engine), keyring=keyring, policy=policy,
            log=ErasureLog(settings.rights.erasure_log_file), clock=clock, actor=actor,
        )  # fmt: skip
    finally:
        engine.dispose()


def before_serving(
    settings: Settings, *, keyring: Keyring, policy: Policy, clock: Callable[[], datetime]
) -> replay.ReplayReport:
    """Migrate (if configured), then finish every logged erasure; raise if one cannot be done."""
    if settings.run_migrations_on_start:
        upgrade(settings.db.url)
    return resume(settings, keyring=keyring, policy=policy, clock=clock, actor="system:start")
