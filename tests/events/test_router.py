"""The tracking API: results for every event, 422 naming the field, scopes, drop counts."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.config import Settings
from rujai.events.models import Event
from rujai.events.router import router as events_router
from rujai.main import create_app
from tests.factories import NOW

CUSTOMER = "C-TRACK-0001"


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The app with the events router under /v1 (and at most 3 events per batch)."""
    settings.api.max_batch_events = 3
    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/v1/track" for r in app.routes):
        app.include_router(events_router, prefix="/v1")
    with TestClient(app) as client:
        yield client


def _key(factory: sessionmaker[Session], *scopes: str) -> dict[str, str]:
    with factory() as s, s.begin():
        created = apikeys_service.create(s, name="test shop", scopes=list(scopes), now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def _purchase(**overrides) -> dict:
    body = {
        "type": "purchase",
        "customer_id": CUSTOMER,
        "properties": {"order_id": "ORD-1", "item_id": "SKU-1", "quantity": 1, "amount": 590},
    }
    return {**body, **overrides}


def _events(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Event)) or 0


def test_track_accepts_a_purchase_and_returns_its_result(api, factory):
    response = api.post(
        "/v1/track", json=_purchase(message_id="m-1"), headers=_key(factory, "track")
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "index": 0,
        "message_id": "m-1",
        "status": "accepted",
        "reason": None,
        "detail": None,
        "dropped_properties": [],
    }
    assert _events(factory) == 1
    assert CUSTOMER not in response.text


def test_track_answers_200_with_the_reason_when_no_purpose_permits(api, factory):
    body = {"type": "page_view", "anonymous_id": "dev-1", "properties": {"path": "/"}}
    response = api.post("/v1/track", json=body, headers=_key(factory, "track"))
    assert response.status_code == 200
    assert response.json()["status"] == "dropped"
    assert response.json()["reason"] == "no_permitting_purpose"
    assert response.json()["message_id"]  # generated when the client sends none
    assert _events(factory) == 0


def test_track_without_any_subject_id_is_422_naming_customer_id(api, factory):
    body = _purchase()
    del body["customer_id"]
    response = api.post("/v1/track", json=body, headers=_key(factory, "track"))
    assert response.status_code == 422
    assert response.json()["field"] == "customer_id"


def test_track_with_a_naive_or_far_future_timestamp_is_422(api, factory):
    headers = _key(factory, "track")
    naive = api.post("/v1/track", json=_purchase(timestamp="2026-01-01T10:00:00"), headers=headers)
    future = api.post(
        "/v1/track", json=_purchase(timestamp="2099-01-01T10:00:00Z"), headers=headers
    )
    assert (naive.status_code, future.status_code) == (422, 422)
    assert naive.json()["field"] == future.json()["field"] == "timestamp"


def test_batch_returns_a_result_per_event(api, factory):
    events = [
        _purchase(message_id="b-1"),
        _purchase(message_id="b-1"),
        _purchase(type="wishlist_add", message_id="b-2"),
    ]
    response = api.post("/v1/batch", json={"events": events}, headers=_key(factory, "track"))
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["accepted"], summary["duplicates"]) == (1, 1)
    assert summary["dropped_by_reason"] == {"unknown_event_type": 1}
    assert [r["status"] for r in summary["results"]] == ["accepted", "duplicate", "dropped"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"type": None}, "type"),
        ({"properties": {"order_id": "\ud800"}}, "properties.order_id"),
        ({"properties": {"note\x00": 1}}, "properties"),
        ({"message_id": "v-\x00"}, "message_id"),
        ({"properties": {"quantity": 2**64}}, "properties.quantity"),
    ],
    ids=["schema", "surrogate", "nul-key", "nul-message-id", "int-range"],
)
def test_batch_reports_a_bad_event_on_its_own_and_keeps_the_others(api, factory, bad, field):
    """Issue 12: one bad event (by schema or by the input rules) never fails the batch."""
    events = [_purchase(message_id=f"v-{i}") for i in range(3)]
    events[1] = {**events[1], **bad}
    raw = json.dumps({"events": events})  # a lone surrogate is valid JSON only as an escape
    headers = {**_key(factory, "track"), "content-type": "application/json"}
    response = api.post("/v1/batch", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["accepted"] == 2
    assert summary["dropped_by_reason"] == {"invalid_event": 1}
    rejected = summary["results"][1]
    assert (rejected["index"], rejected["status"], rejected["reason"]) == (
        1,
        "dropped",
        "invalid_event",
    )
    assert rejected["detail"].startswith(f"{field}: ")
    assert _events(factory) == 2


def test_batch_over_the_limit_is_422_naming_events(api, factory):
    events = [_purchase(message_id=f"o-{i}") for i in range(4)]
    response = api.post("/v1/batch", json={"events": events}, headers=_key(factory, "track"))
    assert response.status_code == 422
    assert response.json()["field"] == "events"
    assert _events(factory) == 0


def test_track_needs_the_track_scope(api, factory):
    response = api.post("/v1/track", json=_purchase(), headers=_key(factory, "consent"))
    assert response.status_code == 403
    assert api.post("/v1/track", json=_purchase()).status_code == 401


def test_drop_counts_are_for_admins_and_hold_no_personal_data(api, factory):
    body = {"type": "search", "customer_id": CUSTOMER, "properties": {"query": "โคมไฟ"}}
    api.post("/v1/track", json=body, headers=_key(factory, "track"))
    assert api.get("/v1/events/drops", headers=_key(factory, "track")).status_code == 403
    response = api.get("/v1/events/drops", headers=_key(factory, "admin"))
    assert response.status_code == 200
    (row,) = response.json()
    assert (row["event_type"], row["reason"], row["count"]) == (
        "search",
        "no_permitting_purpose",
        1,
    )
    assert CUSTOMER not in response.text


def test_undeclared_properties_are_dropped_and_counted_th_min_02(api, factory):
    """TH-MIN-02: only declared properties are kept; the rest are dropped, named to the caller and
    counted (in the summary and in the batch's audit entry, by number: never names or values)."""
    from rujai.audit import service as audit_service

    loud = _purchase(message_id="u-1")
    loud["properties"] = {**loud["properties"], "colour": "แดง", "line_user": "Uabc"}
    events = [loud, _purchase(message_id="u-2"), {**loud, "message_id": "u-3", "type": "nope"}]
    response = api.post("/v1/batch", json={"events": events}, headers=_key(factory, "track"))
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["accepted"], summary["undeclared_properties"]) == (2, 2)
    assert summary["results"][0]["dropped_properties"] == ["colour", "line_user"]
    with factory() as s:
        (entry,) = audit_service.list_entries(s, action="events.ingest", limit=1)
    assert entry.detail["undeclared_properties"] == 2
    assert "colour" not in json.dumps(entry.detail)
    assert "แดง" not in json.dumps(entry.detail)
    with factory() as s:
        stored = s.scalars(select(Event)).all()
    assert len(stored) == 2
