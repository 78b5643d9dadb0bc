"""``rujai profiles``: merges, crypto-shredding, import of verified identities (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.table import Table

from rujai.cli._context import console, err_console, exits_on_error, keyring, policy, session
from rujai.kit.time import utcnow
from rujai.profiles import identities, merge as profiles_merge, verified_import
from rujai.profiles.schemas import MergeRead

app = typer.Typer(no_args_is_help=True)

ACTOR = "cli"


@app.command("merges")
@exits_on_error
def merges(
    subject: Annotated[
        UUID | None, typer.Option(help="Only merges this subject UUID took part in.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many merges, newest first.")] = 50,
) -> None:
    """Show profile merges, newest first."""
    with session() as s:
        rows = profiles_merge.list_merges(s, subject_id=subject, limit=limit)
    console.print(_table(rows))


@app.command("undo-merge")
@exits_on_error
def undo_merge(
    merge_id: Annotated[UUID, typer.Argument(help="The merge to undo.")],
) -> None:
    """Move a merge's rows back; consent is compensated with new records (append-only)."""
    with session() as s:
        row = profiles_merge.undo(
            s, keyring=keyring(), policy=policy(), merge_id=merge_id, now=utcnow(), actor=ACTOR
        )
    console.print(f"merge {row.id} undone", highlight=False)
    console.print(_table([row]))


@app.command("shred")
@exits_on_error
def shred(
    customer_id: Annotated[str, typer.Argument(help="The brand's customer id.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: this cannot be undone (TH-DSR-04).")
    ] = False,
) -> None:
    """Destroy a customer's data key: every sealed value of theirs becomes unreadable for good."""
    if not yes:
        err_console.print("refusing to shred without --yes: this cannot be undone", markup=False)
        raise typer.Exit(1)
    with session() as s:
        subject = identities.destroy_customer_key(
            s, keyring=keyring(), customer_id=customer_id, now=utcnow(), actor=ACTOR
        )
    console.print(f"subject {subject.id}: data key destroyed", highlight=False)


@app.command("import-verified")
@exits_on_error
def import_verified(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV: customer_id,kind,value,verified_at,method,evidence_ref",
        ),
    ],
) -> None:
    """Record e-mails and phones the brand verified itself; bad rows are reported, good kept."""
    with file.open(encoding="utf-8", newline="") as lines, session() as s:
        report = verified_import.import_verified(
            s, keyring=keyring(), lines=lines, now=utcnow(), actor=ACTOR
        )
    for error in report.errors:
        err_console.print(
            f"{file}:{error.line}: {error.field}: {error.message}", markup=False, soft_wrap=True
        )
    console.print(
        f"recorded {report.recorded} verified identities ({report.new} new), "
        f"refused {len(report.errors)} rows",
        highlight=False,
    )
    if report.errors:
        raise typer.Exit(1)


def _table(rows: list[MergeRead]) -> Table:
    table = Table()
    for header in ("merge", "into", "from", "merged (UTC)", "undone", "moved", "consent"):
        table.add_column(header)
    for r in rows:
        moved = f"{r.identities_moved} ids, {len(r.traits_moved)} traits, {r.events_moved} events"
        table.add_row(
            str(r.id),
            str(r.into_subject_id),
            str(r.from_subject_id),
            r.merged_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.undone_at.strftime("%Y-%m-%d %H:%M:%S") if r.undone_at else "",
            moved,
            str(len(r.consent_changes)),
        )
    return table
