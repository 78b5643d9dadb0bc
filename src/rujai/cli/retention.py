"""``rujai retention``: purge what is past its retention and keep the report (TH-RET-01)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rujai.cli._context import console, exits_on_error, keyring, policy, session, settings
from rujai.db import make_engine, make_session_factory
from rujai.kit.time import utcnow
from rujai.rights import retention
from rujai.rights.schemas import RetentionReport

app = typer.Typer(no_args_is_help=True)


@app.command("run")
@exits_on_error
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; change nothing.")
    ] = False,
    outbox_days: Annotated[int, typer.Option(help="Keep outbox messages this many days.")] = (
        retention.OUTBOX_RETENTION_DAYS
    ),
) -> None:
    """Apply the policy's retention periods now and print the report."""
    engine = make_engine(settings().db.url)
    try:
        report = retention.run(
            make_session_factory(engine), policy=policy(), now=utcnow(), dry_run=dry_run,
            outbox_days=outbox_days, actor="cli", keyring=keyring(),
        )  # fmt: skip
    finally:
        engine.dispose()
    console.print(_table(report))
    verb = "would remove" if report.is_dry_run else "removed"
    console.print(f"run {report.id}: {verb} {report.total} rows", highlight=False)


@app.command("runs")
@exits_on_error
def runs(limit: Annotated[int, typer.Option(help="How many reports, newest first.")] = 10) -> None:
    """Show the kept reports of past runs (TH-RET-01)."""
    with session() as s:
        reports = retention.list_runs(s, limit=limit)
    table = Table()
    for header in ("run", "started (UTC)", "dry run", "rows", "policy"):
        table.add_column(header)
    for r in reports:
        started = r.started_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(
            str(r.id), started, "yes" if r.is_dry_run else "", str(r.total), r.policy_version
        )
    console.print(table)


def _table(report: RetentionReport) -> Table:
    table = Table(title="dry run" if report.is_dry_run else "retention run")
    for header in ("what", "cut-off (UTC)", "basis", "rows"):
        table.add_column(header)
    for item in [*report.items, *report.kept]:
        cut_off = item.cut_off.strftime("%Y-%m-%d %H:%M") if item.cut_off else "kept"
        table.add_row(item.what, cut_off, item.basis, str(item.count))
    return table
