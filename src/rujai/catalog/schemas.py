"""Schemas of the catalog domain: an item as created, changed and read. Prices are in baht."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_BATCH = 1000
MAX_PRICE = Decimal("9999999999.99")

Sku = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ProductCategory = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$"
    ),
]
Price = Annotated[Decimal, Field(ge=0, le=MAX_PRICE, decimal_places=2)]


class ItemCreate(BaseModel):
    """A product to add or replace, identified by the brand's SKU."""

    model_config = ConfigDict(extra="forbid")

    id: Sku = Field(description="The brand's SKU: letters, digits, '.', '_' or '-'.")
    name_th: Name = Field(description="Name shown to Thai readers.")
    name_en: Name = Field(description="Name shown to English readers.")
    product_category: ProductCategory = Field(description="A category id such as 'kitchen'.")
    price_thb: Price = Field(description="Price in baht, at most two decimals, not negative.")
    is_active: bool = Field(True, description="Inactive items are never recommended.")


class ItemBatchCreate(BaseModel):
    """Items to upsert in one call."""

    model_config = ConfigDict(extra="forbid")

    items: list[ItemCreate] = Field(min_length=1, max_length=MAX_BATCH)


class ItemUpdate(BaseModel):
    """A change to an item; only the fields sent are changed, and none can be set to null."""

    model_config = ConfigDict(extra="forbid")

    name_th: Name | None = None
    name_en: Name | None = None
    product_category: ProductCategory | None = None
    price_thb: Price | None = None
    is_active: bool | None = None


class ItemRead(BaseModel):
    """An item as stored; ``price_thb`` is a decimal (a string in JSON)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    name_th: str
    name_en: str
    product_category: str
    price_thb: Decimal
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ItemsUpsertedRead(BaseModel):
    """How many items an upsert wrote (created or replaced)."""

    model_config = ConfigDict(frozen=True)

    upserted: int
