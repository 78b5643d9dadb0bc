"""``rujai offers``: list, add (YAML or JSON), deactivate, and the bandit's statistics and lift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from rujai.cli._context import console, exits_on_error, policy, session
from rujai.errors import Invalid
from rujai.kit.time import utcnow
from rujai.personalize import offers as offers_service
from rujai.personalize.schemas import LiftRead, OfferRead, OfferStatsRead

app = typer.Typer(no_args_is_help=True)


@app.command("list")
@exits_on_error
def list_offers(
    active_only: Annotated[bool, typer.Option(help="Leave out inactive offers.")] = False,
) -> None:
    """List offers with their purpose, rules and variants."""
    with session() as s:
        offers = offers_service.list_offers(s, active_only=active_only)
    console.print(_offers_table(offers))


@app.command("add")
@exits_on_error
def add(
    file: Annotated[Path, typer.Argument(help="A YAML or JSON file: one offer or a list.")],
) -> None:
    """Create the offers in FILE, all or none; refused ones name the field (TH-SEN-01)."""
    offers = offers_service.parse_offers(_read(file))
    with session() as s:
        created = offers_service.create_many(
            s, policy=policy(), offers=offers, now=utcnow(), actor="cli"
        )
    for offer in created:
        console.print(f"created offer {offer.id}", highlight=False)


@app.command("deactivate")
@exits_on_error
def deactivate(offer_id: Annotated[str, typer.Argument(help="The offer's id.")]) -> None:
    """Stop showing an offer; its statistics stay."""
    with session() as s:
        offer = offers_service.deactivate(s, offer_id=offer_id, now=utcnow(), actor="cli")
    console.print(f"deactivated offer {offer.id}", highlight=False)


@app.command("stats")
@exits_on_error
def stats() -> None:
    """Show every arm's posterior mean and the treatment-versus-holdout lift."""
    with session() as s:
        report = offers_service.stats(s)
    console.print(_arms_table(report))
    console.print(_lift_line(report.lift), highlight=False)


def _read(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise Invalid(f"cannot read {file}: {e.strerror}", field="file") from e
    try:
        if file.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise Invalid(
            f"{file} is not valid {file.suffix.lstrip('.') or 'YAML'}", field="file"
        ) from e


def _offers_table(offers: list[OfferRead]) -> Table:
    table = Table()
    for header in ("id", "kind", "purpose", "active", "generic", "rules", "variants", "budget"):
        table.add_column(header)
    for o in offers:
        table.add_row(
            o.id,
            o.kind,
            o.purpose,
            "yes" if o.is_active else "no",
            "yes" if o.is_generic else "",
            ", ".join(sorted(o.eligibility)),
            ", ".join(sorted(o.variants)),
            str(o.budget_cap or ""),
        )
    return table


def _arms_table(report: OfferStatsRead) -> Table:
    table = Table(title="Arms (Beta(1, 1) prior)")
    table.add_column("offer")
    table.add_column("segment")
    for header in ("shown", "converted", "posterior mean"):
        table.add_column(header, justify="right")
    for arm in report.arms:
        table.add_row(
            arm.offer_id,
            arm.segment,
            str(arm.impressions),
            str(arm.conversions),
            f"{arm.posterior_mean:.4f}",
        )
    return table


def _lift_line(lift: LiftRead) -> str:
    counts = (
        f"personalized {lift.treatment_converted}/{lift.treatment_shown}, "
        f"holdout {lift.holdout_converted}/{lift.holdout_shown}"
    )
    if lift.lift is None or lift.low is None or lift.high is None:
        return f"lift: not enough data ({counts})"
    return (
        f"lift: {lift.lift * 100:+.2f} points "
        f"(95% interval {lift.low * 100:+.2f} to {lift.high * 100:+.2f}; {counts})"
    )
