"""The blast radius of a breach, measured from the data itself (TH-BRE-01).

Given the incident's categories and time window: the subjects with events of those categories
in the window (``events.breach``) and with traits or identities of those categories held in it
(``profiles.breach``). The ids are asked about at the door, ``authorize_many`` for the policy's
``breach_response`` purpose (a legal obligation, PDPA s.37(4)) with ``Action.STORE``: measuring
what a breach exposed is part of keeping data secure (s.37(1)), which a restriction
(TH-DSR-05) leaves in place. The door opens no sensitive category to a legal duty (TH-SEN-01),
so those are counted anonymously (subjects and records per category), flagged, and never listed
per subject. Minors (TH-MIN-01) come from the birth date (behind the permit) or the age band.
Every query is grouped SQL over the window, never a loop per event.

Jurisdiction: rujai keeps none per subject yet, so every subject counts under the policy's home
jurisdiction (its first), as rights requests default to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from rujai.errors import PolicyDenied
from rujai.events import breach as events_breach
from rujai.incidents.schemas import AffectedSubject, BlastRadiusRead, CategoryCount
from rujai.kit.crypto import Keyring
from rujai.kit.time import as_utc
from rujai.policy import service as policy_service
from rujai.policy.rules import Action
from rujai.policy.schemas import Policy
from rujai.policy.service import PermitSet
from rujai.profiles import breach as profiles_breach
from rujai.profiles.service import CUSTOMER_ID_CATEGORY

BREACH_PURPOSE = "breach_response"
BIRTH_DATE_CATEGORY = "demographics"

Counts = dict[uuid.UUID, dict[str, int]]


@dataclass(frozen=True, slots=True)
class Window:
    """What an incident exposed: categories and the time they were exposed."""

    incident_id: uuid.UUID
    categories: tuple[str, ...]
    start: datetime
    end: datetime


def identity_kinds(policy: Policy) -> dict[str, str]:
    """Map identity kinds (email, phone, national id) to their category (the policy's traits)."""
    return {t.identifier: t.category for t in policy.traits.values() if t.identifier is not None}


def measure(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    window: Window,
    with_subjects: bool,
    now: datetime,
    actor: str,
) -> BlastRadiusRead:
    """Return who and which categories the breach touched; subjects listed only if asked."""
    sensitive = [c for c in window.categories if _is_sensitive(policy, c)]
    readable = [c for c in window.categories if c in policy.categories and c not in sensitive]
    permits = policy_service.authorize_many(
        session, policy=policy, keyring=keyring, uses=_uses(policy, readable), now=now,
        subject_ids=_candidates(session, policy, window, readable), actor=actor,
        action=Action.STORE, per_category=True,
    )  # fmt: skip
    per_subject = _per_subject(session, policy, window, readable, permits)
    hidden = _anonymous_counts(session, policy, window, sensitive)
    minors = profiles_breach.minors(
        session, keyring=keyring, permits=permits, on=window.end.date(),
        majority_age=policy.strictest_age_rule.majority_age,
        birth_date_category=BIRTH_DATE_CATEGORY,
    )  # fmt: skip
    rows = _category_rows(policy, window.categories, per_subject, hidden)
    affected = set(per_subject)
    sensitive_subjects = max((hidden[c][0] for c in hidden), default=0)
    # At least this many: those reached only through a sensitive category cannot be told apart
    # from the listed ones without opening the sensitive rows (TH-SEN-01).
    total = max(len(affected), sensitive_subjects)
    return BlastRadiusRead(
        incident_id=window.incident_id,
        occurred_from=window.start,
        occurred_to=window.end,
        categories=rows,
        subject_count=total,
        record_count=sum(r.records for r in rows),
        minor_count=len(affected & minors),
        sensitive_subject_count=sensitive_subjects,
        sensitive_categories=sorted(c for c in hidden if hidden[c][0]),
        by_jurisdiction=_by_jurisdiction(policy, total),
        subjects=_subjects(session, keyring, permits, per_subject, minors, with_subjects),
    )


def _by_jurisdiction(policy: Policy, total: int) -> dict[str, int]:
    """Every subject under the policy's home jurisdiction (none is kept per subject yet)."""
    return {policy.jurisdictions[0]: total} if total else {}


def _candidates(
    session: Session, policy: Policy, window: Window, readable: list[str]
) -> list[uuid.UUID]:
    """The ids of every subject whose readable data the window touched (ids only, for the door)."""
    start, end, kinds = window.start, window.end, identity_kinds(policy)
    ids = set(
        events_breach.subject_ids_in_window(session, categories=readable, start=start, end=end)
    )
    ids |= set(
        profiles_breach.subject_ids_in_window(
            session, categories=readable, identity_kinds=kinds, start=start, end=end
        )
    )
    return sorted(ids)


def _uses(policy: Policy, readable: list[str]) -> dict[str, list[str]]:
    """What the breach duty asks to read: the exposed categories, the customer id, the age."""
    purpose = policy.purposes.get(BREACH_PURPOSE)
    if purpose is None:
        raise PolicyDenied(
            f"the policy declares no {BREACH_PURPOSE!r} purpose (a legal obligation): the blast "
            "radius of a breach cannot be measured (TH-BRE-01)",
            reason="unknown_purpose",
        )
    wanted = {*readable, CUSTOMER_ID_CATEGORY, BIRTH_DATE_CATEGORY}
    return {BREACH_PURPOSE: sorted(c for c in wanted if c in purpose.categories)}


def _per_subject(
    session: Session, policy: Policy, window: Window, readable: list[str], permits: PermitSet
) -> Counts:
    start, end = window.start, window.end
    events = events_breach.permitted_counts(
        session, permits=permits, categories=readable, start=start, end=end
    )
    held = profiles_breach.permitted_counts(
        session, permits=permits, categories=readable, identity_kinds=identity_kinds(policy),
        start=start, end=end,
    )  # fmt: skip
    merged: Counts = {sid: dict(c) for sid, c in events.items()}
    for sid, counts in held.items():
        mine = merged.setdefault(sid, {})
        for category, n in counts.items():
            mine[category] = mine.get(category, 0) + n
    return merged


def _anonymous_counts(
    session: Session, policy: Policy, window: Window, sensitive: list[str]
) -> dict[str, tuple[int, int]]:
    """Subjects and records per sensitive category: counts only, no subject is named."""
    start, end = window.start, window.end
    events = events_breach.category_counts(session, categories=sensitive, start=start, end=end)
    held = profiles_breach.category_counts(
        session, categories=sensitive, identity_kinds=identity_kinds(policy), start=start, end=end
    )
    return {
        c: (
            max(events.get(c, (0, 0))[0], held.get(c, (0, 0))[0]),
            events.get(c, (0, 0))[1] + held.get(c, (0, 0))[1],
        )
        for c in sensitive
    }


def _category_rows(
    policy: Policy,
    categories: tuple[str, ...],
    per_subject: Counts,
    hidden: Mapping[str, tuple[int, int]],
) -> list[CategoryCount]:
    rows = []
    for category in categories:
        if category in hidden:
            subjects, records = hidden[category]
        else:
            subjects = sum(1 for c in per_subject.values() if category in c)
            records = sum(c.get(category, 0) for c in per_subject.values())
        rows.append(
            CategoryCount(
                category=category, subjects=subjects, records=records,
                is_sensitive=_is_sensitive(policy, category),
            )
        )  # fmt: skip
    return rows


def _subjects(
    session: Session,
    keyring: Keyring,
    permits: PermitSet,
    per_subject: Counts,
    minors: frozenset[uuid.UUID],
    wanted: bool,
) -> list[AffectedSubject] | None:
    if not wanted:
        return None
    ids = profiles_breach.customer_ids(
        session, keyring=keyring, permits=permits, category=CUSTOMER_ID_CATEGORY
    )
    return [
        AffectedSubject(
            subject_id=sid, customer_id=ids.get(sid), categories=sorted(per_subject[sid]),
            is_minor=sid in minors,
        )
        for sid in sorted(per_subject)
    ]  # fmt: skip


def affected_ids(
    session: Session, *, keyring: Keyring, policy: Policy, window: Window, now: datetime, actor: str
) -> list[uuid.UUID]:
    """Return the ids of the subjects to notify: those the door lets the breach duty read."""
    sensitive = [c for c in window.categories if _is_sensitive(policy, c)]
    readable = [c for c in window.categories if c in policy.categories and c not in sensitive]
    permits = policy_service.authorize_many(
        session, policy=policy, keyring=keyring, uses=_uses(policy, readable), now=now,
        subject_ids=_candidates(session, policy, window, readable), actor=actor,
        action=Action.STORE, per_category=True,
    )  # fmt: skip
    return sorted(_per_subject(session, policy, window, readable, permits))


def window_of(
    incident_id: uuid.UUID, categories: list[str], start: datetime, end: datetime
) -> Window:
    """Return the window of an incident (times in UTC)."""
    return Window(incident_id, tuple(categories), as_utc(start), as_utc(end))


def _is_sensitive(policy: Policy, category: str) -> bool:
    declared = policy.categories.get(category)
    return declared is not None and declared.sensitive
