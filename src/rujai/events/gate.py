"""The checks an event passes before it is stored: declared properties and the consent gate.

No I/O here. ``EventChecker`` checks type, time and subject ids, keeps only the properties the
policy declares for the event type (TH-MIN-02), coerces their values where that is unambiguous, and
masks or rejects Thai identifiers in free text; ``ConsentGate`` answers whether any purpose
currently permits collecting a category of a subject (DESIGN "track"), once per subject and
category. Problems name the property or field, never its value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, Protocol

from rujai.events.schemas import MAX_FUTURE, OLDEST, new_message_id, timestamp_problem
from rujai.kit.thai_pii import find_pii, mask_pii
from rujai.policy.rules import Action, SubjectFacts, decide
from rujai.policy.schemas import EventType, Policy
from rujai.profiles.schemas import SubjectRef

# Why an event is dropped: stable codes, shown to the client and counted (no personal data).
UNKNOWN_EVENT_TYPE = "unknown_event_type"
INVALID_TIMESTAMP = "invalid_timestamp"
INVALID_IDENTITY = "invalid_identity"
INVALID_MESSAGE_ID = "invalid_message_id"
INVALID_PROPERTIES = "invalid_properties"
INVALID_EVENT = "invalid_event"  # a batch's event broke the input rules or the schema
PII_REJECTED = "pii_rejected"
SUBJECT_ERASED = "subject_erased"
NO_PERMITTING_PURPOSE = "no_permitting_purpose"

MAX_ID = 128  # message ids and customer ids
MAX_ANONYMOUS_ID = 255

_DIGIT = "[0-9\u0e50-\u0e59]"
_DIGIT_RUN = re.compile(f"{_DIGIT}(?:[- ]?{_DIGIT}){{8}}")
_INTEGER_RE = re.compile(r"-?[0-9]{1,18}")
_NUMBER_RE = re.compile(r"-?[0-9]{1,18}(?:\.[0-9]{1,18})?(?:[eE][-+]?[0-9]{1,3})?")
_MAX_INT = 2**63
_BOOLEANS = {"true": True, "false": False}

Coerced = tuple[Any, str | None]


class Checked(NamedTuple):
    """Kept properties (None when the event is dropped), undeclared names, drop reason, detail."""

    properties: dict[str, Any] | None
    dropped: list[str]
    reason: str | None = None
    detail: str | None = None


class IncomingEvent(Protocol):
    """What ingest reads from an event: a ``TrackEvent`` (API) or a ``RawEvent`` (imports)."""

    @property
    def type(self) -> str: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def anonymous_id(self) -> str | None: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def properties(self) -> Mapping[str, Any]: ...


@dataclass(slots=True)
class Candidate:
    """An event that passed the checks that need no database, ready for the consent gate."""

    index: int
    message_id: str
    type: str
    category: str
    occurred_at: datetime
    ref: SubjectRef
    properties: dict[str, Any]
    dropped: list[str]


class Drop(NamedTuple):
    """Why one event is dropped; ``detail`` names a property or field, never a value."""

    reason: str
    detail: str | None = None
    dropped: list[str] | None = None


class _Property(NamedTuple):
    """A declared property, flattened for the hot path."""

    name: str
    required: bool
    coerce: Callable[[Any], Coerced]
    max_length: int
    pii: str


class _Type(NamedTuple):
    category: str
    properties: tuple[_Property, ...]
    declared: frozenset[str]


def _compile(event_type: EventType) -> _Type:
    props = tuple(
        _Property(name, spec.required, _COERCE[spec.type], spec.max_length, spec.pii)
        for name, spec in event_type.properties.items()
    )
    return _Type(event_type.category, props, frozenset(event_type.properties))


class EventChecker:
    """The checks that need no database, with the policy's event types compiled once per batch."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self._types = {name: _compile(t) for name, t in policy.event_types.items()}
        self._now = now
        self._latest = now + MAX_FUTURE

    def check(self, event: IncomingEvent, index: int, message_id: str) -> Candidate | Drop:
        """Check type, message id, time, subject ids and properties of one event."""
        compiled = self._types.get(event.type)
        if compiled is None:
            return Drop(UNKNOWN_EVENT_TYPE, "type")
        if len(message_id) > MAX_ID:
            return Drop(INVALID_MESSAGE_ID, f"message_id: longer than {MAX_ID} characters")
        occurred_at = event.timestamp
        problem = self._time_problem(occurred_at)
        if problem is not None:
            return Drop(INVALID_TIMESTAMP, f"timestamp: {problem}")
        ref = subject_ref(event.customer_id, event.anonymous_id)
        if ref is None:
            return Drop(INVALID_IDENTITY, "customer_id or anonymous_id: missing or too long")
        checked = _check_properties(compiled, event.properties)
        if checked.properties is None:
            return Drop(checked.reason or INVALID_PROPERTIES, checked.detail, checked.dropped)
        if occurred_at.tzinfo is not UTC:
            occurred_at = occurred_at.astimezone(UTC)
        return Candidate(
            index, message_id, event.type, compiled.category, occurred_at, ref,
            checked.properties, checked.dropped,
        )  # fmt: skip

    def _time_problem(self, occurred_at: datetime) -> str | None:
        if occurred_at.tzinfo is None:
            return "missing UTC offset"
        if OLDEST <= occurred_at <= self._latest:
            return None
        return timestamp_problem(occurred_at, self._now)


def event_message_id(event: IncomingEvent) -> str:
    """Return the event's message id, or a fresh one (idempotency only for ids clients send)."""
    given = event.message_id
    return given.strip() if given and given.strip() else new_message_id()


def subject_ref(customer_id: str | None, anonymous_id: str | None) -> SubjectRef | None:
    """Return the reference to resolve, or None if an id is too long or neither is given."""
    customer = _identifier(customer_id, MAX_ID)
    anonymous = _identifier(anonymous_id, MAX_ANONYMOUS_ID)
    if customer is None and anonymous is None:
        return None
    if customer == "" or anonymous == "":
        return None  # given, but too long: refuse rather than guess
    return SubjectRef(customer_id=customer, anonymous_id=anonymous)


def _identifier(value: str | None, longest: int) -> str | None:
    """Return the stripped id, None when absent, or "" when longer than ``longest``."""
    if not value:
        return None
    text = value.strip()
    if not text:
        return None
    return text if len(text) <= longest else ""


def check_properties(event_type: EventType, given: Mapping[str, Any]) -> Checked:
    """Keep the declared properties of ``given``, coerced, masked, or say why the event drops."""
    return _check_properties(_compile(event_type), given)


def _check_properties(compiled: _Type, given: Mapping[str, Any]) -> Checked:
    declared = compiled.declared
    dropped = [name for name in given if name not in declared]
    kept: dict[str, Any] = {}
    for prop in compiled.properties:
        value = given.get(prop.name)
        if value is None:
            if prop.required:
                return Checked(
                    None, dropped, INVALID_PROPERTIES, f"properties.{prop.name}: required"
                )
            continue
        value, problem = prop.coerce(value)
        if problem is None and isinstance(value, str):
            value, reason, problem = _check_text(prop, value)
            if reason is not None:
                return Checked(None, dropped, reason, f"properties.{prop.name}: {problem}")
        if problem is not None:
            return Checked(None, dropped, INVALID_PROPERTIES, f"properties.{prop.name}: {problem}")
        kept[prop.name] = value
    return Checked(kept, dropped)


def _check_text(prop: _Property, value: str) -> tuple[str, str | None, str | None]:
    """Check a text's length, then mask or reject the identifiers in it (TH-MIN-02)."""
    if len(value) > prop.max_length:
        return value, INVALID_PROPERTIES, f"longer than {prop.max_length} characters"
    if prop.pii == "allow" or not may_hold_pii(value):
        return value, None, None
    if prop.pii == "reject":
        found = find_pii(value)
        if found:
            return value, PII_REJECTED, f"contains a {found[0].kind} (TH-MIN-02)"
        return value, None, None
    masked, _ = mask_pii(value)
    return masked, None, None


def may_hold_pii(value: str) -> bool:
    """Cheap necessary condition for ``find_pii`` finding anything: an ``@`` or 9 digits in a row.

    ``find_pii`` knows e-mail addresses (they need an ``@``), national IDs (13 digits) and phone
    numbers (at least 9 digits), whose digits are separated by at most one space or dash. A test
    checks this stays a necessary condition of ``find_pii``.
    """
    return "@" in value or _DIGIT_RUN.search(value) is not None


def _string(value: Any) -> Coerced:
    if isinstance(value, str):
        return value, None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(value), None
    return None, "must be a string"


def _number(value: Any) -> Coerced:
    if isinstance(value, bool):
        return None, "must be a number"
    if isinstance(value, int):
        return (value, None) if abs(value) < _MAX_INT else (None, "out of range")
    if isinstance(value, float):
        return (value, None) if math.isfinite(value) else (None, "must be a finite number")
    if isinstance(value, str) and _NUMBER_RE.fullmatch(text := value.strip()):
        return _number(int(text) if _INTEGER_RE.fullmatch(text) else float(text))
    return None, "must be a number"


def _integer(value: Any) -> Coerced:
    whole_float = isinstance(value, float) and value.is_integer()
    if whole_float or (isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip())):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < _MAX_INT:
        return value, None
    return None, "must be a whole number"


def _boolean(value: Any) -> Coerced:
    if isinstance(value, bool):
        return value, None
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()], None
    return None, "must be true or false"


def _date(value: Any) -> Coerced:
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip()).isoformat(), None
        except ValueError:
            pass
    return None, "must be a date (YYYY-MM-DD)"


def _datetime(value: Any) -> Coerced:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        return None, "must be an ISO 8601 time with a UTC offset"
    return parsed.astimezone(UTC).isoformat(), None


_COERCE: dict[str, Callable[[Any], Coerced]] = {
    "string": _string,
    "text": _string,
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
}


def purposes_by_category(policy: Policy) -> dict[str, tuple[str, ...]]:
    """Return, per data category, the purposes that declare it."""
    found: dict[str, list[str]] = {}
    for purpose_id, purpose in policy.purposes.items():
        for category in purpose.categories:
            found.setdefault(category, []).append(purpose_id)
    return {category: tuple(ids) for category, ids in found.items()}


class ConsentGate:
    """Whether any purpose permits collecting a category of a subject now; cached per batch."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self._policy = policy
        self._now = now
        self._purposes = purposes_by_category(policy)
        self._answers: dict[tuple[Hashable, str], bool] = {}

    def permits(self, key: Hashable, facts: SubjectFacts, category: str) -> bool:
        """Return True if a purpose declaring ``category`` may collect it for ``facts`` now."""
        answer = self._answers.get((key, category))
        if answer is None:
            answer = any(
                decide(
                    self._policy,
                    facts,
                    purpose=purpose,
                    categories=(category,),
                    action=Action.COLLECT,
                    now=self._now,
                ).allowed
                for purpose in self._purposes.get(category, ())
            )
            self._answers[(key, category)] = answer
        return answer
