"""The catalog service: upsert, read, change and list the products that can be recommended.

Items hold no personal data, so no permit is needed to read them; the decide scope guards the API.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rujai.catalog.errors import ItemInvalid, ItemNotFound
from rujai.catalog.models import Item
from rujai.catalog.schemas import ItemCreate, ItemRead, ItemUpdate

MAX_LIST_LIMIT = 500
_IN_CHUNK = 500


def upsert_many(session: Session, *, items: Sequence[ItemCreate], now: datetime) -> int:
    """Create new items and replace existing ones by SKU; return how many were written."""
    _check_unique(items)
    existing = _load_many(session, [item.id for item in items])
    for item in items:
        values = item.model_dump()
        row = existing.get(item.id)
        if row is None:
            session.add(Item(**values, created_at=now, updated_at=now))
            continue
        _apply(row, values, now)
    session.flush()
    return len(items)


def get(session: Session, *, item_id: str) -> ItemRead:
    """Return one item; raise ItemNotFound."""
    return ItemRead.model_validate(_load(session, item_id))


def list_items(
    session: Session,
    *,
    category: str | None,
    limit: int,
    offset: int,
    active_only: bool = True,
) -> list[ItemRead]:
    """List items by SKU, optionally of one category and only active ones."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ItemInvalid(f"limit must be 1 to {MAX_LIST_LIMIT}", field="limit")
    if offset < 0:
        raise ItemInvalid("offset cannot be negative", field="offset")
    query = select(Item).order_by(Item.id).limit(limit).offset(offset)
    if category is not None:
        query = query.where(Item.product_category == category)
    if active_only:
        query = query.where(Item.is_active.is_(True))
    return [ItemRead.model_validate(row) for row in session.scalars(query)]


def count(session: Session, *, active_only: bool = False) -> int:
    """Return how many items the catalog holds."""
    query = select(func.count()).select_from(Item)
    if active_only:
        query = query.where(Item.is_active.is_(True))
    return int(session.scalar(query) or 0)


def update(session: Session, *, item_id: str, change: ItemUpdate, now: datetime) -> ItemRead:
    """Change the fields sent in ``change``; a field sent as null is refused naming it."""
    values = change.model_dump(exclude_unset=True)
    for name, value in values.items():
        if value is None:
            raise ItemInvalid(f"{name} cannot be null", field=name)
    row = _load(session, item_id)
    _apply(row, values, now)
    session.flush()
    return ItemRead.model_validate(row)


def deactivate(session: Session, *, item_id: str, now: datetime) -> ItemRead:
    """Mark an item inactive so it is no longer listed or recommended."""
    row = _load(session, item_id)
    _apply(row, {"is_active": False}, now)
    session.flush()
    return ItemRead.model_validate(row)


def names(session: Session, *, item_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """Return ``{sku: (name_th, name_en)}`` for the known SKUs among ``item_ids``."""
    rows = _load_many(session, list(item_ids))
    return {sku: (row.name_th, row.name_en) for sku, row in rows.items()}


def _check_unique(items: Sequence[ItemCreate]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise ItemInvalid(
                f"SKU {item.id!r} appears twice in the batch", field=f"items.{index}.id"
            )
        seen.add(item.id)


def _load(session: Session, item_id: str) -> Item:
    row = session.get(Item, item_id)
    if row is None:
        raise ItemNotFound(f"item {item_id!r} not found", field="item_id")
    return row


def _load_many(session: Session, item_ids: Sequence[str]) -> dict[str, Item]:
    unique = sorted(set(item_ids))
    found: dict[str, Item] = {}
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        found.update(
            {row.id: row for row in session.scalars(select(Item).where(Item.id.in_(chunk)))}
        )
    return found


def _apply(row: Item, values: dict[str, Any], now: datetime) -> None:
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = now
