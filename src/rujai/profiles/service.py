"""The profiles service: find or create subjects and keep the facts the policy decision needs.

The brand's customer id is stored only sealed under the subject's own data key, plus a keyed blind
index (``customer_ref``) for lookups (TH-SEC-01). The birth date is sealed the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from rujai.audit import service as audit_service
from rujai.errors import Invalid
from rujai.kit import signals
from rujai.kit.crypto import Keyring, open_sealed, seal
from rujai.kit.time import age_on
from rujai.policy.permit import Permit
from rujai.policy.rules import Objection, purpose_objection
from rujai.profiles.errors import SubjectErased, SubjectNotFound
from rujai.profiles.models import Subject
from rujai.profiles.schemas import (
    ADULT_BAND,
    AGE_BANDS,
    BAND_AGE,
    AgeBand,
    ProfileFacts,
    SubjectDataExport,
    SubjectRead,
)
from rujai.profiles.sealing import open_value, unwrap_key

CUSTOMER_ID_MAX = 128
CUSTOMER_ID_CATEGORY = "identity"  # the data category the brand's customer id belongs to


def normalise_customer_id(customer_id: str) -> str:
    """Strip ``customer_id`` and check its length (1..128 characters)."""
    value = customer_id.strip()
    if not 1 <= len(value) <= CUSTOMER_ID_MAX:
        raise Invalid(f"customer_id must be 1 to {CUSTOMER_ID_MAX} characters", field="customer_id")
    return value


def get_or_create(
    session: Session, *, keyring: Keyring, customer_id: str, now: datetime
) -> SubjectRead:
    """Return the subject for a customer id, creating it (with a new data key) when unknown."""
    value = normalise_customer_id(customer_id)
    ref = keyring.blind("customer", value)
    row = _by_ref(session, ref)
    if row is None:
        # Insert-or-ignore on the unique customer_ref: a concurrent create wins, we read its row.
        session.execute(_insert_ignore(session, _new_subject_values(keyring, value, ref, now)))
        row = _by_ref(session, ref)
    if row is None:  # pragma: no cover - the insert or the concurrent one made the row
        raise SubjectNotFound("subject vanished while being created")
    return _read(row)


def find_id(session: Session, *, keyring: Keyring, customer_id: str) -> uuid.UUID | None:
    """Return the id of the subject with this customer id, or None."""
    ref = keyring.blind("customer", normalise_customer_id(customer_id))
    found: uuid.UUID | None = session.scalar(select(Subject.id).where(Subject.customer_ref == ref))
    return found


def get(session: Session, *, subject_id: uuid.UUID) -> SubjectRead:
    """Return one subject; raise SubjectNotFound."""
    return _read(_load(session, subject_id))


def export_subject(
    session: Session, *, keyring: Keyring, permit: Permit, subject_id: uuid.UUID
) -> SubjectDataExport:
    """Return the subject row opened (customer id, birth date) for an access request (TH-DSR-01)."""
    permit.require_subject(subject_id)
    row = _load(session, subject_id)
    key = unwrap_key(keyring, row.id, row.data_key_wrapped)
    birth_date = _open(key, row.id, "birth_date", row.birth_date_sealed)
    merged = session.scalars(
        select(Subject.id).where(Subject.merged_into_id == subject_id).order_by(Subject.id)
    ).all()
    return SubjectDataExport(
        subject_id=row.id,
        customer_id=_open(key, row.id, "customer_id", row.customer_id_sealed),
        birth_date=date.fromisoformat(birth_date) if birth_date is not None else None,
        age_band=row.age_band,
        is_restricted=row.is_restricted,
        objections=list(row.objections or []),
        created_at=row.created_at,
        merged_profiles=list(merged),
    )


def customer_id_of(session: Session, *, keyring: Keyring, permit: Permit) -> str:
    """Open the customer id of the permit's subject; raise SubjectNotFound if it has none."""
    subject_id = permit.subject_id
    if subject_id is None:
        raise SubjectNotFound("the permit names no subject", field="subject_id")
    permit.require(subject_id, CUSTOMER_ID_CATEGORY)
    row = session.execute(
        select(Subject.customer_id_sealed, Subject.data_key_wrapped).where(Subject.id == subject_id)
    ).one_or_none()
    if row is None or row.customer_id_sealed is None:
        raise SubjectNotFound(f"subject {subject_id} has no customer id", field="subject_id")
    key = unwrap_key(keyring, subject_id, row.data_key_wrapped)
    return open_value(key, subject_id, "customer_id", row.customer_id_sealed).decode()


def _open(key: bytes, subject_id: uuid.UUID, field: str, sealed: bytes | None) -> str | None:
    return None if sealed is None else open_value(key, subject_id, field, sealed).decode()


def set_birth_date(
    session: Session, *, keyring: Keyring, subject_id: uuid.UUID, birth_date: date, now: datetime
) -> SubjectRead:
    """Store the birth date sealed under the subject's data key (TH-MIN-01)."""
    if birth_date > now.date():
        raise Invalid("birth_date cannot be in the future", field="birth_date")
    row = _load(session, subject_id)
    key = _data_key(keyring, row)
    row.birth_date_sealed = seal(key, birth_date.isoformat().encode(), _aad("birth_date", row.id))
    return _changed(session, row, now, action="subject.birth_date.set")


def set_age_band(
    session: Session, *, subject_id: uuid.UUID, band: AgeBand | None, now: datetime
) -> SubjectRead:
    """Store the age band used when no birth date is known (TH-MIN-01)."""
    if band is not None and band not in AGE_BANDS:
        raise Invalid(f"age_band must be one of {', '.join(AGE_BANDS)}", field="age_band")
    row = _load(session, subject_id)
    row.age_band = band
    return _changed(session, row, now, action="subject.age_band.set")


def set_restricted(
    session: Session, *, subject_id: uuid.UUID, restricted: bool, now: datetime
) -> SubjectRead:
    """Restrict or release the subject's data: stored but not processed (TH-DSR-05)."""
    row = _load(session, subject_id)
    row.is_restricted = restricted
    action = "subject.restriction.set" if restricted else "subject.restriction.lifted"
    result = _changed(session, row, now, action=action)
    if restricted:
        signals.subject_narrowed(session, subject_id=subject_id, reason="restricted", now=now)
    else:
        signals.subject_lifted(session, subject_id=subject_id, reason="restriction_lifted", now=now)
    return result


def set_objection(
    session: Session,
    *,
    subject_id: uuid.UUID,
    objection: Objection,
    objected: bool,
    now: datetime,
    purposes: Collection[str] | None = None,
) -> SubjectRead:
    """Record or lift an objection (TH-DSR-03 direct marketing, LI; EU-02 profiling).

    ``purposes``: the policy's purposes the objection stops (``rules.objected_purposes``), passed
    on to the signal's listeners (the processor outbox tells only those purposes' processors).
    """
    kind = Objection(objection)
    row = _load(session, subject_id)
    current = set(row.objections or [])
    updated = current | {kind.value} if objected else current - {kind.value}
    if not objected and kind is Objection.LEGITIMATE_INTEREST:  # per-purpose ones go too
        updated = {o for o in updated if not o.startswith(f"{kind.value}:")}
    row.objections = sorted(updated)
    action = "subject.objection.set" if objected else "subject.objection.lifted"
    result = _changed(session, row, now, action=action, detail={"objection": kind.value})
    _signal_objection(session, subject_id, kind, objected, changed=updated != current,
                      now=now, purposes=purposes)  # fmt: skip
    return result


def _signal_objection(
    session: Session,
    subject_id: uuid.UUID,
    kind: Objection,
    objected: bool,
    *,
    changed: bool,
    now: datetime,
    purposes: Collection[str] | None,
) -> None:
    """Narrowed on an objection; lifted when one is lifted: the processors told to stop may
    resume (TH-PRC-01). Lifting an objection that was not there tells nobody."""
    scope = {} if purposes is None else {"purposes": tuple(purposes)}
    if objected:
        reason = f"objected_{kind.value}"
        signals.subject_narrowed(session, subject_id=subject_id, reason=reason, now=now, **scope)
    elif changed:
        reason = f"objection_lifted_{kind.value}"
        signals.subject_lifted(session, subject_id=subject_id, reason=reason, now=now, **scope)


def set_purpose_objection(
    session: Session, *, subject_id: uuid.UUID, purpose: str, objected: bool, now: datetime
) -> SubjectRead:
    """Block or release one legitimate-interest purpose for the subject (TH-DSR-03, s.32)."""
    marker = purpose_objection(purpose)
    row = _load(session, subject_id)
    current = set(row.objections or [])
    row.objections = sorted(current | {marker} if objected else current - {marker})
    action = "subject.objection.set" if objected else "subject.objection.lifted"
    detail = {"objection": Objection.LEGITIMATE_INTEREST.value, "purpose": purpose}
    result = _changed(session, row, now, action=action, detail=detail)
    if objected:
        signals.subject_narrowed(
            session, subject_id=subject_id, reason="objected_legitimate_interest", now=now,
            purpose=purpose,
        )  # fmt: skip
    elif marker in current:
        signals.subject_lifted(
            session, subject_id=subject_id, reason="objection_lifted_legitimate_interest",
            now=now, purposes=(purpose,),
        )  # fmt: skip
    return result


def facts(
    session: Session, *, keyring: Keyring, subject_id: uuid.UUID, now: datetime
) -> ProfileFacts:
    """Return age at ``now`` (birth date, else band), restriction and objections: one query."""
    row = session.execute(_FACTS, {"subject_id": subject_id}).first()  # Core: the hot path
    if row is None:
        raise SubjectNotFound(f"subject {subject_id} not found")
    return _facts(keyring, row, now)


_FACT_COLUMNS = (
    Subject.id, Subject.birth_date_sealed, Subject.data_key_wrapped, Subject.age_band,
    Subject.is_restricted, Subject.objections,
)  # fmt: skip
_FACTS = select(*_FACT_COLUMNS).where(Subject.id == bindparam("subject_id"))
_FACTS_MANY = select(*_FACT_COLUMNS).where(Subject.id.in_(bindparam("ids", expanding=True)))


def facts_many(
    session: Session, *, keyring: Keyring, subject_ids: Collection[uuid.UUID], now: datetime
) -> dict[uuid.UUID, ProfileFacts]:
    """Return the facts of many subjects in one query; unknown ids are left out."""
    if not subject_ids:
        return {}
    rows = session.execute(_FACTS_MANY, {"ids": list(subject_ids)})  # Core: batch ingest's path
    return {row.id: _facts(keyring, row, now) for row in rows}


def _facts(keyring: Keyring, row: Any, now: datetime) -> ProfileFacts:
    return ProfileFacts(
        subject_id=row.id,
        age=_age(keyring, row, now),
        is_restricted=row.is_restricted,
        objections=frozenset(row.objections or ()),
        is_of_age=row.birth_date_sealed is None and row.age_band == ADULT_BAND,
    )


def _age(keyring: Keyring, row: Any, now: datetime) -> int | None:
    if row.birth_date_sealed is not None and row.data_key_wrapped is not None:
        key = keyring.unwrap(row.data_key_wrapped)
        raw = open_sealed(key, row.birth_date_sealed, _aad("birth_date", row.id))
        return age_on(date.fromisoformat(raw.decode()), now.date())
    if row.age_band is None:
        return None
    return BAND_AGE.get(row.age_band)


def _by_ref(session: Session, ref: str) -> Subject | None:
    return session.scalars(select(Subject).where(Subject.customer_ref == ref)).one_or_none()


def _load(session: Session, subject_id: uuid.UUID) -> Subject:
    row = session.get(Subject, subject_id)
    if row is None:
        raise SubjectNotFound(f"subject {subject_id} not found")
    return row


def _data_key(keyring: Keyring, row: Subject) -> bytes:
    if row.data_key_wrapped is None:
        raise SubjectErased(f"subject {row.id} has been erased; its data key is destroyed")
    return keyring.unwrap(row.data_key_wrapped)


def _aad(field: str, subject_id: uuid.UUID) -> bytes:
    """Bind a sealed value to its field and subject, so it cannot be moved to another row."""
    return f"subject.{field}:".encode() + subject_id.bytes


def _new_subject_values(
    keyring: Keyring, customer_id: str, ref: str, now: datetime
) -> dict[str, Any]:
    subject_id = uuid.uuid4()
    wrapped = keyring.new_wrapped_data_key()
    sealed = seal(keyring.unwrap(wrapped), customer_id.encode(), _aad("customer_id", subject_id))
    return {
        "id": subject_id,
        "customer_ref": ref,
        "customer_id_sealed": sealed,
        "data_key_wrapped": wrapped,
        "is_restricted": False,
        "objections": [],
        "created_at": now,
        "updated_at": now,
    }


def _insert_ignore(session: Session, values: dict[str, Any]) -> Executable:
    """INSERT ... ON CONFLICT (customer_ref) DO NOTHING on PostgreSQL and SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return (
            pg_insert(Subject)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["customer_ref"])
        )
    return (
        sqlite_insert(Subject)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["customer_ref"])
    )


def _changed(
    session: Session,
    row: Subject,
    now: datetime,
    *,
    action: str,
    detail: dict[str, Any] | None = None,
) -> SubjectRead:
    row.updated_at = now
    session.flush()
    # Audit detail never carries the value itself (no personal data), only what kind of change.
    audit_service.record(
        session, actor="system", action=action, now=now, subject_id=row.id, detail=detail or {}
    )
    return _read(row)


def _read(row: Subject) -> SubjectRead:
    return SubjectRead(
        id=row.id,
        age_band=cast("AgeBand | None", row.age_band),
        has_birth_date=row.birth_date_sealed is not None,
        is_restricted=row.is_restricted,
        objections=list(row.objections or []),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
