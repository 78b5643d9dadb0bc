"""Errors of the audit domain. Messages name entries by seq only, never a subject."""

from __future__ import annotations

from rujai.errors import Conflict


class AuditHistoryRewritten(Conflict):
    """The chain no longer holds an entry a signed checkpoint covers; refuse to sign over it."""
