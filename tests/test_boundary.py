"""The one input boundary (rujai.boundary): every reproduction of issue 12, through the whole app.

Each reproduction once answered 500 (or stored a NUL silently on SQLite); now each is a 4xx
problem document naming the field, and nothing is stored. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.boundary import BoundaryRoute
from rujai.catalog.models import Item
from rujai.config import Settings
from rujai.consent.models import ConsentRecord
from rujai.events.models import Event
from rujai.main import create_app
from rujai.personalize.models import Offer
from rujai.rights.models import RightsRequest
from tests.factories import NOW

CUSTOMER = "C-BOUNDARY-1"
PROBLEM = "application/problem+json"


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def auth(factory: sessionmaker[Session]) -> dict[str, str]:
    """An API key with every scope."""
    with factory() as s, s.begin():
        scopes = ["admin", "decide", "track", "consent"]
        created = apikeys_service.create(s, name="boundary", scopes=scopes, now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def _post(api: TestClient, path: str, body: Any, auth: dict[str, str]) -> Any:
    """POST ``body`` as JSON with ``\\uXXXX`` escapes: a lone surrogate is valid JSON only so."""
    headers = {**auth, "content-type": "application/json"}
    return api.post(path, content=json.dumps(body), headers=headers)


def _problem(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["field"] == field, problem
    assert problem["status"] == status
    return problem


def _count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _purchase(message_id: str, **overrides: Any) -> dict[str, Any]:
    properties = {"order_id": "ORD-1", "item_id": "SKU-1", "quantity": 1, "amount": 590}
    body = {"type": "purchase", "customer_id": CUSTOMER, "properties": properties}
    return {**body, "message_id": message_id, **overrides}


def _consent(**overrides: Any) -> dict[str, Any]:
    body = {"purpose": "email_marketing", "action": "withdraw", "language": "th", "channel": "web"}
    return {**body, **overrides}


def _item(**overrides: Any) -> dict[str, Any]:
    body = {"id": "SKU-9", "name_th": "แก้ว", "name_en": "Glass", "product_category": "kitchen"}
    return {"items": [{**body, "price_thb": "1.00", **overrides}]}


def _offer(**overrides: Any) -> dict[str, Any]:
    title = {"th": "ส่วนลด", "en": "Discount"}
    body = {"id": "welcome", "kind": "coupon", "title": title, "variants": {"default": title}}
    return {**body, **overrides}


# --- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/items?offset=9223372036854775808", "offset"),
        ("/v1/audit?before_seq=99999999999999999999", "before_seq"),
        ("/v1/admin/merges?limit=99999999999999999999", "limit"),
    ],
)
def test_an_integer_parameter_out_of_range_is_422_naming_it(api, auth, url, field):
    _problem(api.get(url, headers=auth), 422, field)


def test_an_integer_outside_64_bits_anywhere_in_a_body_is_422_naming_its_path(api, auth, factory):
    event = _purchase("m-int", properties={"quantity": 2**63})
    _problem(_post(api, "/v1/track", event, auth), 422, "properties.quantity")
    grant = _consent(notice_version=2**40)  # an Integer column: bounded by its schema
    _problem(_post(api, f"/v1/subjects/{CUSTOMER}/consents", grant, auth), 422, "notice_version")
    assert _count(factory, Event) == _count(factory, ConsentRecord) == 0


# --- lone surrogates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", _purchase("m-s", properties={"order_id": "\ud800"}), "properties.order_id"),
        (
            "/v1/identify",
            {"customer_id": CUSTOMER, "traits": {"first_name": "\udfff"}},
            "traits.first_name",
        ),
        (
            "/v1/check",
            {"customer_id": CUSTOMER, "purpose": "recommendations", "categories": ["\ud800"]},
            "categories.0",
        ),
        ("/v1/track", _purchase("m-k", properties={"a\ud800": 1}), "properties"),
    ],
    ids=["event-property", "trait-value", "categories", "property-name"],
)
def test_a_lone_surrogate_is_422_naming_the_field(api, auth, factory, path, body, field):
    _problem(_post(api, path, body, auth), 422, field)
    assert _count(factory, Event) == 0


def test_a_batch_of_1000_with_one_lone_surrogate_keeps_the_other_999(api, auth, factory):
    events = [_purchase(f"b-{i}") for i in range(1000)]
    events[637]["properties"]["order_id"] = "\ud800"
    response = _post(api, "/v1/batch", {"events": events}, auth)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["accepted"], summary["dropped_by_reason"]) == (999, {"invalid_event": 1})
    bad = summary["results"][637]
    assert (bad["index"], bad["message_id"], bad["reason"]) == (637, "b-637", "invalid_event")
    assert bad["detail"].startswith("properties.order_id: ")
    assert _count(factory, Event) == 999


# --- NUL -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/check", {"customer_id": CUSTOMER, "purpose": "recommendations\x00"}, "purpose"),
        (
            "/v1/check",
            {"customer_id": CUSTOMER, "purpose": "recommendations", "categories": ["x\x00"]},
            "categories.0",
        ),
        ("/v1/track", _purchase("m-\x00"), "message_id"),
        (f"/v1/subjects/{CUSTOMER}/consents", _consent(channel="web\x00"), "channel"),
        (
            f"/v1/subjects/{CUSTOMER}/consents",
            _consent(actor="staff", actor_ref="s\x00"),
            "actor_ref",
        ),
        (
            "/v1/requests",
            {"kind": "access", "channel": "store", "customer_id": CUSTOMER, "staff_ref": "s\x00"},
            "staff_ref",
        ),
        ("/v1/items", _item(name_th="แก้ว\x00"), "items.0.name_th"),
        ("/v1/offers", _offer(title={"th": "ส่วนลด\x00", "en": "Discount"}), "title.th"),
    ],
    ids=[
        "check-purpose",
        "check-categories",
        "message-id",
        "channel",
        "actor-ref",
        "staff-ref",
        "name-th",
        "offer-title",
    ],
)
def test_a_nul_is_422_naming_the_field_and_nothing_is_stored(api, auth, factory, path, body, field):
    _problem(_post(api, path, body, auth), 422, field)
    for model in (Event, ConsentRecord, RightsRequest, Item, Offer):
        assert _count(factory, model) == 0, model.__name__


def test_a_batch_of_999_good_events_and_one_nul_message_id_stores_the_999(api, auth, factory):
    events = [_purchase(f"n-{i}") for i in range(999)] + [_purchase("n-\x00")]
    response = _post(api, "/v1/batch", {"events": events}, auth)
    assert response.status_code == 200, response.text
    assert response.json()["results"][999]["detail"].startswith("message_id: ")
    assert _count(factory, Event) == 999


def test_a_nul_in_a_query_or_path_parameter_is_422_naming_it(api, auth):
    _problem(api.get("/v1/items?category=kitchen%00", headers=auth), 422, "category")
    _problem(api.get("/v1/items?cat%00egory=kitchen", headers=auth), 422, "query")
    _problem(api.get("/v1/items/SKU%00", headers=auth), 422, "item_id")
    _problem(api.get(f"/v1/subjects/{CUSTOMER}%00/consents", headers=auth), 422, "customer_id")


# --- bodies that are not JSON --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"a": ' * 40 + b"1" + b"}" * 40,
        b'{"customer_id": "\xff", "purpose": "recommendations"}',
        b'{"customer_id": "C-1", "purpose": ' + b"9" * 5000 + b"}",
        b'{"customer_id": "C-1", "purpose": NaN}',
        b'{"customer_id": "C-1", "purpose": ',
    ],
    ids=["depth-1000", "depth-40", "invalid-utf8", "5000-digits", "nan", "malformed"],
)
def test_an_unreadable_body_is_400_naming_body(api, auth, raw):
    headers = {**auth, "content-type": "application/json"}
    problem = _problem(api.post("/v1/check", content=raw, headers=headers), 400, "body")
    assert problem["error"] == "bad_request"


def test_malformed_json_names_line_and_column_in_the_detail_not_as_the_field(api, auth):
    headers = {**auth, "content-type": "application/json"}
    raw = b'{"customer_id": "C-1",\n "purpose": }'
    problem = _problem(api.post("/v1/check", content=raw, headers=headers), 400, "body")
    assert "line 2, column 13" in problem["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(api, auth, content_type):
    headers = {**auth, **({"content-type": content_type} if content_type else {})}
    raw = b'{"customer_id": "C-1", "purpose": "recommendations"}'
    response = api.post("/v1/check", content=raw, headers=headers)
    problem = _problem(response, 415, "content-type")
    assert problem["error"] == "unsupported_media_type"


# --- authentication before the body --------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "rk_nope", "rk_AAAAAAAA_" + "A" * 43])
def test_anonymous_callers_get_401_before_the_body_is_read(api, key):
    read: list[bytes] = []

    def body() -> Iterator[bytes]:
        read.append(b"read")
        yield b'{"customer_id": "C-1", "purpose": '  # malformed: parsing it would be a 400

    headers = {"content-type": "application/json", **({"X-API-Key": key} if key else {})}
    response = api.post("/v1/check", content=body(), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert read == []  # the server never asked for the body


def test_a_valid_key_then_reads_the_body(api, auth):
    response = _post(api, "/v1/check", {"customer_id": 1}, auth)
    assert response.status_code == 422
    assert response.json()["field"] == "customer_id"


# --- the boundary is everywhere -----------------------------------------------------------------


def _routes(app: Any) -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every API and web route of the app, through included routers."""
    stack = list(app.routes)
    while stack:
        route = stack.pop()
        if hasattr(route, "effective_candidates"):
            stack.extend(route.effective_candidates())
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute):
            yield route.path, original


def test_every_route_of_the_app_passes_the_boundary(api):
    routes = dict(_routes(api.app))
    wanted = {"/v1/batch", "/healthz", "/privacy/sign-in", "/console/login"}  # API, app, web
    assert wanted <= set(routes)
    assert [path for path, r in routes.items() if not isinstance(r, BoundaryRoute)] == []


def test_every_integer_the_api_accepts_has_both_bounds(api):
    """A new unbounded integer (or number) parameter or field fails here, not in production."""
    spec = api.app.openapi()
    unbounded = [where for where, schema in _numbers(spec) if not _bounded(schema)]
    assert unbounded == []


def _bounded(schema: dict[str, Any]) -> bool:
    low = "minimum" in schema or "exclusiveMinimum" in schema
    high = "maximum" in schema or "exclusiveMaximum" in schema
    return low and high


def _numbers(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, schema) of every integer and number reachable from a parameter or a request body."""
    components = spec["components"]["schemas"]
    stack: list[tuple[str, dict[str, Any], frozenset[str]]] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                where = f"{method} {path} {parameter['name']}"
                stack.append((where, parameter["schema"], frozenset()))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                stack.append((f"{method} {path} body", media["schema"], frozenset()))
    while stack:
        where, schema, seen = stack.pop()
        ref = schema.get("$ref", "").rsplit("/", 1)[-1]
        if ref:
            if ref not in seen:
                stack.append((where, components[ref], seen | {ref}))
            continue
        if schema.get("type") in ("integer", "number"):
            yield where, schema
        children = [*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]
        children += [s for s in (schema.get("items"), schema.get("additionalProperties")) if s]
        stack += [(where, c, seen) for c in children if isinstance(c, dict)]
        stack += [(f"{where}.{k}", s, seen) for k, s in schema.get("properties", {}).items()]
