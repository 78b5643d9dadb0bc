"""``rujai rights``: a subject's copy, importing one, erasure, proof of erasure (TH-DSR-01..04), and
``resume``: finishing the erasures a crash or a restore left undone (the erasure log).

Register with ``app.add_typer(rights.app, name="rights")`` in ``rujai.cli``.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.table import Table

from rujai.cli._context import (
    console,
    err_console,
    exits_on_error,
    keyring,
    policy,
    session,
    settings,
)
from rujai.kit.time import utcnow
from rujai.ops import recovery
from rujai.rights import erasure, export, importer, verify

app = typer.Typer(no_args_is_help=True)

ACTOR = "cli"
EXIT_LEFTOVERS = 1

CustomerId = Annotated[str, typer.Argument(help="The brand's customer id.")]


@app.command("export")
@exits_on_error
def export_copy(
    customer_id: CustomerId,
    out: Annotated[Path, typer.Option("--out", help="Where to write the ZIP.", dir_okay=False)],
) -> None:
    """Write a customer's copy (JSON + schema, CSV, Thai/English summary) to a ZIP (TH-DSR-01)."""
    with session() as s:
        spool = export.export_customer(
            s, keyring=keyring(), policy=policy(), customer_id=customer_id, now=utcnow(),
            actor=ACTOR,
        )  # fmt: skip
    with spool, out.open("wb") as target:
        shutil.copyfileobj(spool, target)
        size = target.tell()
    console.print(f"wrote {out} ({size} bytes)", highlight=False)


@app.command("import")
@exits_on_error
def import_copy(
    file: Annotated[Path, typer.Argument(help="A ZIP made by `rujai rights export`.")],
) -> None:
    """Re-create the person of a copy here (TH-DSR-02); an erased person is flagged, not made."""
    data = file.read_bytes()
    with session() as s:
        report = importer.import_export(
            s, keyring=keyring(), policy=policy(), data=data, now=utcnow(), actor=ACTOR
        )
    if report.status == "suppressed":
        err_console.print(
            "refused: this person was erased here (suppression entry, TH-DSR-04)", markup=False
        )
        raise typer.Exit(1)
    console.print_json(report.model_dump_json())


@app.command("erase")
@exits_on_error
def erase(
    customer_id: CustomerId,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: this cannot be undone (TH-DSR-04).")
    ] = False,
) -> None:
    """Erase a customer everywhere: rows, models, bandit, key; keep legal holds (TH-DSR-04)."""
    if not yes:
        err_console.print("refusing to erase without --yes: this cannot be undone", markup=False)
        raise typer.Exit(1)
    with session() as s:
        subject_id, report = erasure.erase_customer(
            s, keyring=keyring(), policy=policy(), customer_id=customer_id, now=utcnow(),
            actor=ACTOR,
        )  # fmt: skip
    console.print(f"subject {subject_id} erased", highlight=False)
    console.print_json(report.model_dump_json())
    if not report.is_complete:
        raise typer.Exit(EXIT_LEFTOVERS)


@app.command("verify-erasure")
@exits_on_error
def verify_erasure(
    customer_id: CustomerId,
    subject: Annotated[
        UUID | None, typer.Option(help="The erased subject's UUID, if no request led to it.")
    ] = None,
    also: Annotated[
        list[str] | None, typer.Option("--also", help="Another identifier to look for (e-mail).")
    ] = None,
) -> None:
    """Search every table and the recommender for what is left of a customer; exit 1 if any."""
    with session() as s:
        report = verify.scan(
            s, keyring=keyring(), customer_id=customer_id, subject_id=subject,
            extra_needles=also or [],
        )  # fmt: skip
    console.print(_table(report))
    console.print(f"recommender: {report.model.note}", highlight=False)
    if not report.is_clean:
        err_console.print(f"{len(report.leftovers)} leftover(s) found", markup=False)
        raise typer.Exit(EXIT_LEFTOVERS)
    console.print(
        f"nothing left in {report.tables_scanned} tables "
        f"({len(report.subject_ids)} subject id(s), {report.needles} identifier(s) searched)",
        highlight=False,
    )


@app.command("resume")
@exits_on_error
def resume() -> None:
    """Finish every erasure the erasure log names that the database does not show done."""
    report = recovery.resume(
        settings(), keyring=keyring(), policy=policy(), clock=utcnow, actor="system:resume"
    )
    console.print_json(data=asdict(report))


def _table(report: verify.VerifyReport) -> Table:
    table = Table(title="leftovers")
    for header in ("table", "column", "rows", "why"):
        table.add_column(header)
    for leftover in report.leftovers:
        table.add_row(leftover.table, leftover.column, str(leftover.rows), leftover.why)
    return table
