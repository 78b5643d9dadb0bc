"""``rujai serve`` and ``rujai demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from rujai.apikeys import service as apikeys_service
from rujai.cli._context import console, exits_on_error, session, settings
from rujai.config import get_settings
from rujai.db import upgrade
from rujai.kit.crypto import create_master_key_file
from rujai.kit.time import utcnow
from rujai.main import create_app

DEMO_SCOPES = ["admin", "decide", "track", "consent"]


@exits_on_error
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Run the HTTP server (migrations are applied first)."""
    cfg = settings()
    # No access log: paths carry customer ids (personal data stays out of logs).
    uvicorn.run(
        create_app(cfg),
        host=host or cfg.host,
        port=port or cfg.port,
        log_level="info",
        access_log=False,
    )


@exits_on_error
def demo(
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up, then exit.")] = False,
) -> None:
    """Set up a demo in ./var (SQLite, example policy, master key, API key) and serve it."""
    cfg = settings()
    key_file = Path(cfg.security.master_key_file)
    if create_master_key_file(key_file) and cfg.security.master_key is None:
        console.print(f"created master key {key_file} (mode 0600); keep it secret, keep it safe")
    upgrade(cfg.db.url)
    console.print(f"database {cfg.db.url} migrated; policy {cfg.policy.path}")
    with session() as s:
        created = apikeys_service.create(s, name="demo", scopes=DEMO_SCOPES, now=utcnow())
    base = f"http://{cfg.host}:{port}"
    console.print(f"\n[bold]rujai demo[/bold] on {base}")
    console.print(f"  API docs      {base}/docs")
    console.print(f"  purposes      {base}/v1/purposes")
    console.print(f"  notice (th)   {base}/v1/notice?lang=th")
    console.print(f"  API key       {created.key}   (scopes: {', '.join(DEMO_SCOPES)})")
    console.print(
        f'  try           curl -H "Authorization: Bearer {created.key}" {base}/v1/purposes\n'
    )
    if no_serve:
        return
    get_settings.cache_clear()
    uvicorn.run(
        create_app(cfg.model_copy(update={"run_migrations_on_start": False})),
        host=cfg.host,
        port=port,
        log_level="warning",
    )
