"""``rujai db``: apply and revert migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from rujai import db as rujai_db
from rujai.cli._context import console, settings

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    rujai_db.upgrade(settings().db.url, revision)
    console.print(f"database at revision {revision}")


@app.command("downgrade")
def downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION (e.g. -1 or base)."""
    rujai_db.downgrade(settings().db.url, revision)
    console.print(f"database at revision {revision}")
