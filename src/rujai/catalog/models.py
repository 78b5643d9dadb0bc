"""Tables of the catalog domain."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class Item(Base):
    """A product, identified by the brand's SKU, with Thai and English names and a price in baht."""

    __tablename__ = "item"
    __personal__ = ()

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    product_category: Mapped[str] = mapped_column(String(63), index=True)
    price_thb: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
