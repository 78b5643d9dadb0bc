"""Resolving callers' subject refs in bulk: customer and anonymous ids to subjects and data keys.

A ref is found by the keyed blind index of its normalised id (never the id itself, TH-SEC-01), in a
constant number of queries however many refs come; missing subjects are created (insert-or-ignore,
so concurrent creators agree on one), except for people who were erased (TH-DSR-04); merged
subjects resolve to the profile they were merged into.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Row, bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from rujai.errors import Invalid
from rujai.kit.crypto import Keyring
from rujai.profiles import service as profiles_service
from rujai.profiles.models import Identity, Subject
from rujai.profiles.schemas import ResolvedSubject, SubjectRef
from rujai.profiles.sealing import normalise_identity, seal_value
from rujai.profiles.suppression import CUSTOMER_KIND, suppressed_many

IN_CHUNK = 500  # bound parameters per IN (...), well under SQLite's and PostgreSQL's limits
MAX_MERGE_HOPS = 8
_COLUMNS = (
    Subject.id,
    Subject.data_key_wrapped,
    Subject.merged_into_id,
    Subject.partner_notified_at,
    Subject.serving_version,
)
# Prebuilt Core lookups (expanding IN): building an ORM statement costs more than running it.
_S, _I = Subject.__table__.c, Identity.__table__.c
_CORE = (
    _S.id, _S.data_key_wrapped, _S.merged_into_id, _S.partner_notified_at, _S.serving_version
)  # fmt: skip
_BLINDS: BindParameter[str] = bindparam("blinds", expanding=True)
_BY_CUSTOMER = select(_S.customer_ref.label("blind"), *_CORE).where(_S.customer_ref.in_(_BLINDS))
_BY_ONE_CUSTOMER = select(_S.customer_ref.label("blind"), *_CORE).where(
    _S.customer_ref == bindparam("blind")
)
_BY_ANONYMOUS = (
    select(_I.blind, *_CORE)
    .join_from(Identity.__table__, Subject.__table__, _S.id == _I.subject_id)
    .where(_I.kind == "anonymous", _I.blind.in_(_BLINDS))
)


def resolve_many(
    session: Session,
    *,
    keyring: Keyring,
    refs: Sequence[SubjectRef],
    now: datetime,
    create: bool = True,
) -> dict[SubjectRef, ResolvedSubject]:
    """Map refs to subjects in a constant number of queries, creating missing ones if asked.

    A customer id wins over an anonymous id; merged subjects resolve to the profile they were
    merged into; data keys are unwrapped once per subject (None when shredded).
    """
    blinds, customers, anonymous = _blinds(keyring, refs)
    by_customer = _subjects_by_customer(session, customers)
    by_anonymous = _subjects_by_anonymous(session, anonymous)
    if create:
        missing_c, missing_a = _unknown(customers, by_customer), _unknown(anonymous, by_anonymous)
        created_c, created_a = _create_missing(session, keyring, missing_c, missing_a, now)
        by_customer.update(created_c)
        by_anonymous.update(created_a)
    found = _found(blinds, by_customer, by_anonymous)
    return _resolved(session, keyring, found)


def _unknown(wanted: dict[str, str], found: dict[str, Row[Any]]) -> dict[str, str]:
    """The blinds of ``wanted`` (and the ids behind them) that no subject was found for."""
    return {blind: value for blind, value in wanted.items() if blind not in found}


def _create_missing(
    session: Session,
    keyring: Keyring,
    customers: dict[str, str],
    anonymous: dict[str, str],
    now: datetime,
) -> tuple[dict[str, Row[Any]], dict[str, Row[Any]]]:
    """Create the subjects of unknown customer and anonymous blinds; return them by blind.

    An erased person is not silently re-created (TH-DSR-04): suppressed refs stay unknown, and the
    caller drops their data as erased.
    """
    gone = suppressed_many(
        session, [(CUSTOMER_KIND, b) for b in customers] + [("anonymous", b) for b in anonymous]
    )
    customers = _not_suppressed(customers, CUSTOMER_KIND, gone)
    anonymous = _not_suppressed(anonymous, "anonymous", gone)
    return (
        _create_customers(session, keyring, customers, now),
        _create_anonymous(session, keyring, anonymous, now),
    )


def _not_suppressed(
    missing: dict[str, str], kind: str, gone: set[tuple[str, str]]
) -> dict[str, str]:
    return {blind: value for blind, value in missing.items() if (kind, blind) not in gone}


def resolve_ids(
    session: Session, *, keyring: Keyring, refs: Sequence[SubjectRef]
) -> dict[SubjectRef, uuid.UUID]:
    """Map refs to subject ids as ``resolve_many(create=False)`` does, unwrapping no key (decide).

    Unknown refs and subjects whose data key was destroyed (TH-DSR-04) are left out.
    """
    return {ref: sid for ref, (sid, _version) in resolve_versions(session, keyring, refs).items()}


def resolve_versions(
    session: Session, keyring: Keyring, refs: Sequence[SubjectRef]
) -> dict[SubjectRef, tuple[uuid.UUID, int]]:
    """``resolve_ids`` with each subject's serving version (what serving caches are keyed by)."""
    blinds, customers, anonymous = _blinds(keyring, refs)
    by_customer = _subjects_by_customer(session, customers)
    by_anonymous = _subjects_by_anonymous(session, anonymous)
    found = _found(blinds, by_customer, by_anonymous)
    rows = _follow_merges(session, {row.id: row for row in found.values()})
    finals = {ref: rows[_final(rows, row.id)] for ref, row in found.items()}
    return {
        ref: (row.id, int(row.serving_version))
        for ref, row in finals.items()
        if row.data_key_wrapped is not None
    }


def _found(
    blinds: dict[SubjectRef, tuple[bool, str]], *by_kind: dict[str, Row[Any]]
) -> dict[SubjectRef, Row[Any]]:
    """Each ref's subject row, from ``by_kind`` = (by customer blind, by anonymous blind)."""
    rows = (
        (ref, by_kind[not is_customer].get(blind)) for ref, (is_customer, blind) in blinds.items()
    )
    return {ref: row for ref, row in rows if row is not None}


def _blinds(
    keyring: Keyring, refs: Sequence[SubjectRef]
) -> tuple[dict[SubjectRef, tuple[bool, str]], dict[str, str], dict[str, str]]:
    """Return each ref's (is customer, blind) and the normalised id behind every blind."""
    blinds: dict[SubjectRef, tuple[bool, str]] = {}
    customers: dict[str, str] = {}
    anonymous: dict[str, str] = {}
    for ref in dict.fromkeys(refs):
        if ref.customer_id is not None:
            value = profiles_service.normalise_customer_id(ref.customer_id)
            blinds[ref] = (True, keyring.blind("customer", value))
            customers[blinds[ref][1]] = value
        elif ref.anonymous_id is not None:
            value = normalise_identity("anonymous", ref.anonymous_id)
            blinds[ref] = (False, keyring.blind("anonymous", value))
            anonymous[blinds[ref][1]] = value
        else:
            raise Invalid("customer_id or anonymous_id is required", field="customer_id")
    return blinds, customers, anonymous


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(values)
    return (items[i : i + IN_CHUNK] for i in range(0, len(items), IN_CHUNK))


def _subjects_by_customer(session: Session, blinds: Iterable[str]) -> dict[str, Row[Any]]:
    wanted = list(blinds)
    if len(wanted) == 1:  # decide's case: a plain equality, no expanding IN to compile
        # On the connection: a Core statement needs none of the ORM's execution machinery.
        row = session.connection().execute(_BY_ONE_CUSTOMER, {"blind": wanted[0]}).first()
        return {str(row.blind): row} if row is not None else {}  # type: ignore[dict-item]
    found: dict[str, Row[Any]] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(_BY_CUSTOMER, {"blinds": chunk})
        found.update({row.blind: row for row in rows})
    return found


def _subjects_by_anonymous(session: Session, blinds: Iterable[str]) -> dict[str, Row[Any]]:
    found: dict[str, Row[Any]] = {}
    for chunk in _chunks(blinds):
        rows = session.execute(_BY_ANONYMOUS, {"blinds": chunk})
        found.update({row.blind: row for row in rows})
    return found


def _new_subject(keyring: Keyring, now: datetime) -> tuple[dict[str, Any], bytes]:
    wrapped = keyring.new_wrapped_data_key()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "customer_ref": None,
        "customer_id_sealed": None,
        "data_key_wrapped": wrapped,
        "is_restricted": False,
        "objections": [],
        "created_at": now,
        "updated_at": now,
    }
    return values, keyring.unwrap(wrapped)


def _create_customers(
    session: Session, keyring: Keyring, missing: dict[str, str], now: datetime
) -> dict[str, Row[Any]]:
    """Insert-or-ignore one subject per customer blind; return what the table now holds."""
    if not missing:
        return {}
    rows = []
    for blind, customer_id in missing.items():
        values, key = _new_subject(keyring, now)
        values["customer_ref"] = blind
        values["customer_id_sealed"] = seal_value(
            key, values["id"], "customer_id", customer_id.encode()
        )
        rows.append(values)
    session.execute(insert_ignore(session, Subject, ["customer_ref"]), rows)
    return _subjects_by_customer(session, missing)


def _create_anonymous(
    session: Session, keyring: Keyring, missing: dict[str, str], now: datetime
) -> dict[str, Row[Any]]:
    """Create a subject and its anonymous identity per blind; a concurrent creator's row wins."""
    if not missing:
        return {}
    subjects: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    for blind, anonymous_id in missing.items():
        values, key = _new_subject(keyring, now)
        subjects.append(values)
        sealed = seal_value(key, values["id"], "identity.anonymous", anonymous_id.encode())
        identities.append(identity_values(values["id"], "anonymous", blind, sealed, False, now))
    session.execute(insert(Subject), subjects)
    session.execute(insert_ignore(session, Identity, ["kind", "blind"]), identities)
    found = _subjects_by_anonymous(session, missing)
    winners = {row.id for row in found.values()}
    losers = [s["id"] for s in subjects if s["id"] not in winners]
    for chunk in _chunks(losers):
        session.execute(delete(Subject).where(Subject.id.in_(chunk)))
    return found


def identity_values(
    subject_id: uuid.UUID, kind: str, blind: str, sealed: bytes, verified: bool, now: datetime
) -> dict[str, Any]:
    """Return the column values of a new identity row."""
    return {
        "id": uuid.uuid4(),
        "subject_id": subject_id,
        "kind": kind,
        "blind": blind,
        "value_sealed": sealed,
        "is_verified": verified,
        "created_at": now,
    }


def insert_ignore(session: Session, table: Any, keys: list[str]) -> Executable:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, on PostgreSQL and SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)


def _resolved(
    session: Session, keyring: Keyring, found: dict[SubjectRef, Row[Any]]
) -> dict[SubjectRef, ResolvedSubject]:
    rows = _follow_merges(session, {row.id: row for row in found.values()})
    cache: dict[uuid.UUID, ResolvedSubject] = {}
    result: dict[SubjectRef, ResolvedSubject] = {}
    for ref, found_row in found.items():
        final = _final(rows, found_row.id)
        if final not in cache:
            row = rows[final]
            key = None if row.data_key_wrapped is None else keyring.unwrap(row.data_key_wrapped)
            cache[final] = ResolvedSubject(
                subject_id=final,
                data_key=key,
                partner_notified=row.partner_notified_at is not None,
            )
        result[ref] = cache[final]
    return result


def _follow_merges(
    session: Session, loaded: dict[uuid.UUID, Row[Any]]
) -> dict[uuid.UUID, Row[Any]]:
    """Add, hop by hop, the profiles the loaded subjects were merged into (rarely any)."""
    for _ in range(MAX_MERGE_HOPS):
        pending = {
            row.merged_into_id
            for row in loaded.values()
            if row.merged_into_id is not None and row.merged_into_id not in loaded
        }
        if not pending:
            break
        for chunk in _chunks(pending):
            rows = session.execute(select(*_COLUMNS).where(Subject.id.in_(chunk)))
            loaded.update({row.id: row for row in rows})
    return loaded


def _final(rows: dict[uuid.UUID, Row[Any]], subject_id: uuid.UUID) -> uuid.UUID:
    current = subject_id
    for _ in range(MAX_MERGE_HOPS):
        target = rows[current].merged_into_id
        if target is None or target not in rows:
            return current
        current = target
    return current
