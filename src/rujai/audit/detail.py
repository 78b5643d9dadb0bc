"""Validating and normalising an audit entry's fields: what is stored is exactly what is hashed.

``detail`` refuses keys that look like personal data (STYLE §3.6, TH-SEC-01): entries name subjects
only by their pseudonymous UUID.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

_LENGTHS = {"actor": 64, "action": 64, "purpose": 63, "outcome": 32}

# Detail keys that look like personal data (STYLE §3.6): exact keys, and words marking any key.
_PII_KEYS = frozenset(
    {
        "name", "first_name", "last_name", "full_name", "display_name", "username", "nickname",
        "customer_id", "external_id", "user_agent", "useragent", "dob", "birthday", "birth_date",
        "national_id", "citizen_id", "tax_id", "line_id", "ssn", "identifier", "identifiers",
    }
)  # fmt: skip
_PII_WORDS = frozenset(
    {"email", "phone", "mobile", "msisdn", "ip", "address", "birth", "passport", "postcode"}
)
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


def entry_fields(
    actor: str,
    action: str,
    now: datetime,
    subject_id: UUID | None,
    purpose: str | None,
    outcome: str | None,
    detail: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Validate and normalise the fields to store; what is stored is exactly what is hashed."""
    if now.tzinfo is None:
        raise ValueError("audit time must be timezone-aware")
    texts = {"actor": actor, "action": action, "purpose": purpose, "outcome": outcome}
    for key, value in texts.items():
        if value is not None and not 0 < len(value) <= _LENGTHS[key]:
            raise ValueError(f"audit {key} must be 1 to {_LENGTHS[key]} characters")
        if value is not None:
            _check_text(value)
    if "@" in actor:
        raise ValueError("audit actor must not be an e-mail address; use an internal id")
    return {**texts, "at": utc(now), "subject_id": subject_id, "detail": _normalise_detail(detail)}


def _normalise_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``detail`` as plain JSON data with canonical numbers; refuse personal-data keys."""
    if detail is None:
        return {}
    try:
        plain = json.loads(json.dumps(dict(detail), allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ValueError(f"audit detail must be JSON-serialisable: {e}") from e
    _refuse_personal_keys(plain)
    normalised: dict[str, Any] = canonical_numbers(plain)
    return normalised


def _refuse_personal_keys(value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _refuse_personal_keys(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            if _looks_personal(key):
                raise ValueError(
                    f"audit detail key {key!r} looks like personal data; "
                    "refer to subjects by UUID only"
                )
            _refuse_personal_keys(item)
    elif isinstance(value, str):
        _check_text(value)


def _check_text(value: str) -> None:
    """Refuse what PostgreSQL JSONB or UTF-8 cannot store: NUL and lone surrogates."""
    if "\x00" in value:
        raise ValueError("audit text must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError as e:
        raise ValueError("audit text must be valid Unicode") from e


def _looks_personal(key: str) -> bool:
    lowered = key.strip().lower()
    words = set(_WORD_SPLIT.split(lowered))
    return lowered in _PII_KEYS or bool(words & _PII_WORDS)


def canonical_numbers(value: Any) -> Any:
    """Write integral floats as ints: PostgreSQL JSONB returns 1e16 as an int, SQLite as a float."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): canonical_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_numbers(v) for v in value]
    return value


def utc(value: datetime) -> datetime:
    """Return ``value`` in UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
