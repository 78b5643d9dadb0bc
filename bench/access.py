"""Access export of one heavy subject, as shipped, in a PostgreSQL database of a million events.

    python bench/access.py [--subjects 50000] [--events-per-subject 20] [--heavy 10000]
                           [--light 1000] [--decisions 100] [--repeat 5] [--reuse]
                           [--database-url URL] [--profile FILE]

Setup (not measured): the data shape of ``bench/erasure.py`` (its builders are reused): a fresh
database in ``--database-url`` / ``RUJAI_TEST_POSTGRES_URL`` (default: the local server),
migrated; subjects with their own data keys and a consent each; sealed events bulk-loaded with
binary ``COPY``; a "heavy" subject with ``--heavy`` events and a "light" one with ``--light``;
both get traits (an identify), more consents, insights and decisions (``--decisions`` each, made
through ``personalize.decide``); a 500-item catalogue; the recommender trained over everyone;
``ANALYZE``. ``--reuse`` keeps that seeded database as a template (``rujai_bench_access_*``, its
master key in ``var/bench/``) and runs on a fresh copy of it. ``--profile FILE`` writes a
cProfile of one more copy (read it with ``python -m pstats FILE``).

Measured (medians of ``--repeat`` runs, after one warm-up of the light subject), through the
service in this process, not through a server: ``rights.export.open_export``, the function behind
the API's ``GET /v1/requests/{id}/export`` (``rights.processing.deliver_export``) and the privacy
center's download: the permit from the door, every domain's ``export_subject``, the
``rights.export`` audit entry, the ZIP (export.json, CSVs, schema, summary.html) written into a
spooled file, the commit, then the file read out in the chunks the HTTP response streams
(``access_export_s``; ``access_export_best_s`` the fastest run; ``access_export_cpu_s`` this
process's CPU seconds, steadier than wall time on a shared machine; ``access_export_db_cpu_s``
the PostgreSQL backend's, read from /proc). The floor is a plain ``SELECT`` of the subject's rows
from every table the export reads (subject, identity, trait, consent_record, event, insight,
decision, recommender_member, rights_request), fetched to Python with psycopg
(``access_floor_s``); ``ratio = access_export_s / access_floor_s``. ``access_export_peak_mb`` is
the tracemalloc peak of one copy of the heavy subject, ``access_export_peak_mb_light`` of the
light one (a tenth of the history): streamed, they stay about the same. Target: export <= 0.5 s
(the issue's Fides figure: 2.2 s).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from _common import REPO_ROOT, figure, note, timed
from erasure import (
    DEFAULT_PG,
    EVENT_COLUMNS,
    NOW,
    POLICY,
    PURPOSE,
    RECORD_COLUMNS,
    SEED,
    STATE_COLUMNS,
    SUBJECT_COLUMNS,
    catalogue,
    copy_rows,
    event_rows,
    subject_row,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from rujai.catalog import service as catalog_service
from rujai.config import PersonalizeSettings
from rujai.consent import service as consent_service
from rujai.consent.schemas import ConsentCreate
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.events.store import BatchSealer
from rujai.kit import heap
from rujai.kit.crypto import Keyring
from rujai.personalize import decide, insights, recommend
from rujai.personalize.decision_schemas import DecideCreate
from rujai.policy.loader import load_policy_file
from rujai.policy.notice import purpose_notice_hash
from rujai.policy.schemas import Policy
from rujai.profiles import merge as profiles_merge
from rujai.profiles.schemas import IdentifyCreate
from rujai.rights import export
from rujai.writer import session_scope

CACHE = REPO_ROOT / "var" / "bench"
FLOOR_TABLES = (
    ("subject", "id"), ("identity", "subject_id"), ("trait", "subject_id"),
    ("consent_record", "subject_id"), ("event", "subject_id"), ("insight", "subject_id"),
    ("decision", "subject_id"), ("recommender_member", "subject_id"),
    ("rights_request", "subject_id"),
)  # fmt: skip
MORE_CONSENTS = ("personalized_offers", "analytics", "email_marketing")


# --- the database --------------------------------------------------------------------------------


def _cache_name(args: argparse.Namespace) -> str:
    return f"access_{args.subjects}_{args.per_subject}_{args.heavy}_{args.light}_{args.decisions}"


@contextmanager
def database(args: argparse.Namespace) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (SQLAlchemy URL, libpq URL, meta) of a seeded database; dropped afterwards."""
    server = make_url(args.database_url or os.environ.get("RUJAI_TEST_POSTGRES_URL") or DEFAULT_PG)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    run_name = f"rujai_bench_access_{uuid.uuid4().hex[:8]}"
    cache_name = f"rujai_bench_{_cache_name(args)}"
    sidecar = CACHE / f"{_cache_name(args)}.json"
    meta = json.loads(sidecar.read_text()) if args.reuse and sidecar.exists() else None
    with psycopg.connect(admin, autocommit=True) as conn:
        if meta is None and args.reuse:
            conn.execute(f'DROP DATABASE IF EXISTS "{cache_name}" WITH (FORCE)')
        target = cache_name if args.reuse and meta is None else run_name
        template = f' TEMPLATE "{cache_name}"' if meta is not None else ""
        conn.execute(f'CREATE DATABASE "{target}"{template}')

    def urls(name: str) -> tuple[str, str]:
        url = server.set(drivername="postgresql+psycopg", database=name)
        return (url.render_as_string(hide_password=False),
                url.set(drivername="postgresql").render_as_string(hide_password=False))  # fmt: skip

    try:
        if meta is None:
            meta = seed(*urls(target), args)
            if args.reuse:
                CACHE.mkdir(parents=True, exist_ok=True)
                sidecar.write_text(json.dumps(meta))
                sidecar.chmod(0o600)  # the (fictional) bench master key
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{run_name}" TEMPLATE "{cache_name}"')
        else:
            note("using the cached seeded database (a fresh copy of it)")
        yield (*urls(run_name), meta)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)')


def seed(url: str, libpq: str, args: argparse.Namespace) -> dict[str, Any]:
    """Migrate, bulk-load, enrich the two measured subjects, train, ANALYZE; return the meta."""
    upgrade(url)
    master = os.urandom(32)
    keyring, policy = Keyring(master), load_policy_file(POLICY)
    with timed() as timer:
        heavy, light = load(libpq, keyring, policy, args)
        factory = make_session_factory(make_engine(url))
        try:
            with session_scope(factory) as s:
                catalog_service.upsert_many(s, items=catalogue(), now=NOW)
                info = recommend.train(s, keyring=keyring, policy=policy, now=NOW)
            for n, sid in enumerate((heavy, light)):
                enrich(factory, keyring, policy, f"BENCH-{n:06d}", sid, args.decisions)
        finally:
            factory.kw["bind"].dispose()
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute("ANALYZE")
    note(f"seeded in {timer.seconds:.1f} s; model {info.version}: {info.n_users} users")
    return {"master_key": base64.b64encode(master).decode(), "heavy": str(heavy),
            "light": str(light)}  # fmt: skip


def load(
    libpq: str, keyring: Keyring, policy: Policy, args: argparse.Namespace
) -> tuple[uuid.UUID, uuid.UUID]:
    """``bench/erasure.py``'s load, with a second measured subject of ``--light`` events."""
    rng, sealer = random.Random(SEED), BatchSealer()
    subjects = [subject_row(keyring, n) for n in range(args.subjects)]
    heavy, light = subjects[0][0][0], subjects[1][0][0]
    sizes = {heavy: args.heavy, light: args.light}
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
                subject[0], key, sizes.get(subject[0], args.per_subject), rng, sealer
            )
        )
        total = copy_rows(conn, "event", EVENT_COLUMNS, events)
        conn.commit()
    note(f"loaded {args.subjects} subjects and {total} events")
    return heavy, light


def enrich(
    factory: sessionmaker[Session],
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    subject_id: uuid.UUID,
    decisions: int,
) -> None:
    """Traits, more consents, insights and decisions for one measured subject."""
    with session_scope(factory) as s:
        profiles_merge.identify(
            s, keyring=keyring, policy=policy, now=NOW, actor="bench",
            body=IdentifyCreate(customer_id=customer_id, traits={
                "email": f"{customer_id.lower()}@example.com", "first_name": "สมหญิง",
                "last_name": "ใจดี", "gender": "f", "preferred_categories": "home",
            }),
        )  # fmt: skip
        for purpose in MORE_CONSENTS:
            spec = policy.purposes[purpose]
            consent_service.record(
                s, keyring=keyring, policy=policy, customer_id=customer_id,
                change=ConsentCreate(purpose=purpose, action="grant", language="th",
                                     channel="web", notice_version=spec.notice.version),
                now=NOW - timedelta(days=30), evidence_ip="192.0.2.10",
                evidence_user_agent="rujai-bench",
            )  # fmt: skip
        insights.refresh_subjects(
            s, keyring=keyring, policy=policy, subject_ids={subject_id}, now=NOW
        )
    settings = PersonalizeSettings(holdout_share=0.0)
    for n in range(decisions):
        with session_scope(factory) as s:
            decide.decide(
                s, policy=policy, keyring=keyring, settings=settings, actor="bench",
                body=DecideCreate(customer_id=customer_id, placement="home_for_you", k=4),
                now=NOW + timedelta(minutes=n),
            )  # fmt: skip


# --- the run -------------------------------------------------------------------------------------


def floor_s(libpq: str, subject_id: uuid.UUID, repeat: int) -> float:
    """Median of plain SELECTs of the subject's rows from every table the export reads."""
    times = []
    with psycopg.connect(libpq) as conn:
        for _ in range(repeat + 1):
            with timed() as timer:
                for table, column in FLOOR_TABLES:
                    conn.execute(
                        f"SELECT * FROM {table} WHERE {column} = %s",  # noqa: S608 - fixed names
                        [subject_id],
                    ).fetchall()
            times.append(timer.seconds)
            conn.rollback()
    return statistics.median(times[1:])


def export_once(
    factory: sessionmaker[Session], keyring: Keyring, policy: Policy, subject_id: uuid.UUID
) -> tuple[int, float]:
    """One copy as a user gets it: built, committed, then read out; return its size and the
    database backend's CPU seconds for it (read from /proc: the server runs on this machine)."""
    with session_scope(factory) as s:
        backend = s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        before = _cpu_of(backend)
        spool = export.open_export(
            s, keyring=keyring, policy=policy, subject_id=subject_id, now=NOW, actor="bench"
        )
        server_cpu = _cpu_of(backend) - before
    size = 0
    with spool:
        for chunk in export.iter_file(spool):
            size += len(chunk)
    return size, server_cpu


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a local process (0 if it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_mb(
    factory: sessionmaker[Session], keyring: Keyring, policy: Policy, subject_id: uuid.UUID
) -> float:
    tracemalloc.start()
    try:
        export_once(factory, keyring, policy, subject_id)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=50_000)
    parser.add_argument("--events-per-subject", dest="per_subject", type=int, default=20)
    parser.add_argument("--heavy", type=int, default=10_000)
    parser.add_argument("--light", type=int, default=1_000)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="Keep/use a seeded copy in var/bench.")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL.")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile one export here.")
    args = parser.parse_args()
    policy = load_policy_file(POLICY)
    with database(args) as (url, libpq, meta):
        keyring = Keyring(base64.b64decode(meta["master_key"]))
        heavy, light = uuid.UUID(meta["heavy"]), uuid.UUID(meta["light"])
        factory = make_session_factory(make_engine(url))
        size, _ = export_once(factory, keyring, policy, light)  # warm-up: statement caches
        heap.settle()  # as the server does after start-up (kit/heap.py)
        times, cpu, server = [], [], []
        for _ in range(args.repeat):
            started = time.process_time()
            with timed() as timer:
                size, server_cpu = export_once(factory, keyring, policy, heavy)
            times.append(timer.seconds)
            cpu.append(time.process_time() - started)
            server.append(server_cpu)
        if args.profile is not None:
            import cProfile

            cProfile.runctx("export_once(factory, keyring, policy, heavy)", globals(),
                            {**locals()}, str(args.profile))  # fmt: skip
        heavy_mb, light_mb = (peak_mb(factory, keyring, policy, s) for s in (heavy, light))
        floor = floor_s(libpq, heavy, args.repeat)
        factory.kw["bind"].dispose()
    exported = statistics.median(times)
    note(f"export runs: {', '.join(f'{t:.3f}' for t in times)} s; zip {size} bytes")
    figure("events_total", args.subjects * args.per_subject - 2 * args.per_subject + args.heavy
           + args.light, "")  # fmt: skip
    figure("heavy_subject_events", args.heavy, "")
    figure("access_export_s", exported, "s")
    figure("access_export_best_s", min(times), "s")
    figure("access_export_cpu_s", statistics.median(cpu), "s")
    figure("access_export_db_cpu_s", statistics.median(server), "s")
    figure("access_floor_s", floor, "s")
    figure("ratio", exported / floor, "x")
    figure("access_export_peak_mb", heavy_mb, "MiB")
    figure("access_export_peak_mb_light", light_mb, "MiB")
    figure("access_export_zip_mb", size / 2**20, "MiB")


if __name__ == "__main__":
    main()
