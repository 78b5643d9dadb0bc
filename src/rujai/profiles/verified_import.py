"""Import identities the brand verified itself in bulk: a CSV (``rujai profiles import-verified``)
or a batch (``POST /v1/identities/verified``), each item on its own.

Columns: ``customer_id,kind,value,verified_at,method,evidence_ref`` (``evidence_ref`` optional).
Every good row is recorded through ``verified.record_verified`` (sealed, blind-indexed, audited
without the value, TH-SEC-01); a bad row is reported with its line and field and nothing of it is
written, and the others are kept. One audit entry sums up the file: counts only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import AppError
from rujai.kit import inputs
from rujai.kit.crypto import Keyring
from rujai.profiles import verified
from rujai.profiles.schemas import VerifiedIdentityCreate, VerifiedIdentityRead

COLUMNS = ("customer_id", "kind", "value", "verified_at", "method", "evidence_ref")
CUSTOMER_ID_MAX = 128
REQUIRED = ("customer_id", "kind", "value", "verified_at", "method")


class VerifiedLineError(BaseModel):
    """One refused row: where, which field, why (never the value)."""

    model_config = ConfigDict(frozen=True)

    line: int
    field: str
    message: str


class VerifiedImportReport(BaseModel):
    """How many rows were recorded, and the refused ones."""

    model_config = ConfigDict(frozen=True)

    recorded: int
    new: int
    errors: list[VerifiedLineError]


def import_verified(
    session: Session, *, keyring: Keyring, lines: Iterable[str], now: datetime, actor: str
) -> VerifiedImportReport:
    """Record every good row of the CSV; report each bad one with its line and field."""
    reader = csv.DictReader(lines)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        error = VerifiedLineError(line=1, field=missing[0], message="missing column")
        return VerifiedImportReport(recorded=0, new=0, errors=[error])
    recorded = new = 0
    errors: list[VerifiedLineError] = []
    for row in reader:
        line = reader.line_num
        try:
            read = _one(session, keyring, row, now, actor)
        except _RowError as error:
            errors.append(VerifiedLineError(line=line, field=error.field, message=error.message))
            continue
        recorded, new = recorded + 1, new + int(read)
    audit_service.record(
        session, actor=actor, action="identity.verified_import", now=now, outcome="recorded",
        detail={"recorded": recorded, "new": new, "refused": len(errors)},
    )  # fmt: skip
    return VerifiedImportReport(recorded=recorded, new=new, errors=errors)


MAX_BATCH = 1000


class VerifiedBatchCreate(BaseModel):
    """``POST /v1/identities/verified``: items of a ``customer_id`` and the identity fields."""

    __personal__: ClassVar[bool] = True  # carries identifiers

    model_config = ConfigDict(extra="forbid")
    # The input boundary (rujai.boundary) leaves these items to ``record_batch``, one by one.
    boundary_items: ClassVar[tuple[str, ...]] = ("items",)

    items: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


class VerifiedItemResult(BaseModel):
    """What happened to one item: recorded (with the identity id) or refused (field, why)."""

    model_config = ConfigDict(frozen=True)

    index: int
    status: str  # recorded | refused
    identity_id: str | None = None
    field: str | None = None
    message: str | None = None


class VerifiedBatchRead(BaseModel):
    """Counts and one result per item, in order; never an identifier."""

    model_config = ConfigDict(frozen=True)

    recorded: int
    refused: int
    results: list[VerifiedItemResult]


def record_batch(
    session: Session, *, keyring: Keyring, body: VerifiedBatchCreate, now: datetime, actor: str
) -> VerifiedBatchRead:
    """Record every good item of a batch; refuse each bad one naming its field (TH-SEC-01)."""
    results = [
        _batch_item(session, keyring, i, item, now, actor) for i, item in enumerate(body.items)
    ]
    recorded = sum(r.status == "recorded" for r in results)
    audit_service.record(
        session, actor=actor, action="identity.verified_import", now=now, outcome="recorded",
        detail={"recorded": recorded, "refused": len(results) - recorded},
    )  # fmt: skip
    return VerifiedBatchRead(recorded=recorded, refused=len(results) - recorded, results=results)


def _batch_item(
    session: Session, keyring: Keyring, index: int, item: Any, now: datetime, actor: str
) -> VerifiedItemResult:
    problem = inputs.find_problem(item)
    try:
        if problem is not None:
            raise _RowError(".".join(str(p) for p in problem.loc) or "item", problem.message)
        if not isinstance(item, dict):
            raise _RowError("item", "must be an object")
        identity_id = _record(session, keyring, item, now, actor).id
    except _RowError as error:
        return VerifiedItemResult(
            index=index, status="refused", field=error.field, message=error.message
        )
    return VerifiedItemResult(index=index, status="recorded", identity_id=str(identity_id))


class _RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _one(
    session: Session, keyring: Keyring, row: dict[str, str | None], now: datetime, actor: str
) -> bool:
    """Record one CSV row; return whether the identity is new; raise _RowError naming the field."""
    data: dict[str, Any] = {c: v.strip() for c in COLUMNS if (v := row.get(c))}
    return _record(session, keyring, data, now, actor).is_new


def _record(
    session: Session, keyring: Keyring, data: dict[str, Any], now: datetime, actor: str
) -> VerifiedIdentityRead:
    """Validate and record one item; raise _RowError naming the field (never the value)."""
    fields = dict(data)
    customer_id = fields.pop("customer_id", None)
    if not isinstance(customer_id, str) or not customer_id.strip():
        raise _RowError("customer_id", "customer_id is required")
    if len(customer_id) > CUSTOMER_ID_MAX:
        raise _RowError("customer_id", f"at most {CUSTOMER_ID_MAX} characters")
    try:
        body = VerifiedIdentityCreate.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "item"
        raise _RowError(field, first["msg"]) from None
    try:
        return verified.record_verified(
            session, keyring=keyring, customer_id=customer_id, body=body, now=now, actor=actor
        )
    except AppError as error:
        raise _RowError(error.field or "item", error.message) from None
