"""Schemas of the API key domain: scopes, keys as shown, and the authenticated principal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Scope(StrEnum):
    """What a key may do; ``admin`` implies every other scope (least privilege, TH-SEC-01)."""

    ADMIN = "admin"
    DECIDE = "decide"
    TRACK = "track"
    CONSENT = "consent"
    # Read-only access for the DPO: the breach register (TH-DPO-01); writes need ``admin``.
    DPO = "dpo"


class ApiKeyRead(BaseModel):
    """An API key as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(BaseModel):
    """A new API key; ``key`` is returned this once and never again."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    key: str


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller an API key authenticates as."""

    key_id: uuid.UUID
    name: str
    scopes: frozenset[Scope]

    def has(self, scope: Scope | str) -> bool:
        """Return True if the key holds ``scope`` (``admin`` holds every known scope)."""
        try:
            wanted = Scope(scope)
        except ValueError:
            return False
        return Scope.ADMIN in self.scopes or wanted in self.scopes

    @property
    def actor(self) -> str:
        """The actor string recorded in the audit log for this caller."""
        return f"key:{self.key_id}"
