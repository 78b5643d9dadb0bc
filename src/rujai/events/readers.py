"""Streaming readers for ``rujai import events FILE`` and ``rujai import cdnow FILE``.

Each reader is a generator over the file: one line in memory at a time, whatever the file size. A
line that cannot be read raises ``ImportLineError`` naming the file, the line number and the field
(``CDNOW_master.txt:17: dollar_value: not a number``) but never the line's content, which may hold
personal data (TH-SEC-01). For the same reason the underlying parser exceptions, which carry the
offending text, are neither chained nor left as ``__context__``: errors are raised after the
``except`` block has ended.

Every value is held to the input rules of the API (``rujai.kit.inputs``: no NUL, no lone surrogate,
integers in 64 bits, finite numbers, nesting of at most 32 levels): a line that breaks one is an
``ImportLineError`` naming the field (``properties.note``), as a request would be a 422.

Readers only parse. Which event types and properties are accepted is decided later by the policy
(TH-MIN-02), and imported events are marked ``source="import"`` and, when the CLI says so,
``is_partner_data=True`` (TH-IND-01: data not collected from the subject).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from rujai.errors import Invalid
from rujai.kit import inputs

T = TypeVar("T")

MAX_ID_LENGTH = 255
EVENT_COLUMNS = frozenset(
    {"type", "customer_id", "anonymous_id", "timestamp", "message_id", "properties"}
)
# Thailand has kept UTC+7 without daylight saving since 1920, so a fixed offset is exact.
BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")
_CDNOW_FIELDS = ("customer_id", "date", "number_of_cds", "dollar_value")
_AMOUNT_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")

StrPath = str | os.PathLike[str]


class ImportLineError(Invalid):
    """A line of an import file cannot be read: ``<file>:<line>: <field>: <problem>``."""

    def __init__(self, file: str, line: int, field: str, problem: str) -> None:
        super().__init__(f"{file}:{line}: {field}: {problem}", field=field, file=file, line=line)
        self.file = file
        self.line = line


@dataclass(frozen=True, slots=True, kw_only=True)
class RawEvent:
    """One event read from an import file, not yet checked against the policy."""

    line: int
    type: str
    customer_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    message_id: str | None
    properties: dict[str, Any]
    source: str = "import"
    is_partner_data: bool = False


class _Where(NamedTuple):
    file: str
    line: int

    def error(self, field: str, problem: str) -> ImportLineError:
        return ImportLineError(self.file, self.line, field, problem)


def read_events(path: StrPath, *, is_partner_data: bool = False) -> Iterator[RawEvent]:
    """Stream the events of a ``.csv`` or ``.jsonl`` (``.ndjson``) file."""
    file = _existing(path)
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return _read_csv(file, is_partner_data)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(file, is_partner_data)
    raise Invalid(f"{file.name}: unsupported file type, expected .csv or .jsonl", field="file")


def read_cdnow(path: StrPath, *, is_partner_data: bool = False) -> Iterator[RawEvent]:
    """Stream the purchases of a CDNOW master file as ``purchase`` events."""
    return _read_cdnow(_existing(path), is_partner_data)


def iter_batches(iterable: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of up to ``size`` items; only the last one may be shorter."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return _batches(iter(iterable), size)


def _batches(iterator: Iterator[T], size: int) -> Iterator[list[T]]:
    while batch := list(islice(iterator, size)):
        yield batch


def _existing(path: StrPath) -> Path:
    file = Path(path)
    if not file.is_file():
        raise Invalid(f"{file.name}: no such file", field="file")
    return file


def _lines(file: Path) -> Iterator[str]:
    """Yield the decoded lines of ``file`` (line endings kept), one at a time."""
    with file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = _decode(raw, "utf-8-sig" if number == 1 else "utf-8")
            if text is None:
                raise ImportLineError(file.name, number, "encoding", "not valid UTF-8")
            yield text


def _decode(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


# --- CSV ---------------------------------------------------------------------------------------


def _read_csv(file: Path, is_partner_data: bool) -> Iterator[RawEvent]:
    rows = _csv_rows(file.name, _lines(file))
    first = next(rows, None)
    header = _csv_header(file.name, first[1] if first else None)
    for line, row in rows:
        if row:  # blank lines are skipped
            yield _csv_event(_Where(file.name, line), header, row, is_partner_data)


def _csv_rows(name: str, lines: Iterator[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first line number, cells)`` per CSV record; records may span lines."""
    reader = csv.reader(lines, strict=True)
    start = 1
    while True:
        problem = None
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            problem = str(e)
        if problem is not None:
            raise ImportLineError(name, start, "csv", problem)
        yield start, row
        start = reader.line_num + 1


def _csv_header(name: str, row: list[str] | None) -> list[str]:
    where = _Where(name, 1)
    if not row:
        raise where.error("header", "missing header row")
    header = [cell.strip() for cell in row]
    if len(set(header)) != len(header):
        raise where.error("header", "duplicate column name")
    for column in ("type", "timestamp"):
        if column not in header:
            raise where.error(column, "missing column")
    if "customer_id" not in header and "anonymous_id" not in header:
        raise where.error("customer_id", "missing column (customer_id or anonymous_id)")
    return header


def _csv_event(where: _Where, header: list[str], row: list[str], partner: bool) -> RawEvent:
    if len(row) != len(header):
        raise where.error("columns", f"expected {len(header)} columns, got {len(row)}")
    fields = dict(zip(header, row, strict=True))
    raw_properties = fields.get("properties", "").strip()
    properties = _json_object(where, "properties", raw_properties) if raw_properties else {}
    properties.update({k: v for k, v in fields.items() if k not in EVENT_COLUMNS and v != ""})
    return _build(where, fields, properties, partner)


# --- JSON lines ----------------------------------------------------------------------------------


def _read_jsonl(file: Path, is_partner_data: bool) -> Iterator[RawEvent]:
    for number, text in enumerate(_lines(file), start=1):
        if not text.strip():
            continue
        where = _Where(file.name, number)
        record = _json_object(where, "json", text)
        properties = record.get("properties")
        if properties is None:
            properties = {}
        if not isinstance(properties, dict):
            raise where.error("properties", "must be a JSON object")
        yield _build(where, record, properties, is_partner_data)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _parse_json(text: str) -> tuple[Any, str | None]:
    """Return ``(value, None)`` or ``(None, problem)``; the problem never quotes the text."""
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as e:
        return None, f"{e.msg} at column {e.colno}"
    except ValueError as e:  # NaN / Infinity
        return None, str(e)
    except RecursionError:
        return None, "nested too deeply"


def _json_object(where: _Where, field: str, text: str) -> dict[str, Any]:
    value, problem = _parse_json(text)
    if problem is not None:
        raise where.error(field, f"not valid JSON ({problem})")
    if not isinstance(value, dict):
        raise where.error(field, "must be a JSON object")
    return value


# --- shared fields -------------------------------------------------------------------------------


def _build(
    where: _Where, fields: Mapping[str, Any], properties: dict[str, Any], partner: bool
) -> RawEvent:
    event_type = _text(where, "type", fields.get("type"))
    if event_type is None:
        raise where.error("type", "missing")
    customer_id = _text(where, "customer_id", fields.get("customer_id"))
    anonymous_id = _text(where, "anonymous_id", fields.get("anonymous_id"))
    if customer_id is None and anonymous_id is None:
        raise where.error("customer_id", "customer_id or anonymous_id is required")
    problem = inputs.find_problem(properties)
    if problem is not None:
        field = ".".join(str(part) for part in ("properties", *problem.loc))
        raise where.error(field, problem.message)
    return RawEvent(
        line=where.line,
        type=event_type,
        customer_id=customer_id,
        anonymous_id=anonymous_id,
        timestamp=_timestamp(where, fields.get("timestamp")),
        message_id=_text(where, "message_id", fields.get("message_id")),
        properties=properties,
        is_partner_data=partner,
    )


def _text(where: _Where, field: str, value: object) -> str | None:
    """Return a stripped identifier-like string; ``None`` when absent or empty."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise where.error(field, "must be a string")
    problem = inputs.text_problem(value)
    if problem is not None:
        raise where.error(field, problem)
    text = value.strip()
    if len(text) > MAX_ID_LENGTH:
        raise where.error(field, f"longer than {MAX_ID_LENGTH} characters")
    return text or None


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _timestamp(where: _Where, value: object) -> datetime:
    """Parse an ISO 8601 timestamp with a UTC offset and return it in UTC."""
    if value is None or value == "":
        raise where.error("timestamp", "missing")
    if not isinstance(value, str):
        raise where.error("timestamp", "must be an ISO 8601 string")
    parsed = _parse_iso(value.strip())
    if parsed is None:
        raise where.error("timestamp", "not an ISO 8601 timestamp")
    if parsed.tzinfo is None:
        raise where.error("timestamp", "missing UTC offset (add Z or +07:00)")
    return parsed.astimezone(UTC)


# --- CDNOW ---------------------------------------------------------------------------------------


def _read_cdnow(file: Path, is_partner_data: bool) -> Iterator[RawEvent]:
    name = file.name
    for number, text in enumerate(_lines(file), start=1):
        tokens = text.split()
        if not tokens or (number == 1 and _is_cdnow_header(text)):
            continue
        yield _cdnow_event(_Where(name, number), tokens, is_partner_data)


def _is_cdnow_header(text: str) -> bool:
    """A header line (``customer_id date number_of_cds dollar_value``) holds no digit."""
    return not any(c.isdigit() for c in text)


def _cdnow_event(where: _Where, tokens: list[str], partner: bool) -> RawEvent:
    if len(tokens) != len(_CDNOW_FIELDS):
        raise where.error("columns", f"expected {len(_CDNOW_FIELDS)} fields, got {len(tokens)}")
    customer, day, cds, dollars = tokens
    if not (customer.isascii() and customer.isdigit()):
        raise where.error("customer_id", "not a number")
    properties = {
        "quantity": _cdnow_quantity(where, cds),
        "amount": _cdnow_amount(where, dollars),
        "currency": "USD",
    }
    return RawEvent(
        line=where.line,
        type="purchase",
        customer_id=f"cdnow-{customer}",
        anonymous_id=None,
        timestamp=_cdnow_noon(where, day),
        message_id=_cdnow_message_id(where.line, tokens),
        properties=properties,
        is_partner_data=partner,
    )


def _cdnow_message_id(line: int, tokens: list[str]) -> str:
    """Return an id fixed by the line number and content: re-imports dedupe, twins stay apart."""
    content = f"{line}\x1f{' '.join(tokens)}".encode()
    return f"cdnow-{hashlib.blake2b(content, digest_size=16).hexdigest()}"


def _cdnow_noon(where: _Where, day: str) -> datetime:
    """Return 12:00 Asia/Bangkok on ``YYYYMMDD``, in UTC."""
    noon = _noon_utc(day)
    if noon is None:
        raise where.error("date", "not a YYYYMMDD date")
    return noon


@lru_cache(maxsize=4096)
def _noon_utc(day: str) -> datetime | None:
    if not (len(day) == 8 and day.isascii() and day.isdigit()):
        return None
    try:
        local = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), 12, tzinfo=BANGKOK)
    except ValueError:
        return None
    return local.astimezone(UTC)


def _cdnow_quantity(where: _Where, cds: str) -> int:
    if not (cds.isascii() and cds.isdigit()) or int(cds) < 1:
        raise where.error("number_of_cds", "not a positive whole number")
    return int(cds)


def _cdnow_amount(where: _Where, dollars: str) -> float:
    if not _AMOUNT_RE.fullmatch(dollars):
        raise where.error("dollar_value", "not a number")
    amount = float(dollars)
    if not math.isfinite(amount):
        raise where.error("dollar_value", "not a number")
    if amount < 0:
        raise where.error("dollar_value", "negative")
    return amount
