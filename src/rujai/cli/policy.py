"""`rujai policy` commands: check a policy file, and the record of processing (`rujai ropa`)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from rujai.cli import _context
from rujai.kit.time import bangkok_today
from rujai.policy.errors import PolicyInvalid
from rujai.policy.loader import load_policy_file, policy_hash
from rujai.policy.ropa import build_ropa, render_ropa
from rujai.policy.schemas import Policy
from rujai.rights.ropa import record_of_processing

app = typer.Typer(no_args_is_help=True)


@app.callback()
def main() -> None:
    """Validate and inspect the privacy policy."""


class RopaFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    HTML = "html"


class Language(StrEnum):
    TH = "th"
    EN = "en"


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The policy YAML file to validate.")],
) -> None:
    """Validate a policy file; print a summary, or every problem with its line and exit 1."""
    policy = _load_or_exit(file, today=bangkok_today())
    _context.console.print(_summary_table(policy))
    typer.echo(_counts(policy))


def ropa(
    format: Annotated[
        RopaFormat, typer.Option("--format", "-f", help="csv, json or html.")
    ] = RopaFormat.CSV,
    lang: Annotated[Language, typer.Option("--lang", "-l", help="th or en.")] = Language.TH,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Policy file; default: the configured policy path."),
    ] = None,
    requests: Annotated[
        bool,
        typer.Option(
            "--requests/--policy-only",
            help="Add the refused requests (s.39(7)) from the configured database (default), "
            "or only what the policy file says.",
        ),
    ] = True,
) -> None:
    """Print the record of processing activities (PDPA s.39, TH-ROPA-01) to stdout."""
    path = policy if policy is not None else _context.settings().policy.path
    loaded = _load_or_exit(path)
    if not requests:
        rows = build_ropa(loaded, lang.value)
        typer.echo(render_ropa(rows, format.value, lang.value), nl=False)
        return
    with _context.session() as session:
        record = record_of_processing(session, policy=loaded, lang=lang.value, fmt=format.value)
    typer.echo(record, nl=False)


def _load_or_exit(path: Path, *, today: date | None = None) -> Policy:
    try:
        return load_policy_file(path, today=today)
    except PolicyInvalid as e:
        for problem in e.problems:
            typer.echo(str(problem), err=True)
        count = len(e.problems)
        typer.echo(f"{count} problem{'' if count == 1 else 's'} in {path}", err=True)
        raise typer.Exit(1) from e


def _summary_table(policy: Policy) -> Table:
    lang = policy.default_language
    table = Table(
        title=f"{policy.controller.name.get(lang)} · policy {policy.version}", show_lines=True
    )
    table.add_column("purpose / categories (* sensitive)", overflow="fold")
    table.add_column("basis", no_wrap=True)
    table.add_column("days", justify="right", no_wrap=True)
    table.add_column("flags")
    for pid, purpose in policy.purposes.items():
        flags = [
            name
            for name, on in (
                ("required", purpose.required),
                ("marketing", purpose.direct_marketing),
                ("profiling", purpose.profiling),
            )
            if on
        ]
        categories = ", ".join(
            f"{c}*" if policy.categories[c].sensitive else c for c in purpose.categories
        )
        cell = Text(pid, style="bold")
        cell.append(f"\n{categories}", style="dim")
        table.add_row(cell, purpose.basis.value, str(purpose.retention_days), "\n".join(flags))
    return table


def _counts(policy: Policy) -> str:
    sensitive = sum(1 for c in policy.categories.values() if c.sensitive)
    return (
        f"ok: {len(policy.categories)} categories ({sensitive} sensitive, marked *), "
        f"{len(policy.purposes)} purposes, {len(policy.recipients)} recipients, "
        f"{len(policy.event_types)} event types, {len(policy.traits)} traits; "
        f"sha256 {policy_hash(policy)[:12]}"
    )
