"""``rujai serve`` and ``rujai demo``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from sqlalchemy.engine import make_url

from rujai.apikeys import service as apikeys_service
from rujai.audit import anchor
from rujai.audit.signing import load_or_create_signer
from rujai.cli._context import console, exits_on_error, keyring, policy, session, settings
from rujai.config import Settings, get_settings
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.demo import setup as demo_setup
from rujai.errors import Invalid
from rujai.kit.crypto import create_master_key_file
from rujai.kit.time import utcnow
from rujai.main import create_app
from rujai.ops import recovery
from rujai.staff import service as staff_service

DEMO_SCOPES = ["admin", "decide", "track", "consent"]


WORKERS_HELP = (
    "Server processes. More than 1 needs PostgreSQL: each process has its own writer and they "
    "share the database. SQLite stays one process, because SQLite has one writer per database "
    "file: a second process would wait for the first one's write lock, not add throughput."
)


@exits_on_error
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help=WORKERS_HELP)] = 1,
) -> None:
    """Run the HTTP server (migrations are applied first).

    One process by default. On PostgreSQL ``--workers N`` runs N processes on one port; caches
    follow each other through the database (serving versions, model and offer version rows).
    """
    cfg = settings()
    if workers > 1 and make_url(cfg.db.url).get_backend_name() == "sqlite":
        raise Invalid(
            f"--workers {workers} needs PostgreSQL: SQLite has one writer per database file, "
            "so rujai serves it from one process (set RUJAI_DATABASE_URL to a PostgreSQL URL)",
            field="workers",
        )
    _recover(cfg)
    # No access log: paths carry customer ids (personal data stays out of logs).
    common: dict[str, Any] = {
        "host": host or cfg.host, "port": port or cfg.port, "log_level": "info",
        "access_log": False,
    }  # fmt: skip
    if workers == 1:
        uvicorn.run(create_app(cfg.model_copy(update={"run_migrations_on_start": False})), **common)
        return
    os.environ["RUJAI_RUN_MIGRATIONS_ON_START"] = "false"  # migrated once, above; workers re-read
    uvicorn.run("rujai.main:app_from_environment", factory=True, workers=workers, **common)


def _recover(cfg: Settings) -> None:
    """Migrate once, then finish every logged erasure before a request is taken (or fail)."""
    report = recovery.before_serving(cfg, keyring=keyring(), policy=policy(), clock=utcnow)
    if report.replayed:
        console.print(
            f"finished {report.replayed} erasure(s) from the erasure log before serving "
            f"({report.erased} profile(s) erased, {report.requests_completed} request(s) "
            "completed)",
            highlight=False,
        )


@exits_on_error
def demo(
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    customers: Annotated[int, typer.Option(help="Customers to seed (first run only).")] = 2000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare, then exit.")] = False,
) -> None:
    """Set up a demo in ./var (SQLite, example policy, keys, a seeded brand) and serve it."""
    cfg = settings()
    key_file = Path(cfg.security.master_key_file)
    if create_master_key_file(key_file) and cfg.security.master_key is None:
        console.print(f"created master key {key_file} (mode 0600); keep it secret, keep it safe")
    upgrade(cfg.db.url)
    console.print(f"database {cfg.db.url} migrated; policy {cfg.policy.path}")
    with session() as s:
        created = apikeys_service.create(s, name="demo", scopes=DEMO_SCOPES, now=utcnow())
        logins = staff_service.ensure_demo_staff(s, now=utcnow())
    _print_urls(f"http://{cfg.host}:{port}", created.key, logins)
    work = threading.Thread(target=_prepare, args=(cfg, customers), daemon=True)
    work.start()
    if no_serve:
        work.join()
        return
    get_settings.cache_clear()
    if not cfg.web.preview_test_profiles:  # the demo marketer previews one seeded customer
        cfg.web.preview_test_profiles = [DEMO_TEST_PROFILE]
    app = create_app(cfg.model_copy(update={"run_migrations_on_start": False}))
    uvicorn.run(app, host=cfg.host, port=port, log_level="warning", access_log=False)


def _checkpoint_audit(cfg: Settings) -> None:
    """Sign the seeded audit head, so ``rujai audit verify`` has a checkpoint to check against."""
    signer = load_or_create_signer(cfg.audit.signing_key_file)
    with session() as s:
        head = anchor.checkpoint(s, signer, cfg.audit.checkpoint_file, utcnow())
    if head is not None:
        console.print(
            f"[dim]demo:[/dim] audit checkpoint #{head.seq} in {cfg.audit.checkpoint_file}"
        )


def _prepare(cfg: Settings, customers: int) -> None:
    engine = make_engine(cfg.db.url)
    try:
        ready = demo_setup.prepare(
            make_session_factory(engine),
            keyring=keyring(),
            policy=policy(),
            customers=customers,
            now=utcnow(),
            say=lambda line: console.print(f"[dim]demo:[/dim] {line}"),
        )
        console.print(f"[bold green]demo data ready[/bold green] in {ready.seconds:.0f} s")
        _checkpoint_audit(cfg)
    finally:
        engine.dispose()


DEMO_TEST_PROFILE = "BS-000001"  # a seeded, fictional customer: the demo's test profile


def _print_urls(base: str, key: str, logins: list[tuple[str, str, str]]) -> None:
    console.print(f"\n[bold]rujai demo[/bold] on {base}")
    console.print(f"  privacy center  {base}/privacy/   (customers sign in with a one-time code)")
    console.print(f"  staff console   {base}/console/")
    for username, role, password in logins:
        console.print(f"    login {username} / {password}   ({role})")
    if not logins:
        console.print("    (demo staff exist already; see `rujai staff list`)")
    console.print("    customers: sign in with a customer id such as BS-000003; the one-time code")
    console.print(
        "    goes to the demo outbox: console → Requests → Outbox, or `rujai requests outbox`"
    )
    console.print(f"  API docs        {base}/docs")
    console.print(f"  purposes        {base}/v1/purposes")
    console.print(f"  notice (th)     {base}/v1/notice?lang=th&format=html")
    console.print(f"  API key         {key}   (scopes: {', '.join(DEMO_SCOPES)})")
    console.print(
        f'  try             curl -H "Authorization: Bearer {key}" -H "content-type: '
        f'application/json" -d \'{{"customer_id":"BS-000001","placement":'
        f'"home_for_you"}}\' {base}/v1/decide'
    )
    console.print("  seeding the demo brand in the background; decisions personalize once ready\n")
