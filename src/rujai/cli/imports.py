"""``rujai import``: load events from files through the same ingest path as the API.

The file is streamed (one batch in memory at a time) and each batch is its own transaction. A line
that cannot be read stops the import with ``file:line: field: problem`` and a non-zero exit; the
batch it was in is not written, the batches before it stay, and re-running the import is idempotent
through message ids. Imported events are ``source="import"``; ``--partner`` marks data not collected
from the subjects themselves, kept out of personalization until they are notified (TH-IND-01).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from rujai.cli._context import console, err_console, exits_on_error, keyring, policy, settings
from rujai.db import make_engine, make_session_factory
from rujai.events import service as events_service
from rujai.events.readers import ImportLineError, RawEvent, iter_batches, read_cdnow, read_events
from rujai.events.schemas import IngestSummary
from rujai.kit.time import utcnow
from rujai.writer import session_scope

app = typer.Typer(no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The file to import.")]
BatchSize = Annotated[
    int, typer.Option("--batch-size", min=1, max=100_000, help="Events per transaction.")
]
Partner = Annotated[
    bool,
    typer.Option("--partner", help="Data from a partner, not from the subjects (TH-IND-01)."),
]


@app.command("events")
@exits_on_error
def import_events(file: FileArg, partner: Partner = False, batch_size: BatchSize = 1000) -> None:
    """Import events from a .csv or .jsonl file (type, customer_id/anonymous_id, timestamp, ...)."""
    _run(file, read_events(file, is_partner_data=partner), partner, batch_size)


@app.command("cdnow")
@exits_on_error
def import_cdnow(file: FileArg, partner: Partner = False, batch_size: BatchSize = 1000) -> None:
    """Import the purchases of a CDNOW master file as ``purchase`` events."""
    _run(file, read_cdnow(file, is_partner_data=partner), partner, batch_size)


def _run(file: Path, events: Iterator[RawEvent], partner: bool, batch_size: int) -> None:
    engine = make_engine(settings().db.url)
    summaries: list[IngestSummary] = []
    try:
        _import(make_session_factory(engine), file, events, partner, batch_size, summaries)
    except ImportLineError as e:
        _print_summary(events_service.combine_summaries(summaries), title="Imported before")
        _fail(e)
    finally:
        engine.dispose()
    _print_summary(events_service.combine_summaries(summaries), title="Imported")


def _import(
    factory: sessionmaker[Session],
    file: Path,
    events: Iterator[RawEvent],
    partner: bool,
    batch_size: int,
    summaries: list[IngestSummary],
) -> None:
    """Ingest batch by batch, each in its own transaction, appending each batch's summary."""
    ring, pol = keyring(), policy()
    with _progress() as progress:
        task = progress.add_task(escape(file.name), total=_count_lines(file))
        for batch in iter_batches(events, batch_size):
            with session_scope(factory) as session:
                summary = events_service.ingest(
                    session, keyring=ring, policy=pol, events=batch, source="import",
                    is_partner_data=partner, now=utcnow(), actor="cli", want_results=False,
                )  # fmt: skip
            summaries.append(summary)
            progress.update(task, completed=batch[-1].line)


def _fail(error: ImportLineError) -> NoReturn:
    err_console.print(f"error: {error.message}", markup=False, highlight=False, soft_wrap=True)
    err_console.print(
        "the batch with this line was not imported; fix the line and run the import again "
        "(events already imported are recognised by their message id)",
        markup=False,
        highlight=False,
    )
    raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeElapsedColumn(),
        console=err_console,
    )


def _count_lines(file: Path) -> int:
    """Count the lines of ``file`` without decoding it (for the progress bar)."""
    lines, last = 0, b"\n"
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _print_summary(summary: IngestSummary, *, title: str) -> None:
    table = Table(title=title)
    table.add_column("outcome")
    table.add_column("events", justify="right")
    table.add_row("accepted", f"{summary.accepted:,}")
    table.add_row("duplicates", f"{summary.duplicates:,}")
    for reason, count in summary.dropped_by_reason.items():
        table.add_row(f"dropped: {reason}", f"{count:,}")
    console.print(table)
