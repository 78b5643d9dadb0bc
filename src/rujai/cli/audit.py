"""``rujai audit``: verify and list the hash-chained audit log (TH-SEC-01)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer
from rich.table import Table

from rujai.audit import service as audit_service
from rujai.audit.schemas import AuditEntryRead
from rujai.cli._context import console, err_console, exits_on_error, session

app = typer.Typer(no_args_is_help=True)


@app.command("verify")
@exits_on_error
def verify() -> None:
    """Recompute every hash; exit 1 and name the first broken or missing entry."""
    with session() as s:
        report = audit_service.verify(s)
    if not report.ok:
        err_console.print(
            f"audit chain broken at entry #{report.first_bad_seq}: {report.problem}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(f"audit chain intact: {report.checked} entries", highlight=False)


@app.command("list")
@exits_on_error
def list_entries(
    subject: Annotated[
        UUID | None, typer.Option(help="Only entries about this subject UUID.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50,
) -> None:
    """Show the newest audit entries."""
    with session() as s:
        entries = audit_service.list_entries(s, subject_id=subject, limit=limit)
    console.print(_entries_table(entries))


def _entries_table(entries: list[AuditEntryRead]) -> Table:
    table = Table()
    table.add_column("seq", no_wrap=True, justify="right")
    table.add_column("at (UTC)", no_wrap=True)
    for header in ("actor", "action", "subject", "purpose", "outcome", "hash"):
        table.add_column(header)
    for e in entries:
        at = e.at.strftime("%Y-%m-%d %H:%M:%S")
        subject_text = str(e.subject_id) if e.subject_id else ""
        table.add_row(
            str(e.seq),
            at,
            e.actor,
            e.action,
            subject_text,
            e.purpose or "",
            e.outcome or "",
            e.hash[:12],
        )
    return table
