"""Tiny in-process signals: a subject's permissions narrowed; two subjects were merged.

``consent``, ``profiles`` and ``rights`` send ``subject_narrowed`` when a subject withdraws,
objects, is restricted or is erased; ``personalize`` listens to unlearn the subject from its models
and bandit statistics in the same transaction (TH-CON-03: effective on the next request), and
``disclosures.outbox`` queues a notice to each processor that received the subject's data
(TH-PRC-01). The context carries ``now`` and, where the change is per purpose, ``purpose`` (a
withdrawal) or ``purposes`` (an objection: the purposes it stops). ``subject_lifted`` is the
opposite: a restriction was lifted (the processors are told they may resume). A signal
keeps the dependency pointing the right way: consent does not import personalize. Likewise a
profile merge (``profiles.merge``) asks the domains above it (consent, events) to move their rows
through ``subject_merged`` / ``subject_unmerged`` instead of importing them, and profiles' own
collection gate reads the ledger's facts through ``subject_facts``, which consent provides.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
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


_lift_listeners: list[Listener] = []


def on_subject_lifted(listener: Listener) -> Listener:
    """Register ``listener(session, *, subject_id, reason, **context)`` for lifted restrictions."""
    if listener not in _lift_listeners:
        _lift_listeners.append(listener)
    return listener


def subject_lifted(session: Session, *, subject_id: UUID, reason: str, **context: Any) -> None:
    """Tell every listener that a restriction of ``subject_id``'s data was lifted."""
    for listener in list(_lift_listeners):
        listener(session, subject_id=subject_id, reason=reason, **context)


# --- merges --------------------------------------------------------------------------------------

MergeHandler = Callable[..., dict[str, Any]]
_merge_parts: dict[str, tuple[MergeHandler, MergeHandler]] = {}


class MissingHandler(RuntimeError):
    """A domain's handler was never registered (a merge would leave its rows behind)."""


def on_subject_merge(part: str, merge: MergeHandler, unmerge: MergeHandler) -> None:
    """Register how the domain ``part`` moves a merged subject's rows, and moves them back.

    ``merge(session, *, keyring, policy, from_subject_id, into_subject_id, now)`` returns what
    its undo needs (ids only, no personal data); ``unmerge(session, *, keyring, policy,
    from_subject_id, into_subject_id, detail, now)`` gets the merge's detail and returns more.
    """
    _merge_parts[part] = (merge, unmerge)


def subject_merged(session: Session, *, parts: Collection[str], **context: Any) -> dict[str, Any]:
    """Have each domain in ``parts`` move the rows of the merged subject; return their details."""
    detail: dict[str, Any] = {}
    for part in _registered(parts):
        detail.update(_merge_parts[part][0](session, **context))
    return detail


def subject_unmerged(
    session: Session, *, parts: Collection[str], detail: dict[str, Any], **context: Any
) -> dict[str, Any]:
    """Have each domain in ``parts`` move the rows of an undone merge back; return more detail."""
    more: dict[str, Any] = {}
    for part in _registered(parts):
        more.update(_merge_parts[part][1](session, detail=detail, **context))
    return more


def _registered(parts: Collection[str]) -> list[str]:
    missing = sorted(set(parts) - set(_merge_parts))
    if missing:
        raise MissingHandler(
            f"no merge handler for {', '.join(missing)}: import rujai.listeners at start-up"
        )
    return sorted(parts)


# --- the consent ledger's facts, for the domains below it ----------------------------------------

FactsSource = Callable[..., Any]
_facts: list[FactsSource] = []


def provide_subject_facts(source: FactsSource) -> None:
    """Register ``source(session, *, keyring, subject_id, now) -> SubjectFacts`` (consent does)."""
    _facts[:] = [source]


def subject_facts(session: Session, **context: Any) -> Any:
    """Return the subject's consent facts from the ledger (for profiles' collection gate)."""
    if not _facts:
        raise MissingHandler("no consent facts source: import rujai.listeners at start-up")
    return _facts[0](session, **context)
