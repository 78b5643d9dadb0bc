"""Writing a subject's copy as a stream (TH-DSR-01, TH-DSR-02): memory flat in the history's length.

``write_zip`` takes the document's head (format, version, time, controller) and its sections in
the order of ``ExportDocument``'s fields, each a model, ``None`` or an iterable of models, and
writes the ZIP into any binary file (the caller's spooled temporary file):

- ``export.json`` is written incrementally, a batch of ``BATCH`` items at a time, serialised by
  pydantic-core (the same JSON as ``ExportDocument.model_dump(mode="json")``, laid out as
  ``json.dumps(..., indent=2)`` lays it out);
- each section's CSV rows go to a spooled temporary file as they come (``CsvSpool``): the header
  (the columns in order of first appearance) is only known at the end, and a ZIP entry must be
  written whole before the next one opens;
- ``summary.html`` is rendered from the small sections, the counts and the newest events and
  decisions only (``export_html.render``), never from all the rows.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO, Any, Final

from pydantic import BaseModel
from pydantic_core import to_json, to_jsonable_python

from rujai.kit.time import as_utc
from rujai.policy.schemas import Policy
from rujai.rights import export_format as fmt, export_html

BATCH: Final = 500  # items serialised at once
SPOOL_BYTES: Final = 1 << 20  # a spool stays in memory up to this size, then goes to disk
COMPRESS_LEVEL: Final = 1  # zlib level: 1 measured ~3x faster than 6 for ~10 % more bytes
# Sections not counted in the ``rights.export`` audit entry (they come from the policy), and the
# name a single-object section is counted under.
UNCOUNTED: Final = frozenset({"subject", "purposes", "recipients"})
COUNTED_AS: Final = {"recommender": "model_member"}
_META_READ: Final = 8 * 4096  # bytes of row lengths read at once (4096 rows)
_RUN_CHARS: Final = 1 << 15  # complete rows copied out at once, at most (characters)
_BOM: Final = "\ufeff".encode()


class CsvSpool:
    """One CSV table written a batch of rows at a time; its columns are those of the rows, in
    order of first appearance, so the header is known only at the end.

    The rows' text goes to one spooled file, each row's length (characters) and number of cells to
    another. A row written before a column first appeared has no value in it and is padded with
    empty cells when the table is copied out (``write_to``): the same table as
    ``export_format.csv_tables`` writes.
    """

    def __init__(self, max_size: int = SPOOL_BYTES) -> None:
        self._body: IO[str] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by write_to/close
            max_size=max_size, mode="w+", encoding="utf-8", newline=""
        )
        self._meta: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=max_size)  # noqa: SIM115 - likewise
        self._columns: dict[str, None] = {}
        self._text = io.StringIO(newline="")
        self._writer = csv.writer(self._text, lineterminator="\r\n")

    def add_many(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append JSON-mode rows (objects of plain values spread over columns)."""
        text, columns, meta, write = self._text, self._columns, array("I"), self._writer.writerow
        text.seek(0)
        text.truncate()
        start = 0
        for row in rows:
            flat = fmt.flat_cells(row)
            for key in flat:
                if key not in columns:
                    columns[key] = None
            write(map(flat.get, columns))  # a missing cell is None: written empty
            end = text.tell()
            meta.append(end - start)
            meta.append(len(columns))
            start = end
        self._body.write(text.getvalue())
        self._meta.write(meta.tobytes())

    def write_to(self, out: IO[bytes]) -> None:
        """Copy the table out, header first, UTF-8 with a byte-order mark; then close the spools."""
        header = io.StringIO()
        csv.writer(header, lineterminator="\r\n").writerow(list(self._columns))
        out.write(_BOM + header.getvalue().encode())
        total, body, run = len(self._columns), self._body, 0
        body.seek(0)
        self._meta.seek(0)
        while chunk := self._meta.read(_META_READ):
            meta = array("I")
            meta.frombytes(chunk)
            for size, cells in zip(meta[::2], meta[1::2], strict=True):
                if cells == total:
                    run += size  # complete rows are copied out together
                    if run >= _RUN_CHARS:
                        out.write(body.read(run).encode())
                        run = 0
                    continue
                out.write(body.read(run).encode())  # the complete rows before this one
                run = 0
                out.write(_padded(body.read(size), cells, total).encode())
        out.write(body.read(run).encode())
        self.close()

    def close(self) -> None:
        """Drop the spools."""
        self._body.close()
        self._meta.close()


def _padded(row: str, cells: int, total: int) -> str:
    """A row of ``cells`` cells (ending in CRLF) with empty cells added up to ``total``."""
    if cells:
        return row[:-2] + "," * (total - cells) + "\r\n"
    return ("," * (total - 1) if total > 1 else '""') + "\r\n"  # as csv writes all-empty rows


class Summary:
    """What ``summary.html`` needs: the small sections whole, counts, the newest events."""

    def __init__(self, head: dict[str, Any]) -> None:
        self.view: dict[str, Any] = dict(head)
        self.counts: dict[str, int] = {}
        self.first: dict[str, Any] = {}
        self._recent_events: deque[Any] = deque(maxlen=export_html.RECENT_EVENTS)

    def keep(self, name: str, items: list[Any]) -> None:
        """Keep a batch of a section: whole if small, else only what the page shows."""
        if not items:
            return
        self.first.setdefault(name, items[0])
        if name == "events":
            self._recent_events.extend(items)
        elif name == "decisions":
            kept = self.view.setdefault(name, [])
            kept.extend(items[: max(0, export_html.RECENT_DECISIONS - len(kept))])
        else:
            self.view.setdefault(name, []).extend(items)

    def render(self, policy: Policy) -> str:
        """Render the page (Thai, then English)."""
        events = list(self._recent_events)
        view = {**self.view, "events": events, "decisions": self.view.get("decisions", [])}
        return export_html.render_view(
            view, policy=policy, counts=self.counts, first_event=self.first.get("events"),
            recent_events=list(reversed(events)),
        )  # fmt: skip


def write_zip(
    target: IO[bytes],
    *,
    head: dict[str, Any],
    sections: Iterable[tuple[str, Any]],
    policy: Policy,
    spool_bytes: int = SPOOL_BYTES,
) -> dict[str, int]:
    """Write the copy's ZIP into ``target``; return the counts for the audit entry."""
    stamp = as_utc(head["generated_at"]).timetuple()[:6]
    tables = {name: CsvSpool(spool_bytes) for name in fmt.TABLES}
    summary = Summary(head)
    try:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open(_entry("export.json", stamp), "w") as out:
                _write_json(out, head, sections, tables, summary)
            archive.writestr(_entry(fmt.SCHEMA_FILE, stamp), fmt.schema_text().encode())
            archive.writestr(_entry("summary.html", stamp), summary.render(policy).encode())
            for name, table in tables.items():
                with archive.open(_entry(f"csv/{name}.csv", stamp), "w") as out:
                    table.write_to(out)
    finally:
        for table in tables.values():
            table.close()
    return {COUNTED_AS.get(n, n): c for n, c in summary.counts.items() if n not in UNCOUNTED}


def _entry(name: str, stamp: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]  # six fields
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]  # no public per-entry level
    return info


def _write_json(
    out: IO[bytes],
    head: dict[str, Any],
    sections: Iterable[tuple[str, Any]],
    tables: dict[str, CsvSpool],
    summary: Summary,
) -> None:
    """``json.dumps(document, ensure_ascii=False, indent=2)``, written one batch at a time."""
    out.write(b"{")
    first = True
    for name, value in [*head.items(), *sections]:
        out.write(b"\n  " if first else b",\n  ")
        first = False
        out.write(to_json(name) + b": ")
        if name in head:
            out.write(_indented(to_json(value, indent=2)))
        elif value is None or isinstance(value, BaseModel):
            _write_single(out, name, value, tables, summary)
        else:
            _write_list(out, name, value, tables, summary)
    out.write(b"\n}")


def _write_single(
    out: IO[bytes],
    name: str,
    value: BaseModel | None,
    tables: dict[str, CsvSpool],
    summary: Summary,
) -> None:
    summary.view[name] = value
    summary.counts[name] = int(value is not None)
    if value is not None:
        tables[name].add_many([to_jsonable_python(value)])
    out.write(_indented(to_json(value, indent=2)))


def _write_list(
    out: IO[bytes], name: str, items: Iterable[Any], tables: dict[str, CsvSpool], summary: Summary
) -> None:
    count, table = 0, tables[name]
    summary.view.setdefault(name, [])
    out.write(b"[")
    for batch in _batches(items):
        rows = to_jsonable_python(batch)  # the JSON of export.json, and the CSV's rows
        body = to_json(rows, indent=2)[1:-2]  # "\n  {...},\n  {...}" without the brackets
        out.write((b"," if count else b"") + _indented(body))
        table.add_many(rows)
        summary.keep(name, batch)
        count += len(batch)
    out.write(b"\n  ]" if count else b"]")
    summary.counts[name] = count


def _indented(text: bytes) -> bytes:
    """Shift a value one level in (a field of the top-level object)."""
    return text.replace(b"\n", b"\n  ")


def _batches(items: Iterable[Any]) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH)):
        yield batch
