"""``rujai keys``: create, list and revoke API keys (TH-SEC-01)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer
from rich.table import Table

from rujai.apikeys import service as apikeys_service
from rujai.apikeys.schemas import ApiKeyRead
from rujai.cli._context import console, err_console, exits_on_error, session
from rujai.errors import Invalid
from rujai.kit.time import utcnow

app = typer.Typer(no_args_is_help=True)


@app.command("create")
@exits_on_error
def create(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'web shop'.")],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="admin, decide, track, consent, dpo, partner:<id> or processor:<id> (repeatable).",
        ),
    ],
) -> None:
    """Create an API key and print it once."""
    try:
        with session() as s:
            created = apikeys_service.create(s, name=name, scopes=scope, now=utcnow(), actor="cli")
    except Invalid as e:
        option = {"scopes": "--scope", "name": "--name"}.get(e.field or "", "")
        raise Invalid(f"{option}: {e.message}" if option else e.message, field=e.field) from e
    console.print(f"created key {created.id} ({', '.join(created.scopes)})", highlight=False)
    console.print(created.key, markup=False, highlight=False, soft_wrap=True)
    err_console.print("[yellow]This key is shown only once; store it now.[/yellow]")


@app.command("list")
@exits_on_error
def list_keys() -> None:
    """List API keys (never their secrets)."""
    with session() as s:
        keys = apikeys_service.list_keys(s)
    console.print(_keys_table(keys))


def _keys_table(keys: list[ApiKeyRead]) -> Table:
    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)
    for header in ("name", "prefix", "scopes", "created (UTC)", "revoked (UTC)"):
        table.add_column(header)
    for k in keys:
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else ""
        created = k.created_at.strftime("%Y-%m-%d %H:%M")
        scopes = [f"partner:{k.recipient}" if s == "partner" else s for s in k.scopes]
        table.add_row(str(k.id), k.name, k.prefix, ",".join(scopes), created, revoked)
    return table


@app.command("revoke")
@exits_on_error
def revoke(
    key_id: Annotated[UUID, typer.Argument(help="The key's id (see `rujai keys list`).")],
) -> None:
    """Revoke an API key; it stops working at once."""
    with session() as s:
        revoked = apikeys_service.revoke(s, key_id=key_id, now=utcnow(), actor="cli")
    console.print(f"revoked key {revoked.id} ({revoked.prefix})", highlight=False)
