"""Event ingest throughput on SQLite and PostgreSQL, against a plain bulk insert of the same rows.

    python bench/ingest.py [--events 200000] [--batch 1000] [--customers 20000] [--profile]

For each backend: a fresh database (migrated with ``rujai.db.upgrade``); consents granted through
``consent.service.record`` for a share of the customers (not timed); then the timed part streams
generated events (a realistic mix of types, anonymous visitors, undeclared properties, PII in
searches, retried message ids) through ``events.service.ingest`` in batches, one transaction per
batch. The floor is the same final rows (already sealed, read back from the first database) put
into an empty copy with a plain bulk insert, also one transaction per batch.

``*_events_per_s`` counts every event offered (accepted, duplicate or dropped); ``*_ratio`` is the
floor's time over ingest's time for the same stored rows (1.0 = ingest costs no more than storing).
PostgreSQL databases are created and dropped in ``RUJAI_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import psycopg
from _common import figure, note, peak_rss_mb, timed
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

import rujai.listeners
import rujai.models_registry  # noqa: F401 - fills Base.metadata
from rujai.consent import service as consent_service
from rujai.consent.schemas import ConsentCreate
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.events import service as events_service
from rujai.events.models import Event
from rujai.events.readers import RawEvent, iter_batches
from rujai.kit.crypto import Keyring
from rujai.kit.time import utcnow
from rujai.policy.loader import load_policy_file
from rujai.policy.schemas import Policy
from rujai.profiles.models import Subject
from rujai.writer import session_scope

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GRANTS = {"recommendations": 0.45, "analytics": 0.15}  # share of customers granting each purpose
TYPES = (
    ("page_view", 0.38),
    ("product_view", 0.24),
    ("add_to_cart", 0.09),
    ("search", 0.09),
    ("purchase", 0.15),
    ("store_visit", 0.05),
)
ANONYMOUS_SHARE = 0.12
RETRY_SHARE = 0.01


# --- data ----------------------------------------------------------------------------------------


def customers(count: int) -> list[str]:
    """Fictional customer ids."""
    return [f"BS-{n:06d}" for n in range(count)]


def properties(kind: str, rng: random.Random, n: int) -> dict[str, Any]:
    """Realistic properties per type, with an undeclared one now and then (TH-MIN-02)."""
    item = f"SKU-{rng.randrange(4000):05d}"
    props: dict[str, Any]
    if kind == "page_view":
        props = {"path": f"/th/c/{rng.randrange(60)}/p/{item}", "referrer": "/th"}
    elif kind == "product_view":
        props = {"item_id": item, "category": "bedding"}
    elif kind == "add_to_cart":
        props = {"item_id": item, "quantity": rng.randint(1, 3), "price": 590.0}
    elif kind == "search":  # one query in three holds a phone number, masked on the way in
        props = {"query": rng.choice(("หมอนอิง", "ผ้าปูที่นอน สีเทา", "โทร 0812345678"))}
    elif kind == "purchase":
        amount = round(rng.uniform(99, 4990), 2)
        props = {"order_id": f"ORD-{n}", "item_id": item, "quantity": 1, "amount": amount}
    else:
        props = {"store_id": f"BKK-{rng.randrange(40):02d}"}
    if rng.random() < 0.1:
        props["utm_source"] = "line"
    return props


def events(total: int, people: list[str], seed: int, now: datetime) -> Iterator[RawEvent]:
    """Stream ``total`` events; nothing is built up front."""
    rng = random.Random(seed)
    names, weights = zip(*TYPES, strict=True)
    for n in range(total):
        kind = rng.choices(names, weights)[0]
        anonymous = kind != "purchase" and rng.random() < ANONYMOUS_SHARE
        retry = n > 0 and rng.random() < RETRY_SHARE
        yield RawEvent(
            line=n + 1,
            type=kind,
            customer_id=None if anonymous else people[int(rng.paretovariate(1.2)) % len(people)],
            anonymous_id=f"dev-{rng.randrange(50_000)}" if anonymous else None,
            timestamp=now - timedelta(seconds=rng.randrange(30 * 86_400)),
            message_id=f"bench-{rng.randrange(n) if retry else n}",
            properties=properties(kind, rng, n),
        )


def grant_consents(
    factory: sessionmaker[Session], policy: Policy, keyring: Keyring, people: list[str]
) -> int:
    """Record grants through the consent service for a share of the customers (not timed)."""
    rng = random.Random(7)
    granted = 0
    with session_scope(factory) as session:
        for person in people:
            for purpose, share in GRANTS.items():
                if rng.random() < share:
                    grant(session, policy, keyring, person, purpose)
                    granted += 1
    return granted


def grant(session: Session, policy: Policy, keyring: Keyring, person: str, purpose: str) -> None:
    """One grant on the web, in Thai, against the current notice, by an adult (the age is asked
    before a profiling grant, TH-MIN-01)."""
    version = policy.purposes[purpose].notice.version
    change = ConsentCreate(
        purpose=purpose, action="grant", language="th", channel="web", notice_version=version,
        age_band="adult",
    )  # fmt: skip
    consent_service.record(
        session, keyring=keyring, policy=policy, customer_id=person, change=change,
        now=utcnow(), evidence_ip=None, evidence_user_agent=None, by="bench",
    )  # fmt: skip


# --- databases -----------------------------------------------------------------------------------


@contextmanager
def databases(backend: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """Yield URLs of two fresh migrated databases (ingest, floor); drop them afterwards."""
    if backend == "sqlite":
        urls = tuple(f"sqlite:///{workdir / f'{name}.db'}" for name in ("ingest", "floor"))
        for url in urls:
            upgrade(url)
        yield urls[0], urls[1]
        return
    server = make_url(os.environ.get("RUJAI_TEST_POSTGRES_URL") or DEFAULT_PG)
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    names = [f"rujai_bench_{uuid.uuid4().hex[:8]}_{kind}" for kind in ("ingest", "floor")]
    with psycopg.connect(libpq, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    pg_urls = [server.set(database=n).render_as_string(hide_password=False) for n in names]
    try:
        for url in pg_urls:
            upgrade(url)
        yield pg_urls[0], pg_urls[1]
    finally:
        with psycopg.connect(libpq, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def chunks(engine: Engine, table: Table, size: int) -> Iterator[list[dict[str, Any]]]:
    """Stream a table's rows in insertion order, ``size`` at a time (server-side cursor)."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=size).execute(select(table))
        for part in result.mappings().partitions(size):
            yield [dict(row) for row in part]


def copy_table(source: Engine, target: Engine, table: Table, size: int) -> None:
    """Copy every row of ``table`` (not timed: the floor needs the subjects for its FK)."""
    for rows in chunks(source, table, size):
        with target.begin() as conn:
            conn.execute(insert(table), rows)


def floor(source: Engine, target: Engine, size: int, *, copy: bool = False) -> tuple[int, float]:
    """Insert the sealed event rows into the empty copy, a batch per transaction; time inserts.

    The floor is a plain bulk insert through SQLAlchemy Core (executemany); with ``copy`` on
    PostgreSQL, binary COPY, the fastest way we know to load the same rows.
    """
    table = cast(Table, Event.__table__)
    with target.begin() as conn:
        conn.execute(delete(table))
    rows_done, seconds = 0, 0.0
    for rows in chunks(source, table, size):
        with timed() as timer, target.begin() as conn:
            if copy:
                copy_rows(conn, table, rows)
            else:
                conn.execute(insert(table), rows)
        rows_done, seconds = rows_done + len(rows), seconds + timer.seconds
    return rows_done, seconds


def copy_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``COPY ... FROM STDIN (FORMAT BINARY)`` on PostgreSQL."""
    names = [c.name for c in table.columns]
    types = [c.type.compile(dialect=conn.dialect).split("(")[0].lower() for c in table.columns]
    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row([row[name] for name in names])


# --- the run -------------------------------------------------------------------------------------


def ingest_all(
    factory: sessionmaker[Session],
    policy: Policy,
    keyring: Keyring,
    args: argparse.Namespace,
    people: list[str],
) -> tuple[int, float]:
    """Stream the events through ``ingest``, one transaction per batch; return (stored, seconds)."""
    stored, seconds = 0, 0.0
    for batch in iter_batches(events(args.events, people, args.seed, utcnow()), args.batch):
        with timed() as timer, session_scope(factory) as session:
            summary = events_service.ingest(
                session,
                keyring=keyring,
                policy=policy,
                events=batch,
                source="import",
                is_partner_data=False,
                now=utcnow(),
                actor="bench",
                want_results=False,
            )
        stored, seconds = stored + summary.accepted, seconds + timer.seconds
    return stored, seconds


def run_backend(backend: str, args: argparse.Namespace, policy: Policy, keyring: Keyring) -> None:
    """Measure one backend and print its figures."""
    with tempfile.TemporaryDirectory() as tmp, databases(backend, Path(tmp)) as (url, floor_url):
        engine, floor_engine = make_engine(url), make_engine(floor_url)
        try:
            ingest_s = measure_ingest(engine, policy, keyring, args, backend)
            copy_table(engine, floor_engine, cast(Table, Subject.__table__), 5_000)
            floor_rows, floor_s = floor(engine, floor_engine, args.batch)
            if backend == "postgresql":
                _, copy_s = floor(engine, floor_engine, args.batch, copy=True)
        finally:
            engine.dispose()
            floor_engine.dispose()
    label = "postgres" if backend == "postgresql" else backend
    figure(f"{label}_events_per_s", round(args.events / ingest_s), "events/s")
    figure(f"{label}_floor_per_s", round(floor_rows / floor_s), "rows/s")
    figure(f"{label}_ratio", round(floor_s / ingest_s, 3), "x")
    if backend == "postgresql":
        figure(f"{label}_copy_floor_per_s", round(floor_rows / copy_s), "rows/s")
        figure(f"{label}_copy_ratio", round(copy_s / ingest_s, 3), "x")


def measure_ingest(
    engine: Engine, policy: Policy, keyring: Keyring, args: argparse.Namespace, backend: str
) -> float:
    """Grant consents (not timed), then time the ingest; cProfile it when asked."""
    people = customers(args.customers)
    factory = make_session_factory(engine)
    note(f"{backend}: {grant_consents(factory, policy, keyring, people)} consents granted")
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    stored, seconds = ingest_all(factory, policy, keyring, args, people)
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    note(f"{backend}: {stored} of {args.events} events stored in {seconds:.1f} s")
    return seconds


def main() -> None:
    """Parse the options and measure SQLite, then PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest (stderr).")
    args = parser.parse_args()
    policy = load_policy_file(REPO / "examples" / "policy.yaml")
    keyring = Keyring(os.urandom(32))
    note(f"{args.events} events, batches of {args.batch}, {args.customers} customers")
    for backend in args.backends.split(","):
        run_backend(backend, args, policy, keyring)
    figure("peak_rss_mb", round(peak_rss_mb(), 1), "MB")


if __name__ == "__main__":
    main()
