"""Errors of the profiles domain. Messages name subjects by internal UUID, never by customer id."""

from __future__ import annotations

from rujai.errors import AppError, Conflict, NotFound


class SubjectNotFound(NotFound):
    """No subject with this id (or customer id)."""


class SubjectErased(Conflict):
    """The subject's data key was destroyed (crypto-shredding), so nothing new can be sealed."""


class DataKeyUnreadable(AppError):
    """A wrapped data key opens under no loaded master key (a rotation without the old key)."""
