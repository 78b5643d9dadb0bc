"""The ledger read side: history, state at a past time, export and erasure, and counts.

The ledger is append-only (TH-CON-04): nothing here updates a row. ``consents_at`` folds the ledger
up to a moment (latest record per purpose and role), which must equal what the projection held then.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from rujai.consent.models import ConsentRecord, ConsentState
from rujai.consent.schemas import ROLE_OF_ACTOR, ConsentRecordRead
from rujai.kit.crypto import Keyring
from rujai.policy.permit import Permit
from rujai.policy.rules import ConsentFact, Role
from rujai.profiles import service as profiles_service
from rujai.profiles.errors import SubjectNotFound

Consents = dict[str, dict[Role, ConsentFact]]
BANGKOK_OFFSET = timedelta(hours=7)


def history(session: Session, *, subject_id: uuid.UUID) -> list[ConsentRecordRead]:
    """Return every ledger row of a subject, oldest first."""
    rows = session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.subject_id == subject_id)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    )
    return [ConsentRecordRead.model_validate(row) for row in rows]


def history_for_customer(
    session: Session, *, keyring: Keyring, customer_id: str
) -> list[ConsentRecordRead]:
    """Return the ledger of the subject with this customer id; raise SubjectNotFound."""
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    if subject_id is None:
        raise SubjectNotFound("no subject with this customer id")
    return history(session, subject_id=subject_id)


def export_subject(
    session: Session, *, permit: Permit, subject_id: uuid.UUID
) -> list[ConsentRecordRead]:
    """Return the subject's whole consent ledger for an access or portability request."""
    permit.require_subject(subject_id)
    return history(session, subject_id=subject_id)


def erase_subject(session: Session, *, subject_id: uuid.UUID) -> int:
    """Delete the subject's projection and ledger rows; return how many ledger rows went."""
    session.execute(delete(ConsentState).where(ConsentState.subject_id == subject_id))
    result = session.execute(delete(ConsentRecord).where(ConsentRecord.subject_id == subject_id))
    return cast("CursorResult[Any]", result).rowcount


def consents_at(session: Session, *, subject_id: uuid.UUID, at: datetime) -> Consents:
    """Rebuild ``consents[purpose][role]`` as it stood at ``at`` by folding the ledger."""
    rows = session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.subject_id == subject_id, ConsentRecord.recorded_at <= at)
        .order_by(ConsentRecord.recorded_at)
    )
    return fold(rows)


def fold(rows: Iterable[ConsentRecord]) -> Consents:
    """Keep the latest of ``rows`` (given oldest first) per purpose and role."""
    consents: Consents = {}
    for row in rows:
        consents.setdefault(row.purpose, {})[ROLE_OF_ACTOR[row.actor]] = fact_of(row)
    return consents


def projected(session: Session, *, subject_id: uuid.UUID) -> Consents:
    """Return ``consents[purpose][role]`` from the projection: one query."""
    rows = session.execute(
        select(ConsentState.role, ConsentRecord)
        .join(ConsentRecord, ConsentRecord.id == ConsentState.record_id)
        .where(ConsentState.subject_id == subject_id)
    )
    consents: Consents = {}
    for role, row in rows:
        consents.setdefault(row.purpose, {})[cast(Role, role)] = fact_of(row)
    return consents


def projected_many(
    session: Session, *, subject_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Consents]:
    """Return ``consents[purpose][role]`` per subject from the projection: one query."""
    if not subject_ids:
        return {}
    rows = session.execute(
        select(ConsentState.role, ConsentRecord)
        .join(ConsentRecord, ConsentRecord.id == ConsentState.record_id)
        .where(ConsentState.subject_id.in_(list(subject_ids)))
    )
    by_subject: dict[uuid.UUID, Consents] = {}
    for role, row in rows:
        consents = by_subject.setdefault(row.subject_id, {})
        consents.setdefault(row.purpose, {})[cast(Role, role)] = fact_of(row)
    return by_subject


def fact_of(row: ConsentRecord) -> ConsentFact:
    """Turn a ledger row into the fact ``rules.evaluate`` reads."""
    return ConsentFact(
        record_id=row.id,
        action=cast(Literal["grant", "withdraw"], row.action),
        notice_version=row.notice_version,
        recorded_at=row.recorded_at,
        expires_at=row.expires_at,
        is_explicit=row.is_explicit,
    )


def latest_recorded_at(facts: Mapping[Role, ConsentFact]) -> datetime | None:
    """Return when the latest of these facts was recorded, or None."""
    return max((fact.recorded_at for fact in facts.values()), default=None)


# --- counts for retention and the console (no personal data) ------------------------------------


def count_records(session: Session) -> int:
    """Return how many ledger rows are kept (as proof of consent, TH-CON-04)."""
    return int(session.scalar(select(func.count()).select_from(ConsentRecord)) or 0)
