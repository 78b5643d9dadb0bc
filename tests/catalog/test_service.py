"""The catalog service: upsert by SKU, read, list, change, deactivate and names for reasons."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from rujai.catalog import service as catalog_service
from rujai.catalog.errors import ItemInvalid, ItemNotFound
from rujai.catalog.schemas import ItemCreate, ItemUpdate
from tests.factories import NOW


def _item(sku: str = "KIT-0001", **overrides) -> ItemCreate:
    fields = {
        "id": sku,
        "name_th": "กระทะเคลือบกันติด 28 ซม.",
        "name_en": "Non-stick frying pan 28 cm",
        "product_category": "kitchen",
        "price_thb": "890.00",
    }
    return ItemCreate(**{**fields, **overrides})


def test_upsert_many_creates_items_that_read_back_with_both_names(session):
    written = catalog_service.upsert_many(
        session, items=[_item(), _item("DEC-0001", product_category="home_decor")], now=NOW
    )
    item = catalog_service.get(session, item_id="KIT-0001")
    assert written == 2
    assert (item.name_th, item.name_en) == ("กระทะเคลือบกันติด 28 ซม.", "Non-stick frying pan 28 cm")
    assert item.price_thb == Decimal("890.00")
    assert item.is_active is True
    assert item.created_at == NOW


def test_upsert_many_replaces_an_existing_sku_and_keeps_its_created_at(session):
    catalog_service.upsert_many(session, items=[_item()], now=NOW)
    later = NOW + timedelta(days=1)
    catalog_service.upsert_many(session, items=[_item(price_thb="790.50")], now=later)
    item = catalog_service.get(session, item_id="KIT-0001")
    assert item.price_thb == Decimal("790.50")
    assert (item.created_at, item.updated_at) == (NOW, later)
    assert catalog_service.count(session) == 1


def test_upsert_many_refuses_a_sku_twice_in_one_batch_naming_the_field(session):
    with pytest.raises(ItemInvalid) as caught:
        catalog_service.upsert_many(session, items=[_item(), _item()], now=NOW)
    assert caught.value.field == "items.1.id"
    assert catalog_service.count(session) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("price_thb", "-1"), ("price_thb", "1.234"), ("name_th", "  "), ("name_en", ""),
     ("product_category", "Kitchen Ware"), ("id", "no spaces")],
)  # fmt: skip
def test_item_create_refuses_bad_values_naming_the_field(field, value):
    with pytest.raises(ValidationError) as caught:
        _item(**{field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_get_raises_item_not_found_for_an_unknown_sku(session):
    with pytest.raises(ItemNotFound):
        catalog_service.get(session, item_id="NOPE-0001")


def test_list_items_filters_by_category_pages_and_hides_inactive(session):
    items = [_item(f"KIT-000{n}") for n in range(1, 5)] + [
        _item("DEC-0001", product_category="home_decor")
    ]
    catalog_service.upsert_many(session, items=items, now=NOW)
    catalog_service.deactivate(session, item_id="KIT-0002", now=NOW)
    page = catalog_service.list_items(session, category="kitchen", limit=2, offset=1)
    everything = catalog_service.list_items(
        session, category=None, limit=10, offset=0, active_only=False
    )
    assert [i.id for i in page] == ["KIT-0003", "KIT-0004"]
    assert [i.id for i in everything][:2] == ["DEC-0001", "KIT-0001"]
    assert len(everything) == 5
    assert catalog_service.count(session, active_only=True) == 4


@pytest.mark.parametrize(("limit", "offset", "field"), [(0, 0, "limit"), (10, -1, "offset")])
def test_list_items_refuses_an_out_of_range_page(session, limit, offset, field):
    with pytest.raises(ItemInvalid) as caught:
        catalog_service.list_items(session, category=None, limit=limit, offset=offset)
    assert caught.value.field == field


def test_update_changes_only_the_fields_sent(session):
    catalog_service.upsert_many(session, items=[_item()], now=NOW)
    later = NOW + timedelta(hours=1)
    item = catalog_service.update(
        session, item_id="KIT-0001", change=ItemUpdate(price_thb=Decimal("990")), now=later
    )
    assert item.price_thb == Decimal("990.00")
    assert item.name_en == "Non-stick frying pan 28 cm"
    assert item.updated_at == later


def test_update_refuses_setting_a_name_to_null(session):
    catalog_service.upsert_many(session, items=[_item()], now=NOW)
    with pytest.raises(ItemInvalid) as caught:
        catalog_service.update(
            session, item_id="KIT-0001", change=ItemUpdate(name_th=None), now=NOW
        )
    assert caught.value.field == "name_th"


def test_update_raises_item_not_found_for_an_unknown_sku(session):
    with pytest.raises(ItemNotFound):
        catalog_service.update(session, item_id="NOPE", change=ItemUpdate(), now=NOW)


def test_names_returns_both_names_of_known_skus_only(session):
    catalog_service.upsert_many(session, items=[_item()], now=NOW)
    found = catalog_service.names(session, item_ids=["KIT-0001", "NOPE-0001"])
    assert found == {"KIT-0001": ("กระทะเคลือบกันติด 28 ซม.", "Non-stick frying pan 28 cm")}
