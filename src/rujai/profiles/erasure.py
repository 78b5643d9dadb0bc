"""Erasing profiles (TH-DSR-04): which profiles are one person, their blind indexes, the rows.

``rights.erasure`` orchestrates the cascade and calls these in order: ``family_of`` (the subject
and the anonymous profiles merged into it), ``blind_indexes`` (kept as suppression entries),
``erase_merges`` (merge records name both subjects), and last ``delete_subjects``. Traits, trait
revisions and identities go through ``profiles.traits.erase_subject``. Nothing here returns
personal data in the clear: ids, keyed blind indexes and counts only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.orm import Session

from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.models import Identity, Subject, SubjectMerge

CUSTOMER_KIND = "customer"  # the blind-index kind of a customer id (``Subject.customer_ref``)
IN_CHUNK = 500  # ids per IN (...)


def family_of(session: Session, *, subject_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the profiles merged into the subject, then the subject; raise SubjectNotFound."""
    found = session.scalars(
        select(Subject.id).where(
            or_(Subject.id == subject_id, Subject.merged_into_id == subject_id)
        )
    ).all()
    if subject_id not in found:
        raise SubjectNotFound(f"subject {subject_id} not found")
    merged = sorted(sid for sid in found if sid != subject_id)
    return [*merged, subject_id]  # merged-away profiles first: they point at the subject


def blind_indexes(session: Session, *, subject_ids: Sequence[uuid.UUID]) -> list[tuple[str, str]]:
    """Return (kind, blind index) of the customer refs and identities of these profiles."""
    refs = session.scalars(
        select(Subject.customer_ref).where(
            Subject.id.in_(list(subject_ids)), Subject.customer_ref.is_not(None)
        )
    ).all()
    rows = session.execute(
        select(Identity.kind, Identity.blind).where(Identity.subject_id.in_(list(subject_ids)))
    )
    return [(CUSTOMER_KIND, ref) for ref in refs if ref] + [(r.kind, r.blind) for r in rows]


def erase_merges(session: Session, *, subject_id: uuid.UUID) -> int:
    """Delete the merge records naming the subject on either side; return how many went."""
    result = session.execute(
        delete(SubjectMerge).where(
            or_(
                SubjectMerge.into_subject_id == subject_id,
                SubjectMerge.from_subject_id == subject_id,
            )
        )
    )
    return cast("CursorResult[Any]", result).rowcount


def delete_subjects(session: Session, *, subject_ids: Sequence[uuid.UUID]) -> int:
    """Delete the subject rows in the order given (merged-away profiles first); return how many."""
    gone = 0
    for sid in subject_ids:  # one at a time: a merged-away profile points at the next
        result = session.execute(delete(Subject).where(Subject.id == sid))
        gone += cast("CursorResult[Any]", result).rowcount
    return gone


def unerased(session: Session, *, subject_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Return which of these profiles still exist with a data key (ids only, chunked)."""
    found: set[uuid.UUID] = set()
    ids = list(dict.fromkeys(subject_ids))
    for start in range(0, len(ids), IN_CHUNK):
        found.update(
            session.scalars(
                select(Subject.id).where(
                    Subject.id.in_(ids[start : start + IN_CHUNK]),
                    Subject.data_key_wrapped.is_not(None),
                )
            )
        )
    return found
