"""What bulk work (insights, training) reads of many subjects at once, behind a ``PermitSet``.

The subjects' data keys are unwrapped here and handed to the owning domain that opens the rows
(``events.bulk``); a crypto-shredded subject (no data key, TH-DSR-04) is simply absent. A birth
date is opened only for subjects whose permits cover its category. Ids alone (``subject_ids``)
are what the door is asked about, so listing them needs no permit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.kit.crypto import Keyring
from rujai.policy.permit import PermitSet
from rujai.profiles.models import Subject, Trait
from rujai.profiles.sealing import open_value, unwrap_key

IN_CHUNK = 500  # subjects per query; bounds every IN (...) list
BIRTH_DATE = "birth_date"
PARTNER_SOURCE = "partner"  # traits a partner supplied (TH-IND-01)


@dataclass(frozen=True, slots=True)
class ReadableSubject:
    """A permitted, not shredded subject: its data key, partner notice and (if permitted) birth."""

    __personal__: ClassVar[bool] = True

    subject_id: uuid.UUID
    data_key: bytes
    partner_notified: bool
    birth_date: date | None = None


def subject_ids(session: Session) -> list[uuid.UUID]:
    """Return every subject id in order (pseudonymous ids only, to ask the door about)."""
    return list(session.scalars(select(Subject.id).order_by(Subject.id)))


def readable(
    session: Session,
    *,
    keyring: Keyring,
    permits: PermitSet,
    birth_date_category: str | None = None,
) -> dict[uuid.UUID, ReadableSubject]:
    """Return the permitted subjects whose data can still be read, with their data keys."""
    found: dict[uuid.UUID, ReadableSubject] = {}
    columns = (Subject.id, Subject.data_key_wrapped, Subject.partner_notified_at,
               Subject.birth_date_sealed)  # fmt: skip
    for chunk in _chunks(permits.subject_ids):
        stmt = select(*columns).where(Subject.id.in_(chunk), Subject.data_key_wrapped.is_not(None))
        for sid, wrapped, notified_at, birth_sealed in session.execute(stmt):
            key = unwrap_key(keyring, sid, wrapped)
            birth = _birth_date(permits, birth_date_category, key, sid, birth_sealed)
            found[sid] = ReadableSubject(sid, key, notified_at is not None, birth)
    return found


def _birth_date(
    permits: PermitSet, category: str | None, key: bytes, sid: uuid.UUID, sealed: bytes | None
) -> date | None:
    """Open the birth date only where the subject's permit covers its category."""
    if sealed is None or category is None or not permits.covers(sid, category):
        return None
    return date.fromisoformat(open_value(key, sid, BIRTH_DATE, sealed).decode())


def readable_unrestricted(session: Session, *, keyring: Keyring) -> Iterator[ReadableSubject]:
    """Yield every subject not restricted (TH-DSR-05) nor shredded, for anonymous aggregates.

    Only the aggregate functions of the domain that opens the rows use this (``events.bulk``);
    they return counts, never a row of a person.
    """
    stmt = (
        select(Subject.id, Subject.data_key_wrapped, Subject.partner_notified_at)
        .where(Subject.is_restricted.is_(False), Subject.data_key_wrapped.is_not(None))
        .order_by(Subject.id)
        .execution_options(yield_per=2000)
    )
    for sid, wrapped, notified_at in session.execute(stmt):
        yield ReadableSubject(sid, unwrap_key(keyring, sid, wrapped), notified_at is not None)


def permitted_traits(
    session: Session,
    *,
    permits: PermitSet,
    subjects: Mapping[uuid.UUID, ReadableSubject],
) -> dict[uuid.UUID, dict[str, Any]]:
    """Return each permitted subject's traits whose category its permit covers, opened.

    Traits from a partner wait until the subject was told of the source (TH-IND-01); a shredded
    subject (absent from ``subjects``) has none. For disclosures and other bulk work.
    """
    found: dict[uuid.UUID, dict[str, Any]] = {}
    ids = [sid for sid in permits.subject_ids if sid in subjects]
    columns = (Trait.subject_id, Trait.name, Trait.category, Trait.value_sealed, Trait.source)
    for chunk in _chunks(ids):
        stmt = select(*columns).where(Trait.subject_id.in_(chunk)).order_by(Trait.name)
        for sid, name, category, sealed, source in session.execute(stmt):
            subject = subjects[sid]
            if not permits.covers(sid, category):
                continue
            if source == PARTNER_SOURCE and not subject.partner_notified:
                continue  # TH-IND-01
            raw = open_value(subject.data_key, sid, f"trait.{name}", sealed)
            found.setdefault(sid, {})[name] = json.loads(raw)
    return found


def _chunks(values: Collection[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    items = list(values)
    return (items[i : i + IN_CHUNK] for i in range(0, len(items), IN_CHUNK))
