"""POST /v1/decide end to end: personalized where permitted, the fallback where not, explained.

Two groups of customers with different tastes buy from a small catalogue; the recommender is
trained; each case asks the real app for a decision.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from rujai.apikeys import service as apikeys_service
from rujai.catalog import service as catalog_service
from rujai.catalog.schemas import ItemCreate
from rujai.events import service as events_service
from rujai.personalize import decide as decide_service, recommend
from rujai.personalize.models import Decision
from rujai.personalize.offers import create as create_offer, parse_offers
from rujai.profiles import service as profiles_service
from rujai.writer import session_scope
from tests.factories import make_consent, rights_permit, track_event

NOW = datetime.now(UTC)
KITCHEN = [f"KIT-{i}" for i in range(6)]
FASHION = [f"FAS-{i}" for i in range(6)]


def _items():
    return [
        ItemCreate(
            id=sku,
            name_th=f"สินค้า {sku}",
            name_en=f"Product {sku}",
            product_category="kitchen" if sku.startswith("KIT") else "fashion",
            price_thb=Decimal("390"),
        )
        for sku in KITCHEN + FASHION
    ]


def _buy(session, keyring, policy, customer_id, skus, when):
    events = [
        track_event(
            "purchase",
            customer_id=customer_id,
            timestamp=when - timedelta(days=i),
            order_id=f"O-{customer_id}-{i}",
            item_id=sku,
            quantity=1,
            amount=390.0,
        )
        for i, sku in enumerate(skus)
    ]
    events_service.ingest(
        session,
        keyring=keyring,
        policy=policy,
        events=events,
        source="api",
        is_partner_data=False,
        now=when,
        actor="test",
    )


@pytest.fixture
def shop(factory, keyring, policy):
    """Ten kitchen lovers and ten fashion lovers who all consent to recommendations and offers."""
    recommend.clear_caches()
    with session_scope(factory) as s:
        catalog_service.upsert_many(s, items=_items(), now=NOW)
        for n in range(20):
            cid = f"C-{n:03d}"
            skus = KITCHEN if n < 10 else FASHION
            make_consent(s, keyring, policy, "recommendations", customer_id=cid, now=NOW)
            make_consent(s, keyring, policy, "personalized_offers", customer_id=cid, now=NOW)
            mine = [skus[(n + j) % 6] for j in range(4)]
            _buy(s, keyring, policy, cid, mine, NOW)
        offers = parse_offers(
            [
                {
                    "id": "welcome10",
                    "kind": "coupon",
                    "title": {"th": "ส่วนลด 10%", "en": "10% off"},
                    "is_generic": True,
                    "variants": {"default": {"th": "ลด 10% ทั้งร้าน", "en": "10% off everything"}},
                },
                {
                    "id": "kitchen20",
                    "kind": "discount",
                    "title": {"th": "ครัวลด 20%", "en": "20% off kitchen"},
                    "variants": {"default": {"th": "คุ้มสุดคุ้ม", "en": "Great value"}},
                },
            ]
        )
        for offer in offers:
            create_offer(s, policy=policy, offer=offer, now=NOW, actor="test")
        recommend.train(s, keyring=keyring, policy=policy, now=NOW)
    with session_scope(factory) as s:
        key = apikeys_service.create(s, name="t", scopes=["decide", "consent"], now=NOW).key
    return {"Authorization": f"Bearer {key}"}


def _decide(client, auth, customer_id, placement="home_for_you"):
    response = client.post(
        "/v1/decide",
        json={"customer_id": customer_id, "placement": placement, "k": 4},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_consenting_customers_get_personalized_explained_items(client, shop):
    kitchen = _decide(client, shop, "C-001")
    fashion = _decide(client, shop, "C-015")
    for decision in (kitchen, fashion):
        assert decision["personalized"] is True
        assert decision["model_version"]
        assert decision["consent_record_ids"]
        for item in decision["items"]:
            assert item["reason"]["th"]
            assert item["reason"]["en"]
    kitchen_ids = {i["item_id"] for i in kitchen["items"]}
    fashion_ids = {i["item_id"] for i in fashion["items"]}
    assert kitchen_ids != fashion_ids
    # each bought 4 of their group's 6 products: the 2 they lack come first
    assert all(i["item_id"].startswith("KIT") for i in kitchen["items"][:2])
    assert all(i["item_id"].startswith("FAS") for i in fashion["items"][:2])


def test_stored_decision_names_consents_and_model_version(client, shop, factory):
    decision = _decide(client, shop, "C-002")
    with session_scope(factory) as s:
        row = s.get(Decision, __import__("uuid").UUID(decision["id"]))
        assert row.model_version == decision["model_version"]
        assert row.consent_record_ids == decision["consent_record_ids"]
        assert row.items
        assert all(i["reason"]["th"] for i in row.items)


def test_withdrawal_makes_the_very_next_decision_the_fallback(
    client, shop, factory, keyring, policy
):
    """TH-CON-03: effective on the next request, and the model is updated (unlearned)."""
    before = _decide(client, shop, "C-003")
    assert before["personalized"] is True
    withdraw = {
        "purpose": "recommendations",
        "action": "withdraw",
        "language": "th",
        "channel": "web",
        "actor": "self",
    }
    response = client.post("/v1/subjects/C-003/consents", json=withdraw, headers=shop)
    assert response.status_code == 201, response.text
    after = _decide(client, shop, "C-003")
    assert after["personalized"] is False
    assert after["reason"] == "withdrawn"
    assert after["reason_text"]["th"]
    assert after["reason_text"]["en"]
    assert after["items"], "the fallback still shows popular items"
    assert all(i["score"] is None for i in after["items"])
    other = _decide(client, shop, "C-004")
    assert other["model_version"] != before["model_version"]


def test_unknown_customer_gets_the_fallback_not_an_error(client, shop):
    decision = _decide(client, shop, "C-999")
    assert decision["personalized"] is False
    assert decision["reason"] == "no_consent"


def test_minor_without_guardian_gets_the_fallback(client, shop, factory, keyring):
    with session_scope(factory) as s:
        sid = profiles_service.find_id(s, keyring=keyring, customer_id="C-005")
        profiles_service.set_birth_date(
            s, keyring=keyring, subject_id=sid, birth_date=date(NOW.year - 17, 1, 1), now=NOW
        )
    decision = _decide(client, shop, "C-005")
    assert decision["personalized"] is False
    assert decision["reason"] == "guardian_co_consent_pending"


def test_restricted_subject_gets_the_fallback(client, shop, factory, keyring):
    with session_scope(factory) as s:
        sid = profiles_service.find_id(s, keyring=keyring, customer_id="C-006")
        profiles_service.set_restricted(s, subject_id=sid, restricted=True, now=NOW)
    decision = _decide(client, shop, "C-006")
    assert decision["personalized"] is False
    assert decision["reason"] == "restricted"


def test_objection_to_direct_marketing_gets_the_generic_offer(client, shop, factory, keyring):
    personalized = _decide(client, shop, "C-007", placement="app_offer")
    assert personalized["personalized"] is True
    with session_scope(factory) as s:
        sid = profiles_service.find_id(s, keyring=keyring, customer_id="C-007")
        profiles_service.set_objection(
            s, subject_id=sid, objection="direct_marketing", objected=True, now=NOW
        )
    decision = _decide(client, shop, "C-007", placement="app_offer")
    assert decision["personalized"] is False
    assert decision["reason"] == "objected_direct_marketing"
    assert [o["offer_id"] for o in decision["offers"]] == ["welcome10"]


def test_unknown_placement_is_a_422_naming_the_field(client, shop):
    response = client.post(
        "/v1/decide", json={"customer_id": "C-001", "placement": "nowhere"}, headers=shop
    )
    assert response.status_code == 422
    assert response.json()["field"] == "placement"


def test_erasing_decisions_leaves_none(shop, factory, keyring, policy):
    with session_scope(factory) as s:
        sid = profiles_service.find_id(s, keyring=keyring, customer_id="C-008")
    assert sid is not None
    with session_scope(factory) as s:
        decide_service.erase_subject(s, subject_id=sid, now=NOW)
        assert (
            decide_service.list_for_subject(
                s, permit=rights_permit(s, keyring, policy, sid), subject_id=sid
            )
            == []
        )
