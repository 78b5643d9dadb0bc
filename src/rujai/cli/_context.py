"""What every command needs: settings, a session, the keyring, the policy, and error exits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit.anchor import CheckpointFile, attach_head_source
from rujai.config import Settings, get_settings
from rujai.db import make_engine, make_session_factory
from rujai.errors import AppError
from rujai.kit.crypto import Keyring
from rujai.kit.keyset import load_keyring
from rujai.policy.loader import load_policy_file
from rujai.policy.schemas import Policy
from rujai.rights import erasure_log
from rujai.rights.erasure_log import ErasureLog
from rujai.writer import session_scope

console = Console(soft_wrap=True)
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings() -> Settings:
    """Return the settings read from the environment."""
    return get_settings()


@contextmanager
def session() -> Iterator[Session]:
    """Open a session on the configured database; commit on success."""
    with session_factory() as factory, session_scope(factory) as s:
        yield s


@contextmanager
def session_factory() -> Iterator[sessionmaker[Session]]:
    """A session factory on the configured database, for jobs of one transaction per chunk."""
    cfg = settings()
    engine = make_engine(cfg.db.url)
    factory = make_session_factory(engine)
    attach_head_source(factory, CheckpointFile(cfg.audit.checkpoint_file))  # receipts embed it
    erasure_log.attach(factory, ErasureLog(cfg.rights.erasure_log_file))  # erasures log first
    try:
        yield factory
    finally:
        engine.dispose()


def keyring() -> Keyring:
    """Return the keyring for the configured master key."""
    cfg = settings().security
    inline = cfg.master_key.get_secret_value() if cfg.master_key else None
    return load_keyring(inline, cfg.master_key_file)


def policy() -> Policy:
    """Load the configured policy file."""
    return load_policy_file(settings().policy.path)


def exits_on_error(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn an AppError into a message on stderr and exit code 1."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except AppError as e:
            err_console.print(
                f"[red]error:[/red] {escape(e.message)}", markup=True, highlight=False
            )
            raise typer.Exit(1) from e

    return wrapper
