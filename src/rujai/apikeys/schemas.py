"""Schemas of the API key domain: scopes, keys as shown, and the authenticated principal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Scope(StrEnum):
    """What a key may do; ``admin`` implies every other scope (least privilege, TH-SEC-01).

    Besides these, a key may hold ``processor:<recipient>`` scopes: it speaks for that processor
    (it acknowledges the processor's notices, TH-PRC-01) and may do nothing else.
    """

    ADMIN = "admin"
    DECIDE = "decide"
    TRACK = "track"
    CONSENT = "consent"
    # Read-only access for the DPO: the breach register (TH-DPO-01); writes need ``admin``.
    DPO = "dpo"
    # A recipient's key (PDPA s.27, TH-USE-01): reads only what was disclosed to its recipient.
    # Given as ``partner:<recipient id>``; the recipient is kept with the scope.
    PARTNER = "partner"


PARTNER_PREFIX = "partner:"


class ApiKeyRead(BaseModel):
    """An API key as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None = None
    processor_of: list[str] = []
    recipient: str | None = None


class ApiKeyCreated(BaseModel):
    """A new API key; ``key`` is returned this once and never again."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    key: str
    processor_of: list[str] = []
    recipient: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller an API key authenticates as."""

    key_id: uuid.UUID
    name: str
    scopes: frozenset[Scope]
    processor_of: frozenset[str] = frozenset()  # recipients a ``processor:<id>`` scope names
    recipient: str | None = None  # the recipient a partner key is bound to

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
