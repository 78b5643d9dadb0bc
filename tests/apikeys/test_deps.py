"""``require_scope``: 401 for a missing or wrong key, 403 naming the scope, as problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.apikeys.deps import ConsentPrincipal, require_scope
from rujai.apikeys.schemas import Principal
from rujai.errors import PROBLEM_JSON, install_handlers
from rujai.main import Storage
from rujai.writer import session_scope

NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def api(storage: Storage, factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = FastAPI()
    storage.attach(app.state)
    install_handlers(app)

    @app.get("/consents")
    def read_consents(principal: Annotated[Principal, Depends(require_scope("consent"))]) -> dict:
        return {"actor": principal.actor}

    @app.get("/alias")
    def read_alias(principal: ConsentPrincipal) -> dict:
        return {"actor": principal.actor}

    with TestClient(app) as client:
        yield client


def _create(factory: sessionmaker[Session], *scopes: str, revoke: bool = False) -> tuple[str, str]:
    with session_scope(factory) as s:
        created = apikeys_service.create(s, name="test", scopes=list(scopes), now=NOW)
        if revoke:
            apikeys_service.revoke(s, key_id=created.id, now=NOW, actor="cli")
    return created.key, f"key:{created.id}"


@pytest.mark.parametrize("path", ["/consents", "/alias"])
def test_a_key_with_the_scope_gets_through_by_bearer(
    api: TestClient, factory: sessionmaker[Session], path: str
) -> None:
    key, actor = _create(factory, "consent")
    response = api.get(path, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json() == {"actor": actor}


def test_a_key_gets_through_by_x_api_key_header(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    key, actor = _create(factory, "consent")
    response = api.get("/consents", headers={"X-API-Key": key})
    assert response.json() == {"actor": actor}


def test_an_admin_key_has_every_scope(api: TestClient, factory: sessionmaker[Session]) -> None:
    key, _ = _create(factory, "admin")
    assert api.get("/consents", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_a_key_without_the_scope_is_403_naming_it(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    key, _ = _create(factory, "track", "decide")
    response = api.get("/consents", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["error"] == "forbidden"
    assert body["required_scope"] == "consent"
    assert "'consent'" in body["detail"]


def _headers_for_wrong_keys(key: str) -> list[dict[str, str]]:
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    return [
        {},
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": f"Basic {key}"},
        {"Authorization": "Bearer not-a-key"},
        {"X-API-Key": wrong},
    ]


def test_missing_or_wrong_keys_are_401_with_one_message(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    key, _ = _create(factory, "consent")
    details = set()
    for headers in _headers_for_wrong_keys(key):
        response = api.get("/consents", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.headers["www-authenticate"] == "Bearer"
        details.add(response.json()["detail"])
    assert details == {apikeys_service.UNAUTHORIZED_MESSAGE}


def test_a_revoked_key_is_401(api: TestClient, factory: sessionmaker[Session]) -> None:
    key, _ = _create(factory, "consent", revoke=True)
    response = api.get("/consents", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


def test_require_scope_refuses_an_unknown_scope_at_definition() -> None:
    with pytest.raises(ValueError, match="superuser"):
        require_scope("superuser")
