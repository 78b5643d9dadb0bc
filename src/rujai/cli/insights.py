"""``rujai insights``: refresh derived insights and show one customer's with their lineage.

An admin tool: ``show`` prints a customer's derived data, so every use is audited, as is every
refresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session, sessionmaker

from rujai.cli._context import console, exits_on_error, keyring, policy, session, settings
from rujai.db import make_engine, make_session_factory
from rujai.kit.time import utcnow
from rujai.personalize import insights as insights_service
from rujai.personalize.schemas import InsightRead, RefreshSummary

app = typer.Typer(no_args_is_help=True)

ACTOR = "cli"


@app.command("refresh")
@exits_on_error
def refresh(
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only this customer id (the brand's id).")
    ] = None,
) -> None:
    """Recompute insights: every subject with a progress bar, or one customer."""
    if subject is None:
        console.print(_summary_text(_refresh_all()), highlight=False)
        return
    with session() as s:
        count = insights_service.refresh_customer(
            s, keyring=keyring(), policy=policy(), customer_id=subject, now=utcnow(), actor=ACTOR
        )
    console.print(f"insights refreshed: {count} insights for this customer", highlight=False)


@app.command("show")
@exits_on_error
def show(
    customer_id: Annotated[str, typer.Argument(help="The brand's customer id.")],
    purpose: Annotated[
        str,
        typer.Option(
            "--purpose", help="Why you look (a policy purpose): only insights it may use are shown."
        ),
    ],
) -> None:
    """Show the insights a purpose may use, with their source categories (through the door)."""
    with session() as s:
        rows = insights_service.show_customer(
            s, keyring=keyring(), policy=policy(), customer_id=customer_id, purpose=purpose,
            now=utcnow(), actor=ACTOR,
        )  # fmt: skip
    console.print(_table(rows))


@contextmanager
def _factory() -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings().db.url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _refresh_all() -> RefreshSummary:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with _factory() as factory, Progress(*columns, console=console) as bar:
        task = bar.add_task("refreshing insights", total=None)
        return insights_service.refresh_all(
            factory,
            keyring=keyring(),
            policy=policy(),
            now=utcnow(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            actor=ACTOR,
        )


def _summary_text(summary: RefreshSummary) -> str:
    model = "fitted" if summary.bgnbd_fitted else "not fitted (too little purchase history)"
    return (
        f"insights refreshed: {summary.subjects} subjects, {summary.with_insights} with insights, "
        f"{summary.insights} insights written; {summary.purchasers} purchasers, "
        f"BG/NBD {model}; {summary.seconds:.1f} s"
    )


def _table(rows: list[InsightRead]) -> Table:
    table = Table()
    for header in ("insight", "value", "computed from", "computed (UTC)"):
        table.add_column(header)
    for row in rows:
        table.add_row(
            Text(row.name),
            Text(json.dumps(row.value, ensure_ascii=False)),
            Text(", ".join(row.categories) or "(set by the subject)"),
            Text(row.computed_at.strftime("%Y-%m-%d %H:%M:%S")),
        )
    return table
