"""Errors of the profiles domain. Messages name subjects by internal UUID, never by customer id."""

from __future__ import annotations

from rujai.errors import Conflict, NotFound


class SubjectNotFound(NotFound):
    """No subject with this id (or customer id)."""


class SubjectErased(Conflict):
    """The subject's data key was destroyed (crypto-shredding), so nothing new can be sealed."""
