"""Streaming import readers: CSV, JSON lines and the CDNOW master file."""

from __future__ import annotations

import inspect
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rujai.errors import Invalid
from rujai.events.readers import (
    ImportLineError,
    RawEvent,
    iter_batches,
    read_cdnow,
    read_events,
)
from tests.conftest import SHARED_DATA

CDNOW_MASTER = SHARED_DATA / "cdnow" / "CDNOW_master.txt"
SECRET = "somchai.secret@example.com"  # fictional personal data that must never reach an error


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(*records: object) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


# --- CSV ---------------------------------------------------------------------------------------


def test_read_events_csv_yields_typed_events_with_line_numbers(tmp_path):
    path = write(
        tmp_path,
        "events.csv",
        "type,customer_id,anonymous_id,timestamp,message_id,product_id,colour\n"
        "purchase,cust-001,,2024-01-15T10:30:00+07:00,msg-1,sku-1,แดง\n"
        "\n"
        "page_view,,anon-9,2024-01-15T03:30:00Z,,,\n",
    )
    first, second = read_events(path, is_partner_data=True)
    assert first == RawEvent(
        line=2,
        type="purchase",
        customer_id="cust-001",
        anonymous_id=None,
        timestamp=datetime(2024, 1, 15, 3, 30, tzinfo=UTC),
        message_id="msg-1",
        properties={"product_id": "sku-1", "colour": "แดง"},
        source="import",
        is_partner_data=True,
    )
    assert (second.line, second.type, second.customer_id, second.anonymous_id) == (
        4,
        "page_view",
        None,
        "anon-9",
    )
    assert second.message_id is None
    assert second.properties == {}
    assert second.timestamp == first.timestamp
    assert second.timestamp.utcoffset() is not None


def test_read_events_csv_merges_the_properties_json_column_with_extra_columns(tmp_path):
    props = json.dumps({"amount": 1299.0, "items": [{"sku": "A1"}], "note": "from json"})
    path = write(
        tmp_path,
        "events.csv",
        "type,customer_id,timestamp,properties,note\n"
        f'purchase,cust-001,2024-01-15T10:30:00+07:00,"{props.replace(chr(34), chr(34) * 2)}",'
        "from column\n",
    )
    (event,) = read_events(path)
    assert event.properties == {"amount": 1299.0, "items": [{"sku": "A1"}], "note": "from column"}
    assert event.is_partner_data is False


def test_read_events_csv_counts_lines_of_multiline_quoted_cells(tmp_path):
    path = write(
        tmp_path,
        "events.csv",
        "type,customer_id,timestamp,comment\n"
        'review,cust-001,2024-01-15T10:30:00Z,"ดีมาก\nจะซื้ออีก"\n'
        "review,cust-002,2024-01-15T10:31:00Z,ok\n",
    )
    events = list(read_events(path))
    assert [e.line for e in events] == [2, 4]
    assert events[0].properties == {"comment": "ดีมาก\nจะซื้ออีก"}


def test_read_events_csv_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "type,customer_id,timestamp\nview,cust-001,2024-01-15T10:30:00Z\n".encode("utf-8-sig")
    )
    assert [e.type for e in read_events(path)] == ["view"]


# --- JSON lines -----------------------------------------------------------------------------------


def test_read_events_jsonl_yields_segment_like_records(tmp_path):
    path = write(
        tmp_path,
        "events.jsonl",
        jsonl(
            {
                "type": "purchase",
                "customer_id": "cust-001",
                "timestamp": "2024-01-15T17:00:00+07:00",
                "message_id": "m-1",
                "properties": {"amount": 1299.0, "currency": "THB", "tags": ["ลดราคา"]},
            },
            {"type": "page_view", "anonymous_id": "anon-1", "timestamp": "2024-01-15T10:00:00Z"},
        )
        + "\n   \n",
        # a blank and a whitespace-only line at the end are skipped
    )
    first, second = read_events(path, is_partner_data=True)
    assert first.line == 1
    assert first.timestamp == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    assert first.properties == {"amount": 1299.0, "currency": "THB", "tags": ["ลดราคา"]}
    assert (first.message_id, first.source, first.is_partner_data) == ("m-1", "import", True)
    assert (second.line, second.customer_id, second.anonymous_id) == (2, None, "anon-1")
    assert second.properties == {}
    assert second.message_id is None


def test_read_events_jsonl_accepts_numeric_customer_ids(tmp_path):
    path = write(
        tmp_path,
        "events.ndjson",
        jsonl({"type": "view", "customer_id": 42, "timestamp": "2024-01-15T10:00:00Z"}),
    )
    assert next(read_events(path)).customer_id == "42"


# --- broken input -------------------------------------------------------------------------------

CSV_HEADER = "type,customer_id,timestamp,properties\n"
GOOD_CSV_ROW = f"view,{SECRET},2024-01-15T10:00:00Z,\n"
GOOD_JSON = {"type": "view", "customer_id": SECRET, "timestamp": "2024-01-15T10:00:00Z"}


@pytest.mark.parametrize(
    ("name", "text", "line", "field"),
    [
        (
            "bad_date.csv",
            CSV_HEADER + GOOD_CSV_ROW + f"view,{SECRET},15/01/2024,\n",
            3,
            "timestamp",
        ),
        ("naive.csv", CSV_HEADER + f"view,{SECRET},2024-01-15T10:00:00,\n", 2, "timestamp"),
        ("no_time.csv", CSV_HEADER + f"view,{SECRET},,\n", 2, "timestamp"),
        ("short.csv", CSV_HEADER + GOOD_CSV_ROW + f"view,{SECRET}\n", 3, "columns"),
        ("no_type.csv", CSV_HEADER + f",{SECRET},2024-01-15T10:00:00Z,\n", 2, "type"),
        ("no_id.csv", CSV_HEADER + "view,,2024-01-15T10:00:00Z,\n", 2, "customer_id"),
        ("props.csv", CSV_HEADER + f'view,x,2024-01-15T10:00:00Z,"{{{SECRET}"\n', 2, "properties"),
        ("header.csv", "customer_id,timestamp\n" + f"{SECRET},2024-01-15T10:00:00Z\n", 1, "type"),
        ("ids.csv", "type,timestamp\nview,2024-01-15T10:00:00Z\n", 1, "customer_id"),
        ("empty.csv", "", 1, "header"),
        ("quote.csv", CSV_HEADER + f'view,"{SECRET}"x,2024-01-15T10:00:00Z,\n', 2, "csv"),
        ("bad.jsonl", jsonl(GOOD_JSON) + '{"type": "view", "customer_id": "' + SECRET, 2, "json"),
        ("array.jsonl", jsonl(GOOD_JSON, [SECRET]), 2, "json"),
        ("nan.jsonl", '{"type": "view", "customer_id": "x", "n": NaN}\n', 1, "json"),
        ("no_type.jsonl", jsonl(GOOD_JSON, {**GOOD_JSON, "type": None}), 2, "type"),
        ("blank_type.jsonl", jsonl({**GOOD_JSON, "type": "  "}), 1, "type"),
        ("props.jsonl", jsonl({**GOOD_JSON, "properties": [SECRET]}), 1, "properties"),
        ("id_type.jsonl", jsonl({**GOOD_JSON, "customer_id": [SECRET]}), 1, "customer_id"),
        ("epoch.jsonl", jsonl({**GOOD_JSON, "timestamp": 1705312800}), 1, "timestamp"),
        ("long.jsonl", jsonl({**GOOD_JSON, "message_id": SECRET * 20}), 1, "message_id"),
    ],
)
def test_broken_event_line_raises_import_line_error_naming_line_and_field(
    tmp_path, name, text, line, field
):
    """TH-SEC-01: the error names file, line and field, never the line's (personal) content."""
    path = write(tmp_path, name, text)
    with pytest.raises(ImportLineError) as caught:
        list(read_events(path))
    error = caught.value
    assert str(error).startswith(f"{name}:{line}: {field}: ")
    assert (error.file, error.line, error.field) == (name, line, field)
    assert error.problem()["line"] == line
    assert isinstance(error, Invalid)
    assert SECRET not in str(error)
    assert "somchai" not in repr(error.problem())
    assert error.__cause__ is None  # the parser's exception quotes the line: not kept
    assert error.__context__ is None


def test_invalid_utf8_is_reported_with_its_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(jsonl(GOOD_JSON).encode() + b'{"type": "caf\xe9"}\n')
    with pytest.raises(ImportLineError, match=r"^latin1\.jsonl:2: encoding: not valid UTF-8$"):
        list(read_events(path))


def test_read_events_rejects_unknown_file_types_and_missing_files(tmp_path):
    with pytest.raises(Invalid, match="unsupported file type") as caught:
        read_events(write(tmp_path, "events.xlsx", "x"))
    assert caught.value.field == "file"
    with pytest.raises(Invalid, match="no such file"):
        read_events(tmp_path / "missing.csv")
    with pytest.raises(Invalid, match="no such file"):
        read_cdnow(tmp_path / "missing.txt")


# --- CDNOW ---------------------------------------------------------------------------------------

CDNOW_HEADER = " customer_id  date number_of_cds  dollar_value\r\n"
CDNOW_ROWS = (
    " 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n 00002 19970112  1   12.00\r\n"
)


def test_read_cdnow_turns_lines_into_purchase_events_at_bangkok_noon(tmp_path):
    path = write(tmp_path, "cdnow.txt", CDNOW_HEADER + CDNOW_ROWS)
    events = list(read_cdnow(path, is_partner_data=True))
    first = events[0]
    assert (first.line, first.type, first.customer_id, first.anonymous_id) == (
        2,
        "purchase",
        "cdnow-00001",
        None,
    )
    assert first.timestamp == datetime(1997, 1, 1, 5, 0, tzinfo=UTC)  # 12:00 at UTC+7
    assert first.properties == {"quantity": 1, "amount": 11.77, "currency": "USD"}
    assert (first.source, first.is_partner_data) == ("import", True)
    assert [e.line for e in events] == [2, 3, 4]


def test_read_cdnow_message_ids_are_stable_and_keep_identical_purchases_apart(tmp_path):
    path = write(tmp_path, "cdnow.txt", CDNOW_HEADER + CDNOW_ROWS)
    ids = [e.message_id for e in read_cdnow(path)]
    assert ids == [e.message_id for e in read_cdnow(path)]
    assert len(set(ids)) == 3  # lines 3 and 4 hold the same purchase twice


@pytest.mark.parametrize(("header", "first_line"), [(CDNOW_HEADER, 2), ("", 1)])
def test_read_cdnow_detects_an_optional_header_line(tmp_path, header, first_line):
    path = write(tmp_path, "cdnow.txt", header + CDNOW_ROWS)
    events = list(read_cdnow(path))
    assert len(events) == 3
    assert events[0].line == first_line
    assert events[0].customer_id == "cdnow-00001"


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        (" 00003 19970102  2   abc\n", "dollar_value", "not a number"),
        (" 00003 19970102  2   nan\n", "dollar_value", "not a number"),
        (" 00003 19970102  2   -1.50\n", "dollar_value", "negative"),
        (" 00003 19970231  2   20.76\n", "date", "not a YYYYMMDD date"),
        (" 00003 1997-01-02  2   20.76\n", "date", "not a YYYYMMDD date"),
        (" 00003 19970102  two   20.76\n", "number_of_cds", "not a positive whole number"),
        (" 00003 19970102  0   20.76\n", "number_of_cds", "not a positive whole number"),
        (" 00003 19970102  2\n", "columns", "expected 4 fields, got 3"),
        (" x0003 19970102  2   20.76\n", "customer_id", "not a number"),
    ],
)
def test_broken_cdnow_line_raises_naming_line_and_field(tmp_path, row, field, problem):
    path = write(tmp_path, "CDNOW_master.txt", CDNOW_HEADER + CDNOW_ROWS + row)
    with pytest.raises(ImportLineError) as caught:
        list(read_cdnow(path))
    assert str(caught.value) == f"CDNOW_master.txt:5: {field}: {problem}"


def test_read_cdnow_real_master_file_has_69659_purchases_by_23570_customers():
    count = 0
    customers: set[str | None] = set()
    for event in read_cdnow(CDNOW_MASTER):
        count += 1
        customers.add(event.customer_id)
    assert count == 69_659
    assert len(customers) == 23_570


# --- streaming ------------------------------------------------------------------------------------


def test_readers_are_lazy_generators_that_yield_before_reading_further(tmp_path):
    """A broken second line does not stop the first event being yielded: nothing is read ahead."""
    files = [
        (read_events, write(tmp_path, "a.csv", CSV_HEADER + GOOD_CSV_ROW + "view\n")),
        (read_events, write(tmp_path, "a.jsonl", jsonl(GOOD_JSON) + "{broken\n")),
        (read_cdnow, write(tmp_path, "a.txt", CDNOW_ROWS + " 1 2 3\n")),
    ]
    for reader, path in files:
        events = reader(path)
        assert inspect.isgenerator(events)
        assert isinstance(next(events), RawEvent)
        with pytest.raises(ImportLineError):
            list(events)


def test_iter_batches_groups_items_and_keeps_the_remainder():
    assert list(iter_batches(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(iter_batches([], 3)) == []
    assert list(iter_batches("ab", 5)) == [["a", "b"]]


def test_iter_batches_is_lazy_over_an_endless_iterator():
    batches = iter_batches(itertools.count(), 1000)
    assert next(batches) == list(range(1000))
    assert next(batches)[0] == 1000


def test_iter_batches_rejects_a_size_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        iter_batches([1], 0)
