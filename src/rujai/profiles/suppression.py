"""Suppression (TH-DSR-04): what is left of an erased person is their blind indexes, nothing else.

Erasure (``rights.erasure``) writes, through this module, one ``suppression`` row per blind index
of an erased person (the customer ref and every identity); a later import or ingest of the same
identifier can then be flagged instead of silently re-creating the person. Profiles owns the table
because it owns identities: resolution checks it without calling up into ``rights``. The values
themselves are never kept: a blind index is a keyed HMAC that only this installation's keyring can
recompute from a known value.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rujai.profiles.models import Suppression

CUSTOMER_KIND = "customer"  # the kind of a customer ref's suppression (identities use theirs)
IN_CHUNK = 500  # bound parameters per IN (...)


def suppress(
    session: Session,
    blinds: Sequence[tuple[str, str]],
    *,
    request_id: uuid.UUID | None,
    now: datetime,
) -> int:
    """Keep the blind indexes of an erased person (never the values); return how many are new."""
    rows = [
        {"kind": kind, "blind": blind, "request_id": request_id, "created_at": now}
        for kind, blind in dict.fromkeys(blinds)
    ]
    if not rows:
        return 0
    known = suppressed_many(session, rows)
    fresh = [row for row in rows if (row["kind"], row["blind"]) not in known]
    if fresh:
        session.execute(_insert_ignore(session), fresh)
    return len(fresh)


def _insert_ignore(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(Suppression).on_conflict_do_nothing(index_elements=["kind", "blind"])
    return sqlite_insert(Suppression).on_conflict_do_nothing(index_elements=["kind", "blind"])


def is_suppressed(session: Session, kind: str, blind: str) -> bool:
    """Return True when this blind index belongs to an erased person (TH-DSR-04)."""
    found = session.scalar(
        select(Suppression.blind).where(Suppression.kind == kind, Suppression.blind == blind)
    )
    return found is not None


def suppressed_many(
    session: Session, pairs: Iterable[tuple[str, str] | dict[str, Any]]
) -> set[tuple[str, str]]:
    """Return which of these (kind, blind) pairs are suppressed, one query per kind and chunk."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for pair in pairs:
        kind, blind = (pair["kind"], pair["blind"]) if isinstance(pair, dict) else pair
        by_kind[kind].append(blind)
    found: set[tuple[str, str]] = set()
    for kind, blinds in by_kind.items():
        for start in range(0, len(blinds), IN_CHUNK):
            chunk = blinds[start : start + IN_CHUNK]
            rows = session.scalars(
                select(Suppression.blind).where(
                    Suppression.kind == kind, Suppression.blind.in_(chunk)
                )
            )
            found.update((kind, blind) for blind in rows)
    return found
