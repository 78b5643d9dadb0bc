"""What a breach touched in profiles: traits and identities, set-based (TH-BRE-01).

A trait counts when it was held during the window: its current value was set by the window's end,
or an earlier value was replaced after the window began (``trait_revision``). An identity (email,
phone, national id) counts when it was on file by the window's end; its category comes from the
policy's traits (``identifier``). ``subject_ids_in_window`` lists ids only (what the door is asked
about); ``permitted_counts``, ``minors`` and ``customer_ids`` read behind a ``PermitSet``;
``category_counts`` is an anonymous aggregate for categories the door keeps closed (TH-SEN-01).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping
from datetime import date, datetime

from sqlalchemy import Select, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from rujai.kit.crypto import Keyring
from rujai.kit.time import age_on
from rujai.policy.permit import PermitSet
from rujai.profiles.models import Identity, Subject, Trait, TraitRevision
from rujai.profiles.schemas import BAND_AGE
from rujai.profiles.sealing import open_value, unwrap_key

IN_CHUNK = 500  # subjects per query; bounds every IN (...) list


def _held(
    categories: Collection[str], kinds: Mapping[str, str], start: datetime, end: datetime
) -> Select[uuid.UUID, str]:
    """(subject_id, category) of every trait and identity held in the window, one row each."""
    revised = (
        select(TraitRevision.id)
        .where(
            TraitRevision.subject_id == Trait.subject_id,
            TraitRevision.name == Trait.name,
            TraitRevision.replaced_at >= start,
        )
        .exists()
    )
    traits = select(Trait.subject_id.label("sid"), Trait.category.label("category")).where(
        Trait.category.in_(list(categories)), or_(Trait.updated_at <= end, revised)
    )
    parts: list[Select[uuid.UUID, str]] = [traits]
    for kind, category in kinds.items():
        if category in categories:
            parts.append(
                select(Identity.subject_id.label("sid"), literal(category).label("category")).where(
                    and_(Identity.kind == kind, Identity.created_at <= end)
                )
            )
    held = union_all(*parts).subquery()
    return select(held.c.sid, held.c.category)


def subject_ids_in_window(
    session: Session,
    *,
    categories: Collection[str],
    identity_kinds: Mapping[str, str],
    start: datetime,
    end: datetime,
) -> list[uuid.UUID]:
    """Return the ids of subjects holding data of these categories in the window (ids only)."""
    if not categories:
        return []
    held = _held(categories, identity_kinds, start, end).subquery()
    return sorted(session.scalars(select(held.c.sid).distinct()))


def permitted_counts(
    session: Session,
    *,
    permits: PermitSet,
    categories: Collection[str],
    identity_kinds: Mapping[str, str],
    start: datetime,
    end: datetime,
) -> dict[uuid.UUID, dict[str, int]]:
    """Return, per permitted subject, its records per category held in the window."""
    if not categories:
        return {}
    held = _held(categories, identity_kinds, start, end).subquery()
    stmt = select(held.c.sid, held.c.category, func.count()).group_by(held.c.sid, held.c.category)
    found: dict[uuid.UUID, dict[str, int]] = {}
    for sid, category, count in session.execute(stmt):
        if permits.covers(sid, category):
            found.setdefault(sid, {})[category] = int(count)
    return found


def category_counts(
    session: Session,
    *,
    categories: Collection[str],
    identity_kinds: Mapping[str, str],
    start: datetime,
    end: datetime,
) -> dict[str, tuple[int, int]]:
    """Return, per category, (distinct subjects, records) held in the window: counts only."""
    if not categories:
        return {}
    held = _held(categories, identity_kinds, start, end).subquery()
    stmt = select(held.c.category, func.count(func.distinct(held.c.sid)), func.count()).group_by(
        held.c.category
    )
    return {category: (int(n), int(m)) for category, n, m in session.execute(stmt)}


def minors(
    session: Session,
    *,
    keyring: Keyring,
    permits: PermitSet,
    on: date,
    majority_age: int,
    birth_date_category: str,
) -> frozenset[uuid.UUID]:
    """Return the permitted subjects under ``majority_age`` on ``on`` (birth date, else age band).

    The birth date is opened only where the permit covers its category; the age band a subject
    or a guardian gave (TH-MIN-01) is used otherwise, as ``profiles.service.facts`` does.
    """
    found: set[uuid.UUID] = set()
    columns = (Subject.id, Subject.data_key_wrapped, Subject.birth_date_sealed, Subject.age_band)
    for chunk in _chunks(permits.subject_ids):
        for sid, wrapped, sealed, band in session.execute(
            select(*columns).where(Subject.id.in_(chunk))
        ):
            age = BAND_AGE.get(band) if band else None
            if (
                sealed is not None
                and wrapped is not None
                and permits.covers(sid, birth_date_category)
            ):
                key = unwrap_key(keyring, sid, wrapped)
                born = date.fromisoformat(open_value(key, sid, "birth_date", sealed).decode())
                age = age_on(born, on)
            if age is not None and age < majority_age:
                found.add(sid)
    return frozenset(found)


def customer_ids(
    session: Session, *, keyring: Keyring, permits: PermitSet, category: str
) -> dict[uuid.UUID, str | None]:
    """Open the customer ids of the permitted subjects whose permit covers ``category``."""
    found: dict[uuid.UUID, str | None] = {}
    columns = (Subject.id, Subject.data_key_wrapped, Subject.customer_id_sealed)
    wanted = [sid for sid in permits.subject_ids if permits.covers(sid, category)]
    for chunk in _chunks(wanted):
        for sid, wrapped, sealed in session.execute(select(*columns).where(Subject.id.in_(chunk))):
            if sealed is None or wrapped is None:
                found[sid] = None  # anonymous or crypto-shredded (TH-DSR-04)
                continue
            key = unwrap_key(keyring, sid, wrapped)
            found[sid] = open_value(key, sid, "customer_id", sealed).decode()
    return found


def _chunks(values: Collection[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    items = list(values)
    return (items[i : i + IN_CHUNK] for i in range(0, len(items), IN_CHUNK))
