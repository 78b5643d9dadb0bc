"""Import a CSV of identities the brand verified itself (``rujai profiles import-verified``).

Columns: ``customer_id,kind,value,verified_at,method,evidence_ref`` (``evidence_ref`` optional).
Every good row is recorded through ``verified.record_verified`` (sealed, blind-indexed, audited
without the value, TH-SEC-01); a bad row is reported with its line and field and nothing of it is
written, and the others are kept. One audit entry sums up the file: counts only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import AppError
from rujai.kit.crypto import Keyring
from rujai.profiles import verified
from rujai.profiles.schemas import VerifiedIdentityCreate

COLUMNS = ("customer_id", "kind", "value", "verified_at", "method", "evidence_ref")
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


class _RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _one(
    session: Session, keyring: Keyring, row: dict[str, str | None], now: datetime, actor: str
) -> bool:
    """Record one row; return whether the identity is new; raise _RowError naming the field."""
    customer_id = (row.get("customer_id") or "").strip()
    if not customer_id:
        raise _RowError("customer_id", "customer_id is required")
    data = {c: v.strip() for c in COLUMNS[1:] if (v := row.get(c))}
    try:
        body = VerifiedIdentityCreate.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "row"
        raise _RowError(field, first["msg"]) from None
    try:
        return verified.record_verified(
            session, keyring=keyring, customer_id=customer_id, body=body, now=now, actor=actor
        ).is_new
    except AppError as error:
        raise _RowError(error.field or "row", error.message) from None
