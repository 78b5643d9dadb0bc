"""``rujai recs``: train the recommender and show what a customer would be recommended (admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rujai.cli._context import console, exits_on_error, keyring, policy, session
from rujai.kit.time import utcnow
from rujai.personalize import recommend as recommend_service
from rujai.personalize.schemas import Recs

app = typer.Typer(no_args_is_help=True)

ACTOR = "cli"


@app.command("train")
@exits_on_error
def train(
    l2: Annotated[
        float | None, typer.Option(help="Ridge strength (default: the service's).")
    ] = None,
    min_item_count: Annotated[
        int, typer.Option(help="Only items bought or viewed by this many subjects.")
    ] = 1,
) -> None:
    """Fit a new model version on the subjects whose consent covers recommendations."""
    with console.status("training the recommender on consenting subjects..."), session() as s:
        info = recommend_service.train(
            s, keyring=keyring(), policy=policy(), now=utcnow(), l2=l2,
            min_item_count=min_item_count, actor=ACTOR,
        )  # fmt: skip
    console.print(
        f"model {info.version}: {info.n_users} users, {info.n_items} items, fit {info.fit_s:.2f} s",
        highlight=False,
    )


@app.command("show")
@exits_on_error
def show(
    customer_id: Annotated[str, typer.Argument(help="The brand's customer id.")],
    k: Annotated[int, typer.Option("--k", min=1, max=200, help="How many items.")] = 10,
) -> None:
    """Show a customer's recommendations and why (checked against the policy; audited)."""
    with session() as s:
        recs = recommend_service.show_for_customer(
            s, keyring=keyring(), policy=policy(), customer_id=customer_id, k=k, now=utcnow(),
            actor=ACTOR,
        )  # fmt: skip
    if not recs.personalized:
        why = f" ({recs.reason})" if recs.reason else ""
        console.print(f"not personalized{why}: the fallback is shown", highlight=False)
        return
    console.print(f"model {recs.model_version}", highlight=False)
    console.print(_table(recs))


def _table(recs: Recs) -> Table:
    table = Table()
    for header in ("#", "item", "score", "because"):
        table.add_column(header)
    for rank, item in enumerate(recs.items, start=1):
        table.add_row(str(rank), item.item_id, f"{item.score:.4f}", ", ".join(item.because))
    return table
