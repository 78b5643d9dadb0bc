"""Erasure of one heavy subject, end to end, in a PostgreSQL database of a million events.

    python bench/erasure.py [--subjects 50000] [--events-per-subject 20] [--heavy 10000]

Setup (not measured): a fresh database in ``RUJAI_TEST_POSTGRES_URL`` (default: the local
server), migrated with ``rujai.db.upgrade``; subjects with their own data keys, a consent to
recommendations each, and sealed events (a browsing-heavy mix with product views and purchases),
all bulk-loaded with binary ``COPY``; one "heavy" subject with ``--heavy`` events (purchases in
orders of two lines, so legal holds are kept); a 500-item catalogue; the recommender trained over
everyone (the heavy subject is a member); ``ANALYZE``. One ordinary subject is erased first to warm
up statement caches.

Measured: ``rights.erasure.erase`` of the heavy subject — audit, legal holds, exact unlearning
(recommender and bandit), every domain's erasure, suppression, key destruction, subject delete —
and the commit (``erase_s``). The floor is a plain ``SELECT`` of that subject's event rows,
fetched (``floor_s``, best of three); ``ratio = erase_s / floor_s``. Target: erase < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from _common import figure, note, timed
from psycopg.types.json import Json
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from rujai.catalog import service as catalog_service
from rujai.catalog.schemas import ItemCreate
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.events.store import BatchSealer
from rujai.kit.crypto import Keyring, seal
from rujai.personalize import recommend
from rujai.policy.loader import load_policy_file
from rujai.policy.notice import purpose_notice_hash
from rujai.policy.schemas import Policy
from rujai.profiles.sealing import subject_aad
from rujai.rights import erasure
from rujai.writer import session_scope

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POLICY = os.path.join(os.path.dirname(__file__), "..", "examples", "policy.yaml")
ITEMS = [f"SKU-{n:03d}" for n in range(500)]
PURPOSE = "recommendations"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SEED = 20261101
EVENT_COLUMNS = (
    ("id", "uuid"), ("subject_id", "uuid"), ("type", "varchar"), ("category", "varchar"),
    ("message_id", "varchar"), ("occurred_at", "timestamptz"), ("received_at", "timestamptz"),
    ("properties_sealed", "bytea"), ("source", "varchar"), ("is_partner_data", "bool"),
)  # fmt: skip
SUBJECT_COLUMNS = (
    ("id", "uuid"), ("customer_ref", "varchar"), ("customer_id_sealed", "bytea"),
    ("data_key_wrapped", "bytea"), ("is_restricted", "bool"), ("objections", "json"),
    ("created_at", "timestamptz"), ("updated_at", "timestamptz"), ("age_band", "varchar"),
)  # fmt: skip
RECORD_COLUMNS = (
    ("id", "uuid"), ("subject_id", "uuid"), ("purpose", "varchar"), ("action", "varchar"),
    ("notice_version", "int4"), ("notice_hash", "varchar"), ("language", "varchar"),
    ("channel", "varchar"), ("actor", "varchar"), ("is_explicit", "bool"),
    ("recorded_at", "timestamptz"),
)  # fmt: skip
STATE_COLUMNS = (
    ("subject_id", "uuid"), ("purpose", "varchar"), ("role", "varchar"), ("record_id", "uuid"),
    ("updated_at", "timestamptz"),
)  # fmt: skip


@contextmanager
def database() -> Iterator[tuple[str, str]]:
    """Yield (SQLAlchemy URL, libpq URL) of a fresh migrated database; drop it afterwards."""
    server = make_url(os.environ.get("RUJAI_TEST_POSTGRES_URL") or DEFAULT_PG)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"rujai_bench_erasure_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(drivername="postgresql+psycopg", database=name)
    try:
        upgrade(url.render_as_string(hide_password=False))
        yield (
            url.render_as_string(hide_password=False),
            url.set(drivername="postgresql").render_as_string(hide_password=False),
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- generated data ------------------------------------------------------------------------------


def properties(kind: str, rng: random.Random, order: str) -> dict[str, Any]:
    """Declared properties of each type (the example policy's)."""
    item = rng.choice(ITEMS)
    if kind == "page_view":
        return {"path": f"/th/c/{rng.randrange(40)}/p/{item}"}
    if kind == "product_view":
        return {"item_id": item}
    return {"order_id": order, "item_id": item, "quantity": 1, "amount": 390.0, "currency": "THB"}


def kinds(count: int, rng: random.Random) -> list[str]:
    """A browsing-heavy mix: 80 % page views, 15 % product views, 5 % purchase lines."""
    return rng.choices(("page_view", "product_view", "purchase"), (80, 15, 5), k=count)


def subject_row(keyring: Keyring, index: int) -> tuple[tuple[Any, ...], bytes]:
    """A customer's subject row (customer id sealed, blind-indexed) and its raw data key."""
    sid, wrapped = uuid.uuid4(), keyring.new_wrapped_data_key()
    key, customer = keyring.unwrap(wrapped), f"BENCH-{index:06d}"
    sealed = seal(key, customer.encode(), subject_aad("customer_id", sid))
    ref = keyring.blind("customer", customer)
    # Of full age (TH-MIN-01): the product asks the age before a profiling grant, so must the load.
    return (sid, ref, sealed, wrapped, False, Json([]), NOW, NOW, "adult"), key


def event_rows(
    sid: uuid.UUID, key: bytes, count: int, rng: random.Random, sealer: BatchSealer
) -> Iterator[tuple[Any, ...]]:
    """``count`` sealed events of one subject over two years; purchases in 2-line orders."""
    for j, kind in enumerate(kinds(count, rng)):
        order = f"ORD-{sid.hex[:12]}-{j // 2}"
        when = NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        sealed = sealer.seal(key, sid, properties(kind, rng, order))
        category = "purchase_history" if kind == "purchase" else "browsing"
        message = f"{sid.hex}-{j}"
        yield (uuid.uuid4(), sid, kind, category, message, when, when, sealed, "import", False)


def copy_rows(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[tuple[str, str]], rows: Any
) -> int:
    """Binary ``COPY`` of ``rows`` into ``table``; return how many."""
    names = ", ".join(name for name, _ in columns)
    count = 0
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types([kind for _, kind in columns])
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def load(libpq: str, keyring: Keyring, policy: Policy, args: argparse.Namespace) -> uuid.UUID:
    """Bulk-load subjects, consents and events; return the heavy subject's id."""
    rng, sealer = random.Random(SEED), BatchSealer()
    subjects = [subject_row(keyring, n) for n in range(args.subjects)]
    heavy: uuid.UUID = subjects[0][0][0]
    notice = (policy.purposes[PURPOSE].notice.version, purpose_notice_hash(policy, PURPOSE, "th"))
    records = [(uuid.uuid4(), row[0]) for row, _ in subjects]
    with psycopg.connect(libpq) as conn:
        copy_rows(conn, "subject", SUBJECT_COLUMNS, (row for row, _ in subjects))
        copy_rows(conn, "consent_record", RECORD_COLUMNS, (
            (rid, sid, PURPOSE, "grant", notice[0], notice[1], "th", "web", "self", False, NOW)
            for rid, sid in records
        ))  # fmt: skip
        copy_rows(conn, "consent_state", STATE_COLUMNS, (
            (sid, PURPOSE, "subject", rid, NOW) for rid, sid in records
        ))  # fmt: skip
        events = (
            row
            for (subject, key) in subjects
            for row in event_rows(
                subject[0], key, args.heavy if subject[0] == heavy else args.per_subject, rng,
                sealer,
            )
        )  # fmt: skip
        total = copy_rows(conn, "event", EVENT_COLUMNS, events)
        conn.commit()
    note(f"loaded {args.subjects} subjects and {total} events")
    return heavy


def catalogue() -> list[ItemCreate]:
    return [
        ItemCreate(id=sku, name_th=f"สินค้า {sku}", name_en=f"Product {sku}",
                   product_category="home", price_thb=Decimal("390"))
        for sku in ITEMS
    ]  # fmt: skip


# --- the run -------------------------------------------------------------------------------------


def floor_s(libpq: str, subject_id: uuid.UUID) -> tuple[float, int]:
    """Best of three plain SELECTs of the subject's event rows, fetched."""
    best, rows = float("inf"), 0
    with psycopg.connect(libpq) as conn:
        for _ in range(3):
            with timed() as timer:
                rows = len(conn.execute("SELECT * FROM event WHERE subject_id = %s",
                                        [subject_id]).fetchall())  # fmt: skip
            best = min(best, timer.seconds)
    return best, rows


def erase(
    factory: sessionmaker[Session], keyring: Keyring, policy: Policy, subject_id: uuid.UUID
) -> erasure.ErasureReport:
    with session_scope(factory) as session:
        return erasure.erase(
            session, keyring=keyring, policy=policy, subject_id=subject_id, request_id=None,
            now=NOW, actor="bench",
        )  # fmt: skip


def setup(
    url: str, libpq: str, keyring: Keyring, policy: Policy, args: argparse.Namespace
) -> tuple[sessionmaker[Session], uuid.UUID]:
    """Load the data, train the recommender, ANALYZE, warm up; return the heavy subject."""
    factory = make_session_factory(make_engine(url))
    with timed() as timer:
        heavy = load(libpq, keyring, policy, args)
        with session_scope(factory) as s:
            catalog_service.upsert_many(s, items=catalogue(), now=NOW)
            info = recommend.train(s, keyring=keyring, policy=policy, now=NOW)
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute("ANALYZE")
            ordinary = conn.execute("SELECT id FROM subject WHERE id <> %s LIMIT 1", [heavy])
            warm_up = ordinary.fetchone()
    note(f"setup {timer.seconds:.1f} s; model {info.version}: {info.n_users} users, "
         f"{info.n_items} items")  # fmt: skip
    if warm_up is not None:
        erase(factory, keyring, policy, warm_up[0])  # statement caches, as in a running server
    return factory, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=50_000)
    parser.add_argument("--events-per-subject", dest="per_subject", type=int, default=20)
    parser.add_argument("--heavy", type=int, default=10_000)
    args = parser.parse_args()
    policy, keyring = load_policy_file(POLICY), Keyring(os.urandom(32))
    with database() as (url, libpq):
        factory, heavy = setup(url, libpq, keyring, policy, args)
        floor, rows = floor_s(libpq, heavy)
        with timed() as timer:
            report = erase(factory, keyring, policy, heavy)
        note(json.dumps(report.model_dump(mode="json"), sort_keys=True))
        factory.kw["bind"].dispose()
    figure("events_total", args.subjects * args.per_subject - args.per_subject + args.heavy, "")
    figure("subjects", args.subjects, "")
    figure("heavy_subject_events", rows, "")
    figure("legal_holds_kept", report.legal_holds, "")
    figure("erase_s", timer.seconds, "s")
    figure("floor_s", floor, "s")
    figure("ratio", timer.seconds / floor, "x")


if __name__ == "__main__":
    main()
