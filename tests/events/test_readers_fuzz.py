"""Fuzzing the import readers: whatever a CSV or JSON lines file holds, reading it yields events
that pass the input rules or raise ``ImportLineError`` with the line and the field, nothing else.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rujai.events.readers import EVENT_COLUMNS, ImportLineError, RawEvent, read_events
from rujai.kit import inputs

pytestmark = pytest.mark.fuzz
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WHEN = "2024-05-01T10:00:00+07:00"

# Text that hits the corners: NUL, lone surrogates (JSON escapes), quotes, separators, Thai.
tricky_text = st.text(
    st.sampled_from(["a", "1", " ", ",", '"', "\n", "\r", "\x00", "\ud800", "ก", "{", "}", "\\"]),
    max_size=12,
) | st.sampled_from(["", "purchase", "page_view", "C-1", WHEN, "1e400", "9" * 30, '{"a": 1}'])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=12,
)
columns = st.lists(
    st.sampled_from([*sorted(EVENT_COLUMNS), "note", "quantity"]), min_size=1, unique=True
)


def _events_or_line_error(name: str, data: bytes) -> list[RawEvent] | ImportLineError:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return list(read_events(path))
        except ImportLineError as e:
            return e


def _check(outcome: list[RawEvent] | ImportLineError, lines: int) -> None:
    if isinstance(outcome, ImportLineError):
        assert 1 <= outcome.line <= max(lines, 1)
        assert outcome.field
        assert str(outcome).startswith(f"{outcome.file}:{outcome.line}: {outcome.field}: ")
        return
    for event in outcome:
        assert 1 <= event.line <= lines
        texts = [event.type, event.customer_id, event.anonymous_id, event.message_id]
        assert inputs.find_problem([t for t in texts if t is not None]) is None
        assert inputs.find_problem(event.properties) is None


@FUZZ
@given(header=columns, rows=st.lists(st.lists(tricky_text, max_size=8), max_size=5))
def test_any_csv_yields_clean_events_or_a_line_error(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    text = out.getvalue()
    data = text.encode("utf-8", errors="surrogatepass")  # a lone surrogate is invalid UTF-8
    _check(_events_or_line_error("events.csv", data), text.count("\n") + 1)


def _record() -> st.SearchStrategy[Any]:
    event = st.fixed_dictionaries(
        {"type": tricky_text, "customer_id": tricky_text | st.integers(), "timestamp": tricky_text},
        optional={
            "properties": json_values,
            "message_id": json_values,
            "anonymous_id": json_values,
        },
    )
    return event | json_values


@FUZZ
@given(records=st.lists(_record(), max_size=5), junk=st.lists(st.binary(max_size=12), max_size=2))
def test_any_json_lines_file_yields_clean_events_or_a_line_error(records, junk):
    lines = [json.dumps(r).encode() for r in records] + junk
    data = b"\n".join(lines) + b"\n"
    _check(_events_or_line_error("events.jsonl", data), data.count(b"\n") + 1)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (
            {
                "type": "purchase",
                "customer_id": "C-1",
                "timestamp": WHEN,
                "properties": {"a": "\x00"},
            },
            "properties.a",
        ),
        ({"type": "purchase", "customer_id": "C-\ud800", "timestamp": WHEN}, "customer_id"),
        (
            {
                "type": "purchase",
                "customer_id": "C-1",
                "timestamp": WHEN,
                "properties": {"n": 2**64},
            },
            "properties.n",
        ),
        (
            {"type": "purchase", "customer_id": "C-1", "timestamp": WHEN, "message_id": "m\x00"},
            "message_id",
        ),
    ],
)
def test_a_value_breaking_the_input_rules_names_line_and_field(line, field):
    data = json.dumps({"type": "purchase", "customer_id": "C-1", "timestamp": WHEN}) + "\n"
    data += json.dumps(line) + "\n"
    outcome = _events_or_line_error("events.jsonl", data.encode())
    assert isinstance(outcome, ImportLineError)
    assert (outcome.line, outcome.field) == (2, field)
