"""Bulk reads of events for insights and training, behind a ``PermitSet``; anonymous aggregates.

``permitted_events`` reads the events of many subjects a chunk at a time and yields only those
whose category the subject's permit covers; partner data waits until the subject was notified
(TH-IND-01); a shredded subject (TH-DSR-04) has nothing left. Properties are opened only for the
types asked for (one AES-GCM object per subject). ``purchase_counts`` is an aggregate: counts per
item over every readable purchase except those of restricted subjects (TH-DSR-05), never a row.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from rujai.errors import AppError
from rujai.events.models import Event
from rujai.events.store import event_aad
from rujai.kit.crypto import NONCE_BYTES, Keyring
from rujai.policy.service import PermitSet
from rujai.profiles import bulk as profiles_bulk
from rujai.profiles.bulk import ReadableSubject

IN_CHUNK = 500  # subjects per query; bounds every IN (...) list
PURCHASE = "purchase"
_JSON = json.JSONDecoder()
_COLUMNS = (  # id and time as the driver returns them: converting cost more than opening
    type_coerce(Event.subject_id, String), Event.type, Event.category,
    type_coerce(Event.occurred_at, String), Event.properties_sealed, Event.is_partner_data,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PermittedEvent:
    """One event a permit covers: ``occurred_at`` as the driver gave it (text on SQLite)."""

    __personal__: ClassVar[bool] = True

    subject_id: uuid.UUID
    type: str
    category: str
    occurred_at: str | datetime
    properties: Mapping[str, Any]


def subject_ids_with(
    session: Session, *, types: Collection[str], categories: Collection[str]
) -> list[uuid.UUID]:
    """Return the ids of subjects with an event of these types and categories (ids only)."""
    stmt = (
        select(Event.subject_id)
        .where(Event.type.in_(list(types)), Event.category.in_(list(categories)))
        .distinct()
    )
    return sorted(session.scalars(stmt))


def permitted_events(
    session: Session,
    *,
    permits: PermitSet,
    subjects: Mapping[uuid.UUID, ReadableSubject],
    types: Collection[str] | None = None,
    open_types: Collection[str] | None = None,
    until: datetime | None = None,
) -> Iterator[PermittedEvent]:
    """Yield the events the permits cover, a chunk of subjects per query.

    ``subjects``: the readable subjects of the permits (``profiles.bulk.readable``); ``types``:
    only these types; ``open_types``: open properties of these types only (None: of all);
    ``until``: only events that happened by then.
    """
    ids = sorted(sid for sid in subjects if sid in permits.grants)
    for start in range(0, len(ids), IN_CHUNK):
        chunk = {sid: subjects[sid] for sid in ids[start : start + IN_CHUNK]}
        yield from _chunk_events(session, permits, chunk, types, open_types, until)


def _chunk_events(
    session: Session,
    permits: PermitSet,
    chunk: Mapping[uuid.UUID, ReadableSubject],
    types: Collection[str] | None,
    open_types: Collection[str] | None,
    until: datetime | None,
) -> Iterator[PermittedEvent]:
    # SQLite returns 32 hex digits and naive UTC text, PostgreSQL a UUID and an aware datetime.
    by_raw = {key: sid for sid in chunk for key in (sid, sid.hex, str(sid))}
    stmt = select(*_COLUMNS).where(Event.subject_id.in_(list(chunk)))
    if types is not None:
        stmt = stmt.where(Event.type.in_(list(types)))
    if until is not None:
        stmt = stmt.where(Event.occurred_at <= until)
    ciphers: dict[uuid.UUID, AESGCM] = {}
    for raw_sid, kind, category, occurred, sealed, is_partner in session.execute(stmt):
        sid = by_raw[raw_sid]
        subject = chunk[sid]
        if not _readable(permits, subject, category, is_partner):
            continue
        properties: Mapping[str, Any] = {}
        if open_types is None or kind in open_types:
            properties = _open(_cipher(ciphers, subject), sid, sealed)
        yield PermittedEvent(sid, kind, category, occurred, properties)


def _readable(permits: PermitSet, subject: ReadableSubject, category: str, partner: bool) -> bool:
    """The permit covers the category, and partner data only once the subject was told."""
    if partner and not subject.partner_notified:
        return False  # TH-IND-01: not collected from the subject, who was not told yet
    return permits.covers(subject.subject_id, category)


def _cipher(ciphers: dict[uuid.UUID, AESGCM], subject: ReadableSubject) -> AESGCM:
    """One AES-GCM object per subject, made when first needed."""
    cipher = ciphers.get(subject.subject_id)
    if cipher is None:
        cipher = ciphers[subject.subject_id] = AESGCM(subject.data_key)
    return cipher


def newest_items(
    session: Session,
    *,
    keyring: Keyring,
    permits: PermitSet,
    types: Sequence[str],
    until: datetime,
    limit: int | None = None,
) -> dict[uuid.UUID, set[str]]:
    """Return the item ids in each permitted subject's events of ``types`` (``limit``: newest).

    With ``limit``, only each chunk's newest ``limit`` events are read (serving asks for one
    subject at a time).
    """
    found: dict[uuid.UUID, set[str]] = {}
    ciphers: dict[uuid.UUID, AESGCM] = {}
    readable = profiles_bulk.readable(session, keyring=keyring, permits=permits)
    ids = sorted(readable)
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        stmt = select(Event.subject_id, Event.category, Event.is_partner_data,
                      Event.properties_sealed).where(
            Event.subject_id.in_(chunk), Event.type.in_(list(types)), Event.occurred_at <= until
        )  # fmt: skip
        if limit is not None:
            stmt = stmt.order_by(Event.occurred_at.desc(), Event.id).limit(limit)
        for sid, category, is_partner, sealed in session.execute(stmt):
            subject = readable[sid]
            if not _readable(permits, subject, category, is_partner):
                continue
            item = _item(ciphers, subject, sealed)
            if item:
                found.setdefault(sid, set()).add(item)
    return found


def purchase_counts(session: Session, *, keyring: Keyring) -> tuple[dict[str, int], int]:
    """Count purchases per item over every readable purchase; also return how many buyers.

    An anonymous aggregate (counts only): restricted subjects (TH-DSR-05), shredded subjects and
    partner data nobody was told about (TH-IND-01) are left out.
    """
    counts: Counter[str] = Counter()
    buyers = 0
    batch: dict[uuid.UUID, ReadableSubject] = {}
    for subject in profiles_bulk.readable_unrestricted(session, keyring=keyring):
        batch[subject.subject_id] = subject
        if len(batch) == IN_CHUNK:
            buyers += _count_purchases(session, batch, counts)
            batch = {}
    if batch:
        buyers += _count_purchases(session, batch, counts)
    return dict(sorted(counts.items())), buyers


def _count_purchases(
    session: Session, batch: Mapping[uuid.UUID, ReadableSubject], counts: Counter[str]
) -> int:
    stmt = select(Event.subject_id, Event.is_partner_data, Event.properties_sealed).where(
        Event.subject_id.in_(list(batch)), Event.type == PURCHASE
    )
    bought: set[uuid.UUID] = set()
    ciphers: dict[uuid.UUID, AESGCM] = {}
    for sid, is_partner, sealed in session.execute(stmt):
        subject = batch[sid]
        if is_partner and not subject.partner_notified:
            continue
        item = _item(ciphers, subject, sealed)
        if item:
            counts[item] += 1
            bought.add(sid)
    return len(bought)


def _item(ciphers: dict[uuid.UUID, AESGCM], subject: ReadableSubject, sealed: bytes) -> str | None:
    cipher = ciphers.get(subject.subject_id)
    if cipher is None:
        cipher = ciphers[subject.subject_id] = AESGCM(subject.data_key)
    item = _open(cipher, subject.subject_id, sealed).get("item_id")
    return item if isinstance(item, str) and item else None


def _open(cipher: AESGCM, subject_id: uuid.UUID, sealed: bytes) -> dict[str, Any]:
    """Open properties sealed by ``events.store.seal_properties``."""
    try:
        plain = cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], event_aad(subject_id))
    except InvalidTag as e:
        raise AppError(f"an event of subject {subject_id} cannot be opened") from e
    opened: dict[str, Any] = _JSON.decode(plain.decode())
    return opened
