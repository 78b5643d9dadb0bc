"""``GET /v1/audit`` and ``GET /v1/audit/verify``: admin only (TH-SEC-01, TH-DPO-01)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.audit.router import router
from rujai.audit.schemas import AuditEntryRead
from rujai.errors import PROBLEM_JSON, install_handlers
from rujai.main import Storage
from rujai.writer import session_scope
from tests.audit.chain import SUBJECT, T0, build_chain, delete_entry


@pytest.fixture
def api(storage: Storage, factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = FastAPI()
    storage.attach(app.state)
    install_handlers(app)
    app.include_router(router, prefix="/v1")
    with TestClient(app) as client:
        yield client


def _key(factory: sessionmaker[Session], *scopes: str) -> dict[str, str]:
    with session_scope(factory) as s:
        created = apikeys_service.create(s, name="ops", scopes=list(scopes), now=T0)
        build_chain(s, 4)
    return {"Authorization": f"Bearer {created.key}"}


def test_list_audit_entries_returns_newest_first_for_admin(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = _key(factory, "admin")
    response = api.get("/v1/audit", headers=headers, params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [e["seq"] for e in body] == [5, 4]
    assert set(body[0]) == set(AuditEntryRead.model_fields)


def test_list_audit_entries_filters_by_subject_and_pages(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = _key(factory, "admin")
    params = {"subject_id": str(SUBJECT), "before_seq": 5}
    response = api.get("/v1/audit", headers=headers, params=params)
    assert [e["seq"] for e in response.json()] == [4, 2]


def test_list_audit_entries_rejects_a_limit_over_500(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    response = api.get("/v1/audit", headers=_key(factory, "admin"), params={"limit": 501})
    assert response.status_code == 422
    assert response.json()["field"] == "limit"


def test_verify_reports_an_intact_then_a_broken_chain(
    api: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = _key(factory, "admin")
    intact = api.get("/v1/audit/verify", headers=headers).json()
    delete_entry(engine, 3)
    broken = api.get("/v1/audit/verify", headers=headers).json()
    # The original four fields keep their meaning; anchor fields were added after them.
    assert {k: intact[k] for k in ("ok", "checked", "first_bad_seq", "problem")} == {
        "ok": True, "checked": 5, "first_bad_seq": None, "problem": None,
    }  # fmt: skip
    assert intact["checkpoint"] is None
    assert broken["ok"] is False
    assert broken["first_bad_seq"] == 3


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/verify"])
def test_audit_routes_refuse_a_key_without_the_admin_scope(
    api: TestClient, factory: sessionmaker[Session], path: str
) -> None:
    response = api.get(path, headers=_key(factory, "consent", "track", "decide"))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["required_scope"] == "admin"


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/verify"])
def test_audit_routes_refuse_a_missing_key(api: TestClient, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
