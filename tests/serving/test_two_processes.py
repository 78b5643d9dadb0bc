"""Two server processes on one PostgreSQL database (``rujai serve --workers`` in miniature).

Each process has its own writer and its own serving caches. They decide concurrently, the audit
log they both append to verifies, and a withdrawal made through one process makes the very next
decide in the other non-personalized (TH-CON-03), whatever that process had cached.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from typer.testing import CliRunner

from rujai.audit import service as audit_service
from rujai.audit.anchor_check import Anchors
from rujai.audit.signing import load_or_create_signer
from tests.personalize.test_decide import shop  # noqa: F401 - the seeded, trained shop
from tests.serving.process import running_server, server_env

WITHDRAW = {"purpose": "recommendations", "action": "withdraw", "language": "th",
            "channel": "web", "actor": "self"}  # fmt: skip


def _decide(url: str, auth: dict[str, str], customer_id: str) -> dict:
    response = httpx.post(
        f"{url}/v1/decide", json={"customer_id": customer_id, "placement": "home_for_you", "k": 4},
        headers=auth, timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def _model_version_in(url: str, auth: dict[str, str], customer_id: str, old: str) -> str | None:
    """The model version ``url`` decides with, waiting (15 s at most) for it to leave ``old``."""
    deadline = time.monotonic() + 15
    version = _decide(url, auth, customer_id)["model_version"]
    while version == old and time.monotonic() < deadline:
        time.sleep(0.2)
        version = _decide(url, auth, customer_id)["model_version"]
    return version


def _hammer(urls: list[str], auth: dict[str, str], seconds: float) -> list[int]:
    """Decide from four clients per process at once; return every status code."""
    statuses: list[int] = []
    lock = threading.Lock()

    def client(url: str, n: int) -> None:
        end = time.monotonic() + seconds
        with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
            while time.monotonic() < end:
                body = {"customer_id": f"C-{n % 20:03d}", "placement": "app_offer"}
                code = http.post("/v1/decide", json=body).status_code
                with lock:
                    statuses.append(code)
                n += 1

    threads = [threading.Thread(target=client, args=(u, i)) for u in urls for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_two_processes_decide_together_and_see_each_others_withdrawals(
    db_url,
    factory,
    shop,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is served by one process (one writer per file); see the CLI test")
    signer = load_or_create_signer(tmp_path / "audit-signing.key")  # one key for both
    with running_server(db_url, tmp_path, "a") as a, running_server(db_url, tmp_path, "b") as b:
        statuses = _hammer([a.url, b.url], shop, seconds=2.0)
        assert statuses
        assert set(statuses) == {200}
        cached = _decide(b.url, shop, "C-003")  # now cached in b
        assert cached["personalized"] is True
        before_model = cached["model_version"]
        response = httpx.post(
            f"{a.url}/v1/subjects/C-003/consents", json=WITHDRAW, headers=shop, timeout=30
        )
        assert response.status_code == 201, response.text
        after = _decide(b.url, shop, "C-003")
        assert (after["personalized"], after["reason"]) == (False, "withdrawn")
        # The withdrawal unlearned C-003 in a: b swaps to that model without a restart.
        assert _model_version_in(b.url, shop, "C-004", before_model) != before_model
    with factory() as s:
        report = audit_service.verify(
            s, anchors=Anchors(signer.public_key, tmp_path / "audit-checkpoints.jsonl")
        )
    assert report.ok, report.problem
    assert report.checkpoint is not None


def test_serve_refuses_several_workers_on_sqlite(tmp_path, monkeypatch):
    from rujai.cli import app

    for name, value in server_env(f"sqlite:///{tmp_path / 'one.db'}", tmp_path).items():
        monkeypatch.setenv(name, value)
    from rujai.config import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "--workers 2 needs PostgreSQL" in result.output
    assert "one writer" in result.output
