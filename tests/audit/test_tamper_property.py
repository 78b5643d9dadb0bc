"""Property: changing any stored field of any entry in a random chain is detected (TH-SEC-01)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.audit.models import AuditEntry
from tests.audit.chain import T0, tamper

FIELDS = (
    "seq", "at", "actor", "action", "subject_id", "purpose", "outcome", "detail",
    "prev_hash", "hash",
)  # fmt: skip

_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8)
_details = st.dictionaries(
    st.sampled_from(["count", "reason", "flag", "ratio", "items", "นับ"]),
    st.one_of(
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
        _text,
        st.lists(st.integers(0, 9), max_size=3),
    ),
    max_size=4,
)
_entries = st.lists(
    st.fixed_dictionaries(
        {
            "actor": st.sampled_from(["system", "cli", "key:5b3c0f5e-0000-4000-8000-000000000001"]),
            "action": st.sampled_from(["policy.decide", "consent.grant", "rights.export"]),
            "subject_id": st.one_of(st.none(), st.uuids(version=4)),
            "purpose": st.one_of(st.none(), st.sampled_from(["recommendations", "marketing"])),
            "outcome": st.one_of(st.none(), st.sampled_from(["allow", "deny"])),
            "detail": _details,
            "offset_us": st.integers(0, 10**9),
        }
    ),
    min_size=1,
    max_size=6,
)


def _tampered(field: str, value: Any, length: int) -> Any:
    """Return a value that differs from ``value`` and is storable in ``field``."""
    if field == "seq":
        return length + 100
    if field == "at":
        return value + timedelta(microseconds=1)
    if field in ("prev_hash", "hash"):
        return value[:-1] + ("0" if value[-1] != "0" else "1")
    if field == "detail":
        return {**value, "tampered": True}
    if field == "subject_id":
        return None if value is not None else uuid.uuid4()
    if field in ("purpose", "outcome"):
        return None if value is not None else "x"
    return value + "x"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(entries=_entries, data=st.data())
def test_any_single_field_tampering_of_any_entry_is_detected(
    engine: Engine, entries: list[dict[str, Any]], data: st.DataObject
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            with Session(bind=conn) as s:
                for e in entries:
                    at = T0 + timedelta(microseconds=e.pop("offset_us"))
                    audit_service.record(s, now=at, **e)
                assert audit_service.verify(s).ok
                seq = data.draw(st.integers(1, len(entries)), label="seq")
                field = data.draw(st.sampled_from(FIELDS), label="field")
                original = s.execute(
                    select(getattr(AuditEntry, field)).where(AuditEntry.seq == seq)
                )
                tamper(conn, seq, **{field: _tampered(field, original.scalar_one(), len(entries))})
                report = audit_service.verify(s)
            assert not report.ok
            assert report.first_bad_seq == seq, report
        finally:
            outer.rollback()
