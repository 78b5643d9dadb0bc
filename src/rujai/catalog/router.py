"""``/v1/items``: read the catalog (decide scope) and maintain it (admin scope)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from rujai.apikeys.deps import AdminPrincipal, DecidePrincipal
from rujai.boundary import BoundaryRoute
from rujai.catalog import service as catalog_service
from rujai.catalog.schemas import ItemBatchCreate, ItemRead, ItemsUpsertedRead, ItemUpdate
from rujai.deps import SessionDep, WriterDep
from rujai.kit.inputs import INT32_MAX
from rujai.kit.time import utcnow

router = APIRouter(route_class=BoundaryRoute, tags=["catalog"])

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key."},
    403: {"description": "The API key lacks the required scope."},
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input; names the field."}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No item with this SKU."}}

ItemId = Annotated[str, Path(min_length=1, max_length=64, description="The item's SKU.")]


@router.get("/items", response_model=list[ItemRead], responses={**_AUTH_ERRORS, **_INVALID})
def list_items(
    session: SessionDep,
    _principal: DecidePrincipal,
    category: Annotated[
        str | None, Query(max_length=63, description="Only items of this category.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=catalog_service.MAX_LIST_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
    active_only: Annotated[bool, Query(description="Leave out inactive items.")] = True,
) -> list[ItemRead]:
    """List items by SKU; page with ``limit`` and ``offset``."""
    return catalog_service.list_items(
        session, category=category, limit=limit, offset=offset, active_only=active_only
    )


@router.get("/items/{item_id}", response_model=ItemRead, responses={**_AUTH_ERRORS, **_NOT_FOUND})
def get_item(session: SessionDep, _principal: DecidePrincipal, item_id: ItemId) -> ItemRead:
    """Return one item by SKU."""
    return catalog_service.get(session, item_id=item_id)


@router.post("/items", response_model=ItemsUpsertedRead, responses={**_AUTH_ERRORS, **_INVALID})
async def upsert_items(
    writer: WriterDep, _principal: AdminPrincipal, body: ItemBatchCreate
) -> ItemsUpsertedRead:
    """Create or replace items by SKU, all or none."""
    work = partial(catalog_service.upsert_many, items=body.items, now=utcnow())
    return ItemsUpsertedRead(upserted=await writer.run(work))


@router.patch(
    "/items/{item_id}",
    response_model=ItemRead,
    responses={**_AUTH_ERRORS, **_NOT_FOUND, **_INVALID},
)
async def update_item(
    writer: WriterDep, _principal: AdminPrincipal, item_id: ItemId, body: ItemUpdate
) -> ItemRead:
    """Change some fields of an item; send ``is_active: false`` to withdraw it."""
    return await writer.run(
        partial(catalog_service.update, item_id=item_id, change=body, now=utcnow())
    )
