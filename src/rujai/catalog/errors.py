"""Errors of the catalog domain. Items are products, not people: a SKU may appear in messages."""

from __future__ import annotations

from rujai.errors import Invalid, NotFound


class ItemNotFound(NotFound):
    """No item with this SKU."""


class ItemInvalid(Invalid):
    """An item or a batch of items breaks a rule; ``field`` names where."""
