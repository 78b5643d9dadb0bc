"""The server freezes its start-up heap and gives it back at shutdown (``rujai.kit.heap``)."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from rujai.config import Settings
from rujai.kit import heap
from rujai.main import create_app


def test_settle_freezes_what_is_alive_and_unsettle_gives_it_back() -> None:
    kept = [object() for _ in range(10)]
    try:
        frozen = heap.settle()
        assert frozen == gc.get_freeze_count() > len(kept)
    finally:
        heap.unsettle()
    assert gc.get_freeze_count() == 0


def test_the_server_settles_its_heap_while_it_runs(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
