"""``rujai serve`` as a real subprocess on 127.0.0.1, for crash and multi-process tests."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.web.live import free_port

RUJAI = Path(sys.executable).parent / "rujai"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush, nothing but what is already durable."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def server_env(db_url: str, workdir: Path) -> dict[str, str]:
    """The environment of a test server on ``db_url``; audit files, erasure log in ``workdir``."""
    return {
        **os.environ,
        "RUJAI_DATABASE_URL": db_url,
        "RUJAI_POLICY__PATH": str(EXAMPLE_POLICY),
        "RUJAI_SECURITY__MASTER_KEY": base64.b64encode(TEST_MASTER_KEY).decode(),
        "RUJAI_RUN_MIGRATIONS_ON_START": "false",
        "RUJAI_RIGHTS__RETENTION_INTERVAL_HOURS": "0",
        "RUJAI_PERSONALIZE__HOLDOUT_SHARE": "0",
        "RUJAI_AUDIT__SIGNING_KEY_FILE": str(workdir / "audit-signing.key"),
        "RUJAI_AUDIT__CHECKPOINT_FILE": str(workdir / "audit-checkpoints.jsonl"),
        "RUJAI_RIGHTS__ERASURE_LOG_FILE": str(workdir / "erasure-log.jsonl"),
    }


@contextmanager
def running_server(db_url: str, workdir: Path, name: str = "server") -> Iterator[Server]:
    """Start ``rujai serve`` and wait until it answers; stop it (if still alive) at the end."""
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
            [str(RUJAI), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(db_url, workdir), stdout=out, stderr=subprocess.STDOUT,
            cwd=workdir,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not healthy within 60 s:\n{server.log.read_text()[-3000:]}")
