"""A tiny in-process signal: domains announce that a subject's permissions narrowed.

``consent``, ``profiles`` and ``rights`` send ``subject_narrowed`` when a subject withdraws,
objects, is restricted or is erased; ``personalize`` listens to unlearn the subject from its models
and bandit statistics in the same transaction (TH-CON-03: effective on the next request). A signal
keeps the dependency pointing the right way: consent does not import personalize.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

Listener = Callable[..., Any]
_listeners: list[Listener] = []


def on_subject_narrowed(listener: Listener) -> Listener:
    """Register ``listener(session, *, subject_id, reason, **context)``; usable as a decorator."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def subject_narrowed(session: Session, *, subject_id: UUID, reason: str, **context: Any) -> None:
    """Tell every listener that ``subject_id``'s data may be used for less than before."""
    for listener in list(_listeners):
        listener(session, subject_id=subject_id, reason=reason, **context)
