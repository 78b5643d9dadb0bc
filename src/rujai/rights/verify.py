"""Prove an erasure reached everything (DESIGN invariant 3, TH-DSR-04): a scan of every table.

``scan`` walks ``Base.metadata`` — every table the application has, never a hand-kept list — and
reports as a leftover:

- any row whose subject column (``subject_id``, ``*_subject_id``, any foreign key to ``subject.id``,
  and ``subject.id`` itself) holds one of the subject's ids;
- any string column holding the subject's customer id (exact match) or containing one of the blind
  indexes the erasure suppressed (the customer ref and the identity blinds), except the
  ``suppression`` table, which keeps exactly those blinds by design;
- any JSON column containing the subject's UUID or one of those needles;
- a recommender that still counts the subject: the newest model must hold exactly the rows of its
  ``recommender_member`` table, checked against a retrain from scratch over those rows when the
  catalogue is small enough for that to be cheap.

The audit log is the one documented exception: it keeps the pseudonymous subject UUID by design
(accountability, TH-SEC-01; see ``rujai.audit.service``), so its subject column and UUIDs in its
``detail`` are not leftovers. Its ``detail`` is still searched for the customer id and the blinds,
which would be personal data there.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Column, ColumnElement, String, Table, Text, cast, func, or_, select
from sqlalchemy.orm import Session

import rujai.models_registry  # noqa: F401 - fills Base.metadata with every domain's tables
from rujai.audit import service as audit_service
from rujai.db import Base
from rujai.kit.crypto import Keyring
from rujai.personalize.recommender import EaseModel
from rujai.profiles import service as profiles_service

AUDIT_TABLE = "audit_entry"  # keeps pseudonymous subject UUIDs by design (see the module doc)
SUPPRESSION_TABLE = "suppression"  # keeps blind indexes by design (TH-DSR-04)
SUBJECT_TABLE = "subject"
ERASE_START = "rights.erase.start"
REFERENCE_MAX_ITEMS = 3000  # above this a retrain-from-scratch reference is not cheap: skipped
AUDIT_LOOKUP_LIMIT = 500


class Leftover(BaseModel):
    """Rows of one column that still hold something of the erased subject."""

    model_config = ConfigDict(frozen=True)

    table: str
    column: str
    rows: int
    why: str = Field(
        description=(
            "subject_id | customer_id | blind_index | uuid_in_json | personal_data_in_json | model"
        )
    )


class ModelCheck(BaseModel):
    """What the newest recommender version holds (TH-DSR-04: models are copies too)."""

    model_config = ConfigDict(frozen=True)

    version: str | None
    is_member: bool
    matches_reference: bool | None = Field(
        description="Equal to a retrain from its member rows; None when skipped."
    )
    note: str


class VerifyReport(BaseModel):
    """The result of a scan: every leftover found, and what was searched (no personal data)."""

    model_config = ConfigDict(frozen=True)

    subject_ids: list[uuid.UUID]
    needles: int = Field(description="How many blind indexes and identifiers were searched.")
    tables_scanned: int
    leftovers: list[Leftover]
    model: ModelCheck

    @property
    def is_clean(self) -> bool:
        """True when nothing of the subject was found."""
        return not self.leftovers


def scan(
    session: Session,
    *,
    keyring: Keyring,
    customer_id: str | None = None,
    subject_id: uuid.UUID | None = None,
    extra_needles: Sequence[str] = (),
) -> VerifyReport:
    """Search every table for what is left of a subject (TH-DSR-04); see the module doc."""
    ids, blinds = _targets(session, keyring, customer_id, subject_id)
    exact = [customer_id.strip()] if customer_id else []
    needles = [*blinds, *(n for n in extra_needles if n)]
    tables = Base.metadata.sorted_tables
    leftovers = [
        found for table in tables for found in _scan_table(session, table, ids, exact, needles)
    ]
    model = check_model(session, ids)
    if model.is_member or model.matches_reference is False:
        leftovers.append(Leftover(table="recommender_model", column="blob", rows=1, why="model"))
    return VerifyReport(
        subject_ids=sorted(ids),
        needles=len(exact) + len(needles),
        tables_scanned=len(tables),
        leftovers=leftovers,
        model=model,
    )


def subject_rows(
    session: Session, subject_ids: Collection[uuid.UUID], *, skip: Collection[str] = ()
) -> dict[str, int]:
    """Count, per table, the rows whose subject columns hold one of ``subject_ids``.

    One statement of scalar subqueries (each on an indexed subject column): one round trip.
    """
    if not subject_ids:
        return {}
    ids = list(subject_ids)
    counted = [
        (table.name, select(func.count()).select_from(table).where(column.in_(ids)))
        for table in Base.metadata.sorted_tables
        if table.name not in skip
        for column in subject_columns(table)
    ]
    row = session.execute(
        select(*(query.scalar_subquery().label(f"n{i}") for i, (_, query) in enumerate(counted)))
    ).one()
    counts: dict[str, int] = {}
    for (name, _), found in zip(counted, row, strict=True):
        if found:
            counts[name] = counts.get(name, 0) + int(found)
    return counts


def subject_columns(table: Table) -> list[Column[Any]]:
    """Return the columns of ``table`` that name a subject (by name or by foreign key)."""
    columns = [
        column
        for column in table.columns
        if column.name == "subject_id"
        or column.name.endswith("_subject_id")
        or any(fk.target_fullname == f"{SUBJECT_TABLE}.id" for fk in column.foreign_keys)
    ]
    if table.name == SUBJECT_TABLE:
        columns.insert(0, table.c.id)
    return columns


# --- what to look for ----------------------------------------------------------------------------


def _targets(
    session: Session, keyring: Keyring, customer_id: str | None, subject_id: uuid.UUID | None
) -> tuple[set[uuid.UUID], list[str]]:
    """Return the subject ids and blind indexes to look for.

    After an erasure the customer id no longer resolves, but its blind index is in ``suppression``
    with the request id; the request's ``rights.erase.start`` audit entry names the subject UUID,
    and the other blinds suppressed by that request are the subject's identities.
    """
    ids: set[uuid.UUID] = {subject_id} if subject_id else set()
    blinds: list[str] = []
    if customer_id is not None:
        normalised = profiles_service.normalise_customer_id(customer_id)
        customer_blind = keyring.blind("customer", normalised)
        blinds.append(customer_blind)
        found = profiles_service.find_id(session, keyring=keyring, customer_id=normalised)
        if found is not None:
            ids.add(found)
        requests = _suppressing_requests(session, customer_blind)
        blinds += [b for b in _blinds_of_requests(session, requests) if b != customer_blind]
        ids |= _erased_subjects(session, requests)
    return ids, blinds


def _suppression() -> Table:
    return Base.metadata.tables[SUPPRESSION_TABLE]


def _suppressing_requests(session: Session, customer_blind: str) -> set[uuid.UUID]:
    table = _suppression()
    rows = session.execute(
        select(table.c.request_id).where(
            table.c.kind == "customer", table.c.blind == customer_blind
        )
    )
    return {row.request_id for row in rows if row.request_id is not None}


def _blinds_of_requests(session: Session, requests: Collection[uuid.UUID]) -> list[str]:
    if not requests:
        return []
    table = _suppression()
    rows = session.execute(select(table.c.blind).where(table.c.request_id.in_(list(requests))))
    return sorted({row.blind for row in rows})


def _erased_subjects(session: Session, requests: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Page back through ``rights.erase.start`` entries until every request is found."""
    wanted, found = {str(r) for r in requests}, set[uuid.UUID]()
    before: int | None = None
    while wanted:
        entries = audit_service.list_entries(
            session, action=ERASE_START, limit=AUDIT_LOOKUP_LIMIT, before_seq=before
        )
        for entry in entries:
            if entry.subject_id is not None and entry.detail.get("request_id") in wanted:
                found.add(entry.subject_id)
                wanted.discard(entry.detail["request_id"])
        if len(entries) < AUDIT_LOOKUP_LIMIT:
            break
        before = entries[-1].seq
    return found


# --- scanning ------------------------------------------------------------------------------------


def _scan_table(
    session: Session,
    table: Table,
    ids: Collection[uuid.UUID],
    exact: Sequence[str],
    needles: Sequence[str],
) -> Iterable[Leftover]:
    checks: list[tuple[Column[Any], ColumnElement[bool], str]] = []
    if table.name != AUDIT_TABLE and ids:
        checks += [(c, c.in_(list(ids)), "subject_id") for c in subject_columns(table)]
    for column in table.columns:
        if isinstance(column.type, JSON):
            checks += _json_checks(table, column, ids, exact, needles)
        elif isinstance(column.type, String) and table.name != SUPPRESSION_TABLE:
            checks += _string_checks(column, exact, needles)
    for column, condition, why in checks:
        rows = _count(session, table, condition)
        if rows:
            yield Leftover(table=table.name, column=column.name, rows=rows, why=why)


def _string_checks(
    column: Column[Any], exact: Sequence[str], needles: Sequence[str]
) -> list[tuple[Column[Any], ColumnElement[bool], str]]:
    checks: list[tuple[Column[Any], ColumnElement[bool], str]] = []
    if exact:
        checks.append((column, column.in_(list(exact)), "customer_id"))
    if needles:
        contains = [column.contains(n, autoescape=True) for n in needles]
        checks.append((column, or_(*contains), "blind_index"))
    return checks


def _json_checks(
    table: Table,
    column: Column[Any],
    ids: Collection[uuid.UUID],
    exact: Sequence[str],
    needles: Sequence[str],
) -> list[tuple[Column[Any], ColumnElement[bool], str]]:
    text = cast(column, Text)
    checks: list[tuple[Column[Any], ColumnElement[bool], str]] = []
    uuids = [form for i in ids for form in (str(i), i.hex)] if table.name != AUDIT_TABLE else []
    if uuids:
        checks.append((column, or_(*(text.contains(u) for u in uuids)), "uuid_in_json"))
    quoted = [f'"{value}"' for value in exact]  # the customer id as a JSON string
    if quoted or needles:
        found = [text.contains(n, autoescape=True) for n in (*quoted, *needles)]
        checks.append((column, or_(*found), "personal_data_in_json"))
    return checks


def _count(session: Session, table: Table, condition: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(table).where(condition)) or 0)


# --- the recommender -----------------------------------------------------------------------------


def check_model(session: Session, subject_ids: Collection[uuid.UUID]) -> ModelCheck:
    """Check the newest recommender version: no erased member, and exactly its member rows."""
    members = Base.metadata.tables["recommender_member"]
    is_member = bool(subject_ids) and bool(
        _count(session, members, members.c.subject_id.in_(list(subject_ids)))
    )
    models = Base.metadata.tables["recommender_model"]
    newest = session.execute(
        select(models.c.version, models.c.item_ids, models.c.blob)
        .order_by(models.c.id.desc())
        .limit(1)
    ).one_or_none()
    if newest is None or not newest.blob:
        return ModelCheck(
            version=None, is_member=is_member, matches_reference=None, note="no model"
        )
    model = EaseModel.from_bytes(newest.blob)
    if model.items.size > REFERENCE_MAX_ITEMS:
        note = f"reference skipped: {model.items.size} items is too many to retrain cheaply"
        return ModelCheck(
            version=newest.version, is_member=is_member, matches_reference=None, note=note
        )
    rows = [list(r.item_ids) for r in session.execute(select(members.c.item_ids))]
    matches = _matches_reference(model, newest.blob, list(newest.item_ids), rows)
    note = "equals a retrain from its member rows" if matches else "differs from its member rows"
    return ModelCheck(
        version=newest.version, is_member=is_member, matches_reference=matches, note=note
    )


def _matches_reference(
    model: EaseModel, blob: bytes, item_ids: list[str], rows: list[list[str]]
) -> bool:
    """Retrain from scratch on the member rows (same items, same l2) and compare the content."""
    if len(rows) != model.n_users:
        return False
    if not rows:
        return True
    column = {item: j for j, item in enumerate(item_ids)}
    indices = [sorted({column[i] for i in row if i in column}) for row in rows]
    data_rows = np.repeat(np.arange(len(indices)), [len(r) for r in indices])
    cols = np.array([j for r in indices for j in r], dtype=np.int64)
    x = sp.csr_matrix((np.ones(cols.size), (data_rows, cols)), shape=(len(indices), model.n_items))
    with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
        l2 = float(stored["l2"])  # the documented npz layout of EaseModel.to_bytes
    reference = EaseModel.fit(x, l2=l2, items=model.items, generation=model.generation)
    return reference.version == model.version
