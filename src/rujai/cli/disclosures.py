"""``rujai disclosures``: send an audience file to a recipient, list the log, the live s.39 record.

Every command goes through ``disclosures.service`` (the door decides each subject; TH-USE-01,
TH-XB-01, TH-PRC-01). Errors name the file, the line and the field.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from rujai.cli._context import console, err_console, exits_on_error, keyring, policy, session
from rujai.disclosures import flows, service
from rujai.disclosures.schemas import MAX_AUDIENCE, DisclosureFilter, ExportCreate, ExportFormat
from rujai.errors import Invalid
from rujai.kit.inputs import text_problem
from rujai.kit.time import utcnow
from rujai.policy.ropa import RopaFormat, build_ropa, render_ropa
from rujai.policy.schemas import Lang

app = typer.Typer(no_args_is_help=True)
ACTOR = "cli"


@app.command("export")
@exits_on_error
def export(
    recipient: Annotated[str, typer.Option(help="A recipient id of the policy.")],
    purpose: Annotated[str, typer.Option(help="The purpose the recipient gets the data for.")],
    categories: Annotated[str, typer.Option(help="Comma-separated data categories.")],
    customers: Annotated[
        Path, typer.Option(help="The audience: one customer id a line.", dir_okay=False)
    ],
    out: Annotated[Path, typer.Option(help="Where to write the file.", dir_okay=False)],
    format: Annotated[str, typer.Option(help="csv or json.")] = "csv",
) -> None:
    """Write an audience file for a recipient; refused customers are counted, never listed."""
    body = _body(recipient, purpose, categories, _audience(customers), format)
    with session() as s:
        result = flows.export_audience(
            s, policy=policy(), keyring=keyring(), body=body, now=utcnow(), actor=ACTOR
        )
    out.write_text(result.content, encoding="utf-8")
    refused = ", ".join(f"{k}: {v}" for k, v in result.refused.items()) or "none"
    console.print(
        f"wrote {out}: {result.disclosed} of {result.asked} disclosed (batch {result.batch_id}); "
        f"left out: {refused}",
        highlight=False,
    )


def _audience(path: Path) -> list[str]:
    """Read one customer id a line; a bad line is an error naming the file and the line."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise Invalid(f"{path}: cannot read the file as UTF-8 text", field="customers") from e
    found: list[str] = []
    for number, raw in enumerate(lines, start=1):
        value = raw.strip()
        if not value:
            continue
        problem = text_problem(value)
        if problem is not None or len(value) > 128:
            why = problem or "longer than 128 characters"
            raise Invalid(f"{path}:{number}: customer_id: {why}", field="customer_id")
        found.append(value)
    if not found or len(found) > MAX_AUDIENCE:
        raise Invalid(f"{path}: give 1 to {MAX_AUDIENCE} customer ids", field="customers")
    return found


def _body(
    recipient: str, purpose: str, categories: str, customers: list[str], fmt: str
) -> ExportCreate:
    try:
        return ExportCreate(
            recipient=recipient, purpose=purpose, customer_ids=customers,
            categories=[c.strip() for c in categories.split(",") if c.strip()],
            format=_format(fmt),
        )  # fmt: skip
    except ValidationError as e:
        first = e.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "body"
        raise Invalid(f"--{field.replace('_', '-')}: {first['msg']}", field=field) from None


def _format(value: str) -> ExportFormat:
    if value == "csv":
        return "csv"
    if value == "json":
        return "json"
    raise Invalid("--format: use csv or json", field="format")


@app.command("list")
@exits_on_error
def list_log(
    recipient: Annotated[str | None, typer.Option(help="Only this recipient.")] = None,
    purpose: Annotated[str | None, typer.Option(help="Only this purpose.")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    since: Annotated[datetime | None, typer.Option(help="From this time (UTC).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """List the flows of the disclosure log, newest first, with counts (never a person)."""
    filters = DisclosureFilter(
        recipient=recipient, purpose=purpose, channel=channel, limit=limit,
        since=since.astimezone() if since is not None else None,
    )  # fmt: skip
    with session() as s:
        batches = service.list_batches(s, filters=filters)
    table = Table()
    for header in ("when (UTC)", "recipient", "country", "purpose", "basis", "channel",
                   "subjects", "without consent", "batch"):  # fmt: skip
        table.add_column(header)
    for b in batches:
        table.add_row(
            b.at.strftime("%Y-%m-%d %H:%M"), b.recipient, b.country, b.purpose, b.basis,
            b.channel, str(b.subjects), str(b.without_consent), str(b.batch_id),
        )  # fmt: skip
    console.print(table)
    if not batches:
        err_console.print("no disclosures match")


@app.command("ropa")
@exits_on_error
def ropa(
    format: Annotated[str, typer.Option(help="csv, json or html.")] = "csv",
    lang: Annotated[str, typer.Option(help="th or en.")] = "th",
) -> None:
    """Print the record of processing with the live disclosure counts (s.39, TH-ROPA-01)."""
    fmt, language = _ROPA_FORMATS.get(format), _LANGS.get(lang)
    if fmt is None:
        raise Invalid("--format: use csv, json or html", field="format")
    if language is None:
        raise Invalid("--lang: use th or en", field="lang")
    loaded = policy()
    with session() as s:
        counts = service.ropa_counts(s)
    rows = build_ropa(loaded, language, disclosures=counts)
    typer.echo(render_ropa(rows, fmt, language), nl=False)


_ROPA_FORMATS: dict[str, RopaFormat] = {"csv": "csv", "json": "json", "html": "html"}
_LANGS: dict[str, Lang] = {"th": "th", "en": "en"}
