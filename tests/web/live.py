"""The real server on 127.0.0.1 (uvicorn in a thread) and a Chromium that talks only to it."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from rujai.config import Settings
from rujai.db import make_engine, make_session_factory
from rujai.kit.crypto import Keyring
from rujai.main import create_app
from rujai.policy.schemas import Policy
from rujai.web import mount_web

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
MASTER_KEY = bytes(range(32))


@dataclass
class Live:
    url: str
    app: FastAPI

    @cached_property
    def factory(self) -> sessionmaker[Session]:
        """Sessions of the test's own (writing) engine: the app's request sessions only read."""
        settings: Settings = self.app.state.settings
        return make_session_factory(make_engine(settings.db.url))

    @property
    def keyring(self) -> Keyring:
        keyring: Keyring = self.app.state.keyring
        return keyring

    @property
    def policy(self) -> Policy:
        policy: Policy = self.app.state.policy
        return policy


def web_app(settings: Settings) -> FastAPI:
    """``create_app`` with the web UI mounted (once: main.py may already do it)."""
    app = create_app(settings)
    if not any(getattr(route, "path", None) == "/static" for route in app.routes):
        mount_web(app, settings)
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(db_file: Path) -> Iterator[Live]:
    """Serve a fresh app on a free port of 127.0.0.1 until the block ends."""
    settings = Settings(
        database_url=f"sqlite:///{db_file}",
        security={"master_key": base64.b64encode(MASTER_KEY).decode()},
        policy={"path": ROOT / "examples" / "policy.yaml"},
        audit={
            "signing_key_file": db_file.parent / "audit-signing.key",
            "checkpoint_file": db_file.parent / "audit-checkpoints.jsonl",
        },
        rights={"erasure_log_file": db_file.parent / "erasure-log.jsonl"},
        # No holdout: the browser tests' customer has a fresh random id, and the default 5%
        # persistent holdout would leave one run in twenty unpersonalized (tested elsewhere).
        personalize={"holdout_share": 0.0},
    )
    app = web_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Live(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if CHROMIUM.exists():
        return None
    return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"


def launch(playwright: Any) -> Any:
    """Launch the Debian Chromium headless (Playwright's own download is not used)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def in_ci() -> bool:
    return bool(os.environ.get("CI"))
