"""``/v1/items``: decide scope reads, admin scope writes, problem+json naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.catalog import service as catalog_service
from rujai.catalog.router import router
from rujai.catalog.schemas import ItemCreate
from rujai.errors import PROBLEM_JSON, install_handlers
from rujai.main import Storage
from rujai.writer import session_scope
from tests.factories import NOW

ITEM = {
    "id": "DEC-0007",
    "name_th": "แจกันเซรามิก ลายคราม",
    "name_en": "Blue-and-white ceramic vase",
    "product_category": "home_decor",
    "price_thb": "1290.00",
}


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
        created = apikeys_service.create(s, name="shop", scopes=list(scopes), now=NOW)
        catalog_service.upsert_many(s, items=[ItemCreate(**ITEM)], now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def test_get_item_returns_both_names_and_the_price_as_a_string(api, factory):
    response = api.get("/v1/items/DEC-0007", headers=_key(factory, "decide"))
    assert response.status_code == 200
    body = response.json()
    assert body["name_th"] == ITEM["name_th"]
    assert body["price_thb"] == "1290.00"


def test_get_item_answers_404_problem_for_an_unknown_sku(api, factory):
    response = api.get("/v1/items/NOPE-1", headers=_key(factory, "decide"))
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON


def test_list_items_filters_by_category(api, factory):
    headers = _key(factory, "decide")
    decor = api.get("/v1/items", headers=headers, params={"category": "home_decor"})
    kitchen = api.get("/v1/items", headers=headers, params={"category": "kitchen"})
    assert [i["id"] for i in decor.json()] == ["DEC-0007"]
    assert kitchen.json() == []


def test_post_items_upserts_a_list_for_an_admin(api, factory):
    headers = _key(factory, "admin")
    second = {**ITEM, "id": "DEC-0008", "price_thb": "490"}
    response = api.post("/v1/items", headers=headers, json={"items": [ITEM, second]})
    assert response.status_code == 200, response.text
    assert response.json() == {"upserted": 2}
    assert api.get("/v1/items/DEC-0008", headers=headers).json()["price_thb"] == "490.00"


def test_post_items_refuses_a_negative_price_naming_the_field(api, factory):
    bad = {**ITEM, "id": "DEC-0009", "price_thb": "-5"}
    response = api.post("/v1/items", headers=_key(factory, "admin"), json={"items": [ITEM, bad]})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["field"] == "items.1.price_thb"


def test_post_items_refuses_a_duplicate_sku_and_writes_nothing(api, factory):
    headers = _key(factory, "admin")
    changed = {**ITEM, "price_thb": "1"}
    response = api.post("/v1/items", headers=headers, json={"items": [changed, changed]})
    assert response.status_code == 422
    assert response.json()["field"] == "items.1.id"
    assert api.get("/v1/items/DEC-0007", headers=headers).json()["price_thb"] == "1290.00"


def test_patch_item_deactivates_it_so_it_leaves_the_active_list(api, factory):
    headers = _key(factory, "admin")
    response = api.patch("/v1/items/DEC-0007", headers=headers, json={"is_active": False})
    listed = api.get("/v1/items", headers=headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert listed.json() == []


def test_patch_item_refuses_an_empty_name_naming_the_field(api, factory):
    response = api.patch(
        "/v1/items/DEC-0007", headers=_key(factory, "admin"), json={"name_en": " "}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "name_en"


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/v1/items"), ("patch", "/v1/items/DEC-0007")]
)
def test_catalog_writes_refuse_a_key_without_the_admin_scope(api, factory, method, path):
    body = {"items": [ITEM]} if method == "post" else {"is_active": False}
    response = api.request(method.upper(), path, headers=_key(factory, "decide"), json=body)
    assert response.status_code == 403


def test_catalog_reads_refuse_a_request_without_a_key(api):
    assert api.get("/v1/items").status_code == 401
