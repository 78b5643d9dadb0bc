"""``/v1/offers`` (decide reads, admin writes) and ``/v1/decisions/{id}/outcome``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.errors import PROBLEM_JSON, install_handlers
from rujai.main import Storage
from rujai.personalize import offers as offers_service
from rujai.personalize.models import Decision
from rujai.personalize.offers_router import router
from rujai.policy.schemas import Policy
from rujai.writer import session_scope
from tests.factories import NOW

OFFER: dict[str, Any] = {
    "id": "kitchen-10",
    "kind": "coupon",
    "title": {"th": "ลด 10% เครื่องครัว", "en": "10% off kitchenware"},
    "eligibility": {"segments": ["champions", "loyal"], "min_total_spend": 5000},
    "variants": {
        "default": {"th": "ของดีราคาคุ้ม", "en": "Great value"},
        "champions": {"th": "ขอบคุณลูกค้าคนพิเศษ", "en": "Thanks for being a champion"},
    },
}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    offers_service.clear_cache()
    yield
    offers_service.clear_cache()


@pytest.fixture
def api(storage: Storage, factory: sessionmaker[Session], policy: Policy) -> Iterator[TestClient]:
    app = FastAPI()
    storage.attach(app.state)
    app.state.policy = policy
    install_handlers(app)
    app.include_router(router, prefix="/v1")
    with TestClient(app) as client:
        yield client


def key(factory: sessionmaker[Session], *scopes: str) -> dict[str, str]:
    with session_scope(factory) as s:
        created = apikeys_service.create(s, name="shop", scopes=list(scopes), now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def decision(factory: sessionmaker[Session], offer_id: str, **fields: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "placement": "app_offer",
        "purpose": "personalized_offers",
        "personalized": True,
        "is_holdout": False,
        "reason": "allowed",
        "segment": "champions",
        "offers": [{"offer_id": offer_id, "variant": "default"}],
        "created_at": NOW,
    }
    values.update(fields)
    row = Decision(id=uuid.uuid4(), **values)
    with session_scope(factory) as s:
        s.add(row)
    return row.id


def test_admin_creates_and_decide_key_reads_an_offer(api, factory):
    created = api.post("/v1/offers", headers=key(factory, "admin"), json=OFFER)
    assert created.status_code == 201, created.text
    assert created.json()["eligibility"] == {
        "segments": ["champions", "loyal"],
        "min_total_spend": 5000.0,
    }
    reader = key(factory, "decide")
    one = api.get("/v1/offers/kitchen-10", headers=reader)
    assert one.status_code == 200
    assert one.json()["variants"]["champions"]["en"] == "Thanks for being a champion"
    assert one.json()["purpose"] == "personalized_offers"
    assert [o["id"] for o in api.get("/v1/offers", headers=reader).json()] == ["kitchen-10"]


def test_patch_changes_fields_and_delete_removes_the_offer(api, factory):
    admin = key(factory, "admin")
    api.post("/v1/offers", headers=admin, json=OFFER)
    patched = api.patch(
        "/v1/offers/kitchen-10", headers=admin, json={"is_active": False, "budget_cap": 100}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["is_active"], patched.json()["budget_cap"]) == (False, 100)
    assert api.get("/v1/offers", headers=admin, params={"active_only": True}).json() == []
    assert api.delete("/v1/offers/kitchen-10", headers=admin).status_code == 204
    missing = api.get("/v1/offers/kitchen-10", headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_JSON


def test_offers_need_a_key_and_writes_need_the_admin_scope(api, factory):
    assert api.get("/v1/offers").status_code == 401
    decide = key(factory, "decide")
    refused = api.post("/v1/offers", headers=decide, json=OFFER)
    assert refused.status_code == 403
    assert refused.json()["required_scope"] == "admin"
    assert api.get("/v1/offers", headers=key(factory, "track")).status_code == 403
    assert api.delete("/v1/offers/kitchen-10", headers=decide).status_code == 403


def test_post_offer_with_a_taken_id_is_a_conflict(api, factory):
    admin = key(factory, "admin")
    api.post("/v1/offers", headers=admin, json=OFFER)
    assert api.post("/v1/offers", headers=admin, json=OFFER).status_code == 409


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (
            {"eligibility": {"favourite_colour": ["red"]}},
            "eligibility.favourite_colour",
            "not permitted",
        ),
        ({"eligibility": {"segments": ["vip"]}}, "eligibility.segments.0", "RFM segment"),
        ({"variants": {"champions": {"th": "ก", "en": "a"}}}, "variants", "default"),
        ({"variants": {**OFFER["variants"], "vips": {"th": "ข", "en": "b"}}}, "variants", "vips"),
        ({"is_generic": True}, "eligibility", "generic"),
        (
            {"valid_from": "2026-12-10T00:00:00Z", "valid_until": "2026-12-01T00:00:00Z"},
            "valid_until",
            "after valid_from",
        ),
        ({"valid_from": "2026-12-10T00:00:00"}, "valid_from", "timezone"),
        ({"kind": "voucher"}, "kind", "coupon"),
    ],
)
def test_post_offer_refuses_bad_input_naming_the_field(api, factory, change, field, says):
    response = api.post("/v1/offers", headers=key(factory, "admin"), json={**OFFER, **change})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["field"] == field
    assert says in response.json()["detail"]


def test_post_offer_refuses_a_health_rule_under_personalized_offers_citing_th_sen_01(api, factory):
    """TH-SEN-01: a rule over allergies (health) needs an explicit-consent purpose."""
    admin = key(factory, "admin")
    body = {**OFFER, "eligibility": {"traits_any": {"allergies": ["fragrance"]}}}
    refused = api.post("/v1/offers", headers=admin, json=body)
    assert refused.status_code == 422
    assert refused.json()["field"] == "eligibility.traits_any"
    assert "TH-SEN-01" in refused.json()["detail"]
    assert api.get("/v1/offers/kitchen-10", headers=admin).status_code == 404
    default_only = {"default": OFFER["variants"]["default"]}
    allowed = api.post(
        "/v1/offers",
        headers=admin,
        json={**body, "purpose": "health_tailored_offers", "variants": default_only},
    )
    assert allowed.status_code == 201, allowed.text


def test_patch_offer_validates_the_result_against_the_policy(api, factory):
    admin = key(factory, "admin")
    api.post("/v1/offers", headers=admin, json=OFFER)
    refused = api.patch("/v1/offers/kitchen-10", headers=admin, json={"purpose": "email_marketing"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "eligibility.segments"
    assert "TH-PUR-01" in refused.json()["detail"]
    assert api.patch("/v1/offers/nope", headers=admin, json={}).status_code == 404


def test_post_outcome_is_idempotent_and_updates_the_arm_once(api, factory):
    admin = key(factory, "admin")
    api.post("/v1/offers", headers=admin, json=OFFER)
    decision_id = decision(factory, "kitchen-10")
    decide = key(factory, "decide")
    url = f"/v1/decisions/{decision_id}/outcome"
    first = api.post(url, headers=decide, json={"kind": "converted"})
    again = api.post(url, headers=decide, json={"kind": "converted"})
    assert first.status_code == again.status_code == 200, first.text
    assert (first.json()["already_recorded"], first.json()["counted"]) == (False, True)
    assert (again.json()["already_recorded"], again.json()["counted"]) == (True, False)
    with session_scope(factory) as s:
        [arm] = offers_service.list_arms(s)
    assert (arm.offer_id, arm.segment, arm.impressions, arm.conversions) == (
        "kitchen-10",
        "champions",
        1,
        1,
    )


def test_post_outcome_answers_404_for_an_unknown_decision_and_422_for_a_bad_kind(api, factory):
    decide = key(factory, "decide")
    missing = api.post(
        f"/v1/decisions/{uuid.uuid4()}/outcome", headers=decide, json={"kind": "shown"}
    )
    assert missing.status_code == 404
    assert missing.json()["field"] == "decision_id"
    decision_id = decision(factory, "kitchen-10", offers=[])
    bad = api.post(f"/v1/decisions/{decision_id}/outcome", headers=decide, json={"kind": "bought"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "kind"


def test_post_outcome_needs_the_decide_scope(api, factory):
    decision_id = decision(factory, "kitchen-10", offers=[])
    url = f"/v1/decisions/{decision_id}/outcome"
    assert api.post(url, json={"kind": "shown"}).status_code == 401
    assert api.post(url, headers=key(factory, "track"), json={"kind": "shown"}).status_code == 403
