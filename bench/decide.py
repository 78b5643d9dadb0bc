"""``/v1/decide`` over HTTP against the same app's no-op endpoint (the framework floor).

    python bench/decide.py [--db sqlite|postgresql] [--subjects 10000] [--items 2000]
                           [--clients 16] [--seconds 10] [--workers 1] [--scaling] [--reuse]

Seeds a fresh database (``bench/_decide_seed.py``: customers with mixed consent states, items,
purchase and view histories, offers, insights, a trained recommender; ``--reuse`` keeps a pristine
seeded copy in ``var/bench/`` and runs on a fresh copy of it), starts ``rujai serve --workers N``
(N = 1 unless told; more only on PostgreSQL) as a subprocess on 127.0.0.1, and drives it from a
second process: asyncio and ``httpx2.AsyncClient`` over keep-alive connections.

Phase A (closed loop, ``--clients`` concurrent clients): decide and the floor (``GET /healthz``:
same app, same middleware; no auth, no database) for ``--seconds`` each, alternating twice; the
best round counts. Phase B (open loop, Poisson arrivals): decide at half its phase-A maximum, then
the floor at the same rate; latency runs from each request's scheduled start (no coordinated
omission). Decide bodies: random seeded customers, placements home_for_you 40 %, product_page
30 % (with an item in context), app_offer 30 %. The machine has 2 cores: the server and this load
generator share them, so both are CPU-bound together; their CPU use is noted on stderr.

Server CPU per request (``*_server_cpu_ms_per_request``) is the CPU time of every server process
and thread during a maximum-load round over the requests it answered. ``--scaling`` (PostgreSQL)
measures 1 then 2 workers on the same database and prints ``decide_scaling_2v1`` and
``floor_scaling_2v1``: throughput with 2 workers over 1.

Figures on stdout as ``name = value unit``; settings and progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from _common import REPO_ROOT, figure, note

BENCH = Path(__file__).resolve().parent
CACHE = REPO_ROOT / "var" / "bench"
POLICY = REPO_ROOT / "examples" / "policy.yaml"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PLACEMENTS = (("home_for_you", 0.4), ("product_page", 0.3), ("app_offer", 0.3))
CACHE_MAX_AGE = timedelta(days=7)
WARMUP_S = 2.0


@dataclass(frozen=True, slots=True)
class Prepared:
    """A seeded database ready to serve, with what the load generator needs."""

    url: str
    master_key: str
    api_key: str
    subjects: int
    items: int


# --- the database --------------------------------------------------------------------------------


def _say(message: str) -> None:
    note(f"seed: {message}")


def seed_into(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Migrate and seed ``url``; return the sidecar (keys and counts) describing it."""
    import _decide_seed

    import rujai.listeners  # noqa: F401 - withdrawals unlearn, as in the server
    from rujai.db import make_engine, make_session_factory, upgrade
    from rujai.kit.crypto import Keyring
    from rujai.policy.loader import load_policy_file

    upgrade(url)
    master = os.urandom(32)
    engine = make_engine(url)
    try:
        seeded = _decide_seed.seed(
            make_session_factory(engine), keyring=Keyring(master),
            policy=load_policy_file(POLICY), subjects=args.subjects, items=args.items,
            now=datetime.now(UTC), say=_say, seed_value=args.seed,
        )  # fmt: skip
    finally:
        engine.dispose()
    note(f"seeded in {seeded.seconds:.0f} s: {seeded.events_accepted} events stored")
    return {
        "master_key": base64.b64encode(master).decode(), "api_key": seeded.api_key,
        "seeded_at": datetime.now(UTC).isoformat(), "subjects": args.subjects,
        "items": args.items, "seed": args.seed, "model_version": seeded.model_version,
    }  # fmt: skip


def _cache_name(args: argparse.Namespace) -> str:
    return f"decide_{args.db}_{args.subjects}_{args.items}_{args.seed}"


def _cached(args: argparse.Namespace) -> dict[str, Any] | None:
    """The sidecar of a usable cached database, else None."""
    sidecar = CACHE / f"{_cache_name(args)}.json"
    if not args.reuse or not sidecar.exists():
        return None
    meta: dict[str, Any] = json.loads(sidecar.read_text())
    age = datetime.now(UTC) - datetime.fromisoformat(meta["seeded_at"])
    return meta if age < CACHE_MAX_AGE else None


def _save_sidecar(args: argparse.Namespace, meta: dict[str, Any]) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{_cache_name(args)}.json"
    path.write_text(json.dumps(meta))
    path.chmod(0o600)  # it holds the bench database's (fictional) master key


@contextmanager
def sqlite_database(args: argparse.Namespace, workdir: Path) -> Iterator[Prepared]:
    """A seeded SQLite file: fresh, or a copy of the pristine cached one (``--reuse``)."""
    run = workdir / "decide.db"
    meta = _cached(args)
    if meta is None and not args.reuse:
        meta = seed_into(f"sqlite:///{run}", args)
    elif meta is None:
        cache = CACHE / f"{_cache_name(args)}.db"
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in CACHE.glob(f"{cache.name}*"):
            old.unlink()
        meta = seed_into(f"sqlite:///{cache}", args)
        _checkpoint(cache)
        _save_sidecar(args, meta)
    if not run.exists():
        note("using the cached seeded database (a fresh copy of it)")
        shutil.copyfile(CACHE / f"{_cache_name(args)}.db", run)
    yield _prepared(f"sqlite:///{run}", meta)


def _checkpoint(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextmanager
def postgres_database(args: argparse.Namespace) -> Iterator[Prepared]:
    """A fresh PostgreSQL database, seeded or cloned from the cached one; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(os.environ.get("RUJAI_TEST_POSTGRES_URL") or DEFAULT_PG)
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    run_name, cache_name = f"rujai_bench_{uuid.uuid4().hex[:8]}", f"rujai_bench_{_cache_name(args)}"
    meta = _cached(args)
    with psycopg.connect(libpq, autocommit=True) as admin:
        if args.reuse and meta is None:
            admin.execute(f'DROP DATABASE IF EXISTS "{cache_name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{cache_name}"')
        template = f' TEMPLATE "{cache_name}"' if meta is not None else ""
        admin.execute(f'CREATE DATABASE "{run_name}"{template}')
    try:
        if args.reuse and meta is None:
            meta = seed_into(server.set(database=cache_name).render_as_string(False), args)
            _save_sidecar(args, meta)
            with psycopg.connect(libpq, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{run_name}"')
                admin.execute(f'CREATE DATABASE "{run_name}" TEMPLATE "{cache_name}"')
        url = server.set(database=run_name).render_as_string(hide_password=False)
        yield _prepared(url, meta if meta is not None else seed_into(url, args))
    finally:
        with psycopg.connect(libpq, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)')


def _prepared(url: str, meta: dict[str, Any]) -> Prepared:
    return Prepared(url, meta["master_key"], meta["api_key"], meta["subjects"], meta["items"])


# --- the server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(prepared: Prepared, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """Run the server as a subprocess on loopback until the block ends; yield (url, pid)."""
    port = _free_port()
    env = {
        **os.environ, "RUJAI_DATABASE_URL": prepared.url, "RUJAI_POLICY__PATH": str(POLICY),
        "RUJAI_SECURITY__MASTER_KEY": prepared.master_key, "RUJAI_RUN_MIGRATIONS_ON_START": "0",
    }  # fmt: skip
    env["RUJAI_AUDIT__SIGNING_KEY_FILE"] = str(log.parent / "audit-signing.key")
    env["RUJAI_AUDIT__CHECKPOINT_FILE"] = str(log.parent / "audit-checkpoints.jsonl")
    cmd = [str(Path(sys.executable).parent / "rujai"), "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers)]  # the product as it ships
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own server, fixed argv
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"server not healthy within 60 s:\n{log.read_text()[-3000:]}")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers)."""
    found, queue = [pid], [pid]
    while queue:
        children = Path(f"/proc/{queue.pop()}/task")
        for task in children.glob("*/children"):
            kids = [int(k) for k in task.read_text().split()]
            found += kids
            queue += kids
    return found


def server_peak_rss_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of the server and its workers, summed, in MiB."""
    total = 0
    for member in _tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


# --- the load generator (its own process) --------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes ``pids`` (those that still exist)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def decide_bodies(subjects: int, items: int, seed: int, count: int = 4096) -> list[bytes]:
    """Prebuilt request bodies: random seeded customers (every consent state) and placements."""
    from _decide_seed import customer_id, item_ids

    rng = random.Random(seed)
    skus = item_ids(items)
    names, weights = [p for p, _ in PLACEMENTS], [w for _, w in PLACEMENTS]
    bodies = []
    for _ in range(count):
        body: dict[str, Any] = {"customer_id": customer_id(rng.randrange(subjects))}
        body["placement"] = rng.choices(names, weights)[0]
        if body["placement"] == "product_page":
            body["context"] = {"item_id": rng.choice(skus)}
        bodies.append(json.dumps(body).encode())
    return bodies


class Load:
    """Sends decide or floor requests and records latencies, errors and personalized answers."""

    def __init__(self, client: httpx2.AsyncClient, bodies: list[bytes], target: str) -> None:
        self.client, self.bodies, self.target = client, bodies, target
        self.rng = random.Random(7)
        self.latencies: list[float] = []
        self.errors = self.personalized = 0

    async def one(self, started: float) -> None:
        try:
            if self.target == "decide":
                body = self.bodies[self.rng.randrange(len(self.bodies))]
                response = await self.client.post("/v1/decide", content=body)
            else:
                response = await self.client.get("/healthz")
        except httpx2.HTTPError:
            self.errors += 1
            return
        if response.status_code != 200:
            self.errors += 1
            return
        self.latencies.append(time.perf_counter() - started)
        self.personalized += b'"personalized":true' in response.content

    async def closed(self, clients: int, seconds: float) -> None:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                await self.one(time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(clients)))

    async def open(self, rate: float, seconds: float) -> None:
        """Poisson arrivals at ``rate``; each latency counts from its scheduled start."""
        arrivals, at = [], 0.0
        while (at := at + self.rng.expovariate(rate)) < seconds:
            arrivals.append(at)
        start, tasks = time.perf_counter(), []
        for offset in arrivals:
            delay = start + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.one(start + offset)))
        await asyncio.gather(*tasks)


def _summary(load: Load, seconds: float, cpu: tuple[float, float]) -> dict[str, Any]:
    ok, lat = len(load.latencies), sorted(load.latencies) or [0.0]

    def pick(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000

    return {
        "target": load.target, "ok": ok, "errors": load.errors, "rps": ok / seconds,
        "p50_ms": pick(0.50), "p99_ms": pick(0.99), "personalized": load.personalized,
        "server_cpu": cpu[0] / seconds, "client_cpu": cpu[1] / seconds,
    }  # fmt: skip


async def _phase(cfg: dict[str, Any], target: str, mode: str, value: float) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {cfg['api_key']}", "content-type": "application/json"}
    limits = httpx2.Limits(max_connections=cfg["connections"], max_keepalive_connections=None)
    async with httpx2.AsyncClient(
        base_url=cfg["base"], headers=headers, limits=limits, timeout=30
    ) as client:
        bodies = decide_bodies(cfg["subjects"], cfg["items"], cfg["seed"])
        await Load(client, bodies, target).closed(cfg["clients"], WARMUP_S)
        load, pids = Load(client, bodies, target), _tree(cfg["server_pid"])
        server0, client0, wall0 = cpu_seconds(pids), time.process_time(), time.perf_counter()
        if mode == "closed":
            await load.closed(int(value), cfg["seconds"])
        else:
            await load.open(value, cfg["seconds"])
        wall = time.perf_counter() - wall0
        cpu = (cpu_seconds(pids) - server0, time.process_time() - client0)
    return _summary(load, wall, cpu)


def run_loadgen(cfg: dict[str, Any]) -> None:
    """Phases A and B; one JSON line per measurement on stdout."""

    def emit(phase: str, result: dict[str, Any]) -> None:
        print(json.dumps({"phase": phase, **result}), flush=True)
        per_request = result["server_cpu"] / max(result["rps"], 1e-9) * 1000
        note(f"{phase} {result['target']}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f}"
             f" ms, p99 {result['p99_ms']:.1f} ms, errors {result['errors']}; CPU (cores): server "
             f"{result['server_cpu']:.2f} ({per_request:.2f} ms/request), load generator "
             f"{result['client_cpu']:.2f}")  # fmt: skip

    best = 0.0
    for _ in range(cfg["rounds"]):
        for target in ("decide", "floor"):
            result = asyncio.run(_phase(cfg, target, "closed", cfg["clients"]))
            emit("max", result)
            best = max(best, result["rps"]) if target == "decide" else best
    for target in ("decide", "floor"):
        emit("half", asyncio.run(_phase(cfg, target, "open", best / 2)))


# --- the run -------------------------------------------------------------------------------------


def measure(
    args: argparse.Namespace, prepared: Prepared, workdir: Path, workers: int
) -> list[dict[str, Any]]:
    """Serve ``prepared`` with ``workers`` processes, run the load generator; its results."""
    with server(prepared, workers, workdir / "server.log") as (base, pid):
        cfg = {
            "base": base, "api_key": prepared.api_key, "subjects": prepared.subjects,
            "items": prepared.items, "seed": args.seed, "clients": args.clients,
            "connections": max(64, args.clients), "seconds": args.seconds, "rounds": args.rounds,
            "server_pid": pid,
        }  # fmt: skip
        done = subprocess.run(  # noqa: S603 - this script as the load generator
            [sys.executable, __file__, "--loadgen", json.dumps(cfg)],
            stdout=subprocess.PIPE, check=True, timeout=args.seconds * 20 + 120,
        )  # fmt: skip
        rss = server_peak_rss_mb(pid)
    results = [json.loads(line) for line in done.stdout.decode().splitlines() if line]
    return [{**r, "rss": rss} for r in results]


def _best(results: list[dict[str, Any]], target: str) -> dict[str, Any]:
    maxed = [r for r in results if r["phase"] == "max" and r["target"] == target]
    return max(maxed, key=lambda r: r["rps"])


def _cpu_ms(result: dict[str, Any]) -> float:
    return float(result["server_cpu"]) / max(float(result["rps"]), 1e-9) * 1000


def report(results: list[dict[str, Any]], prepared: Prepared) -> None:
    rss = max(r["rss"] for r in results)
    decide, floor = _best(results, "decide"), _best(results, "floor")
    half = {r["target"]: r for r in results if r["phase"] == "half"}
    answered = sum(r["ok"] for r in results if r["target"] == "decide")
    personalized = sum(r["personalized"] for r in results if r["target"] == "decide")
    errors = sum(r["errors"] for r in results)
    if errors:
        note(f"WARNING: {errors} requests failed (not counted in the rates)")
    figure("decide_rps", round(decide["rps"], 1), "req/s")
    figure("floor_rps", round(floor["rps"], 1), "req/s")
    figure("rps_ratio", round(decide["rps"] / floor["rps"], 3), "x")
    figure("decide_p50_ms", round(half["decide"]["p50_ms"], 2), "ms")
    figure("decide_p99_ms", round(half["decide"]["p99_ms"], 2), "ms")
    figure("floor_p50_ms", round(half["floor"]["p50_ms"], 2), "ms")
    figure("floor_p99_ms", round(half["floor"]["p99_ms"], 2), "ms")
    # Server CPU per request at maximum load (all server processes, every thread).
    figure("decide_server_cpu_ms_per_request", round(_cpu_ms(decide), 3), "ms")
    figure("floor_server_cpu_ms_per_request", round(_cpu_ms(floor), 3), "ms")
    figure("server_cpu_ratio", round(_cpu_ms(decide) / _cpu_ms(floor), 2), "x")
    figure("personalized_share", round(personalized / max(answered, 1), 3), "share")
    figure("subjects", prepared.subjects, "subjects")
    figure("items", prepared.items, "items")
    figure("peak_rss_mb", round(rss, 1), "MB")


def main() -> None:
    """Parse the options, prepare the database, serve it and measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--scaling", action="store_true", help="1 and 2 workers back to back (PostgreSQL)."
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reuse", action="store_true", help="Keep/use a seeded copy in var/bench.")
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        run_loadgen(json.loads(args.loadgen))
        return
    if (args.workers > 1 or args.scaling) and args.db == "sqlite":
        parser.error("--workers > 1 and --scaling need --db postgresql (SQLite: one writer)")
    note(f"{args.db}, {args.subjects} subjects, {args.items} items, {args.clients} clients, "
         f"{args.seconds:g} s per measurement, {args.workers} worker(s), "
         f"{os.cpu_count()} CPUs")  # fmt: skip
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.db == "sqlite":
            prepared = stack.enter_context(sqlite_database(args, workdir))
        else:
            prepared = stack.enter_context(postgres_database(args))
        note(f"load average before measuring: {_loadavg()} (other work shares these CPUs)")
        if not args.scaling:
            report(measure(args, prepared, workdir, args.workers), prepared)
        else:
            scaling(args, prepared, workdir)
        note(f"load average after: {_loadavg()}")


def scaling(args: argparse.Namespace, prepared: Prepared, workdir: Path) -> None:
    """1 then 2 workers back to back; throughput with 2 over 1, for decide and the floor."""
    one = measure(args, prepared, workdir, 1)
    two = measure(args, prepared, workdir, 2)
    note("figures with 2 workers:")
    report(two, prepared)
    for target in ("decide", "floor"):
        rps1, rps2 = _best(one, target)["rps"], _best(two, target)["rps"]
        figure(f"{target}_rps_1_worker", round(rps1, 1), "req/s")
        figure(f"{target}_scaling_2v1", round(rps2 / rps1, 3), "x")


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
