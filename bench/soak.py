"""Soak: mixed traffic at 80 % of the measured maximum for ten minutes, against ``rujai serve``.

    python bench/soak.py [--minutes 10] [--subjects 10000] [--items 2000] [--clients 16]
                         [--max-seconds 20] [--share 0.8] [--reuse]

Seeds a SQLite database as ``bench/decide.py`` does (``--reuse`` keeps a pristine seeded copy in
``var/bench/``), starts ``rujai serve`` on it with the shipped defaults (one process, the default
writer, holdout, caches and retention schedule) and drives it from a second process over
keep-alive connections. The traffic is mixed per request: decide 55 % (placements as in the
decide bench), track 25 % (a product view of a seeded customer), consent 15 % (a grant or a
withdrawal of personalized offers), rights 5 % (an access request submitted, or one read back).

First the maximum: ``--clients`` closed-loop clients for ``--max-seconds`` (after a warm-up).
Then the soak: Poisson arrivals at ``--share`` of that maximum for ``--minutes``; each latency
counts from its scheduled start (no coordinated omission), and a request counts in the minute it
was scheduled in. The server's resident set is read from ``/proc`` after the first minute and at
the end. An error is any answer that is not 2xx, or no answer, in either phase.

Figures on stdout as ``name = value unit``: ``max_rps``, ``target_rps``, ``p99_ms_minute_N`` per
minute, ``errors``, ``rss_start_mb``, ``rss_end_mb``; settings and progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import decide as decide_bench
import httpx2
from _common import figure, note

WARMUP_S = 3.0
MIX = (("decide", 0.55), ("track", 0.25), ("consent", 0.15), ("rights", 0.05))
TIMEOUT_S = 30.0
OFFERS = "personalized_offers"


# --- the load generator (its own process) --------------------------------------------------------


class Mixed:
    """Sends the mixed requests and records each latency in the minute it was scheduled in."""

    def __init__(self, client: httpx2.AsyncClient, cfg: dict[str, Any]) -> None:
        from _decide_seed import customer_id, item_ids

        from rujai.policy.loader import load_policy_file

        self.notice = load_policy_file(decide_bench.POLICY).purposes[OFFERS].notice.version
        self.client, self.rng = client, random.Random(cfg["seed"])
        self.customers = [customer_id(n) for n in range(cfg["subjects"])]
        self.skus = item_ids(cfg["items"])
        self.bodies = decide_bench.decide_bodies(cfg["subjects"], cfg["items"], cfg["seed"])
        self.kinds, self.weights = [k for k, _ in MIX], [w for _, w in MIX]
        self.requests: list[str] = []  # rights request ids to read back
        self.latencies: dict[int, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()

    def _customer(self) -> str:
        return self.customers[self.rng.randrange(len(self.customers))]

    async def _send(self, kind: str) -> httpx2.Response:
        post = self.client.post
        if kind == "decide":
            return await post("/v1/decide", content=self.rng.choice(self.bodies))
        if kind == "track":
            body = {"type": "product_view", "customer_id": self._customer(),
                    "properties": {"item_id": self.rng.choice(self.skus)}}  # fmt: skip
            return await post("/v1/track", json=body)
        if kind == "consent":
            action = self.rng.choice(("grant", "withdraw"))
            body = {"purpose": OFFERS, "action": action, "language": "th", "channel": "web",
                    "notice_version": self.notice}  # fmt: skip
            return await post(f"/v1/subjects/{self._customer()}/consents", json=body)
        if self.requests and self.rng.random() < 0.5:
            return await self.client.get(f"/v1/requests/{self.rng.choice(self.requests)}")
        body = {"kind": "access", "channel": "api", "customer_id": self._customer()}
        response = await post("/v1/requests", json=body)
        if response.status_code == 201:
            self.requests.append(response.json()["id"])
        return response

    async def one(self, started: float, minute: int) -> None:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        self.sent[kind] += 1
        try:
            response = await self._send(kind)
        except httpx2.HTTPError as e:
            self.errors[f"{kind}:{type(e).__name__}"] += 1
            return
        if not 200 <= response.status_code < 300:
            self.errors[f"{kind}:{response.status_code}"] += 1
            return
        self.latencies.setdefault(minute, []).append(time.perf_counter() - started)

    async def closed(self, clients: int, seconds: float) -> int:
        """``clients`` clients back to back for ``seconds``; return the requests answered."""
        deadline, before = time.perf_counter() + seconds, sum(map(len, self.latencies.values()))

        async def worker() -> None:
            while time.perf_counter() < deadline:
                await self.one(time.perf_counter(), -1)

        await asyncio.gather(*(worker() for _ in range(clients)))
        return sum(map(len, self.latencies.values())) - before

    async def soak(self, rate: float, minutes: int) -> None:
        """Poisson arrivals at ``rate`` for ``minutes``; one JSON line when each minute is done."""
        start, at, reporters = time.perf_counter(), 0.0, []
        for minute in range(minutes):
            tasks, end = [], (minute + 1) * 60.0
            while (at := at + self.rng.expovariate(rate)) < end:
                delay = start + at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.one(start + at, minute)))
            reporters.append(asyncio.create_task(self._report(minute, tasks)))
        await asyncio.gather(*reporters)

    async def _report(self, minute: int, tasks: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*tasks)
        lat = sorted(self.latencies.pop(minute, [])) or [0.0]
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000
        emit({"phase": "minute", "n": minute + 1, "p99_ms": p99, "ok": len(lat),
              "scheduled": len(tasks), "errors": sum(self.errors.values())})  # fmt: skip


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


async def _loadgen(cfg: dict[str, Any]) -> None:
    headers = {"authorization": f"Bearer {cfg['api_key']}", "content-type": "application/json"}
    limits = httpx2.Limits(max_connections=cfg["connections"], max_keepalive_connections=None)
    async with httpx2.AsyncClient(
        base_url=cfg["base"], headers=headers, limits=limits, timeout=TIMEOUT_S
    ) as client:
        load = Mixed(client, cfg)
        await load.closed(cfg["clients"], WARMUP_S)
        answered = await load.closed(cfg["clients"], cfg["max_seconds"])
        rps = answered / cfg["max_seconds"]
        target = rps * cfg["share"]
        emit({"phase": "max", "rps": rps, "target": target, "errors": sum(load.errors.values())})
        load.latencies.clear()
        await load.soak(target, cfg["minutes"])
        emit({"phase": "done", "errors": dict(load.errors), "sent": dict(load.sent)})


# --- the run -------------------------------------------------------------------------------------


def server_rss_mb(pid: int) -> float:
    """Current resident set (VmRSS) of the server and its children, summed, in MiB."""
    total = 0
    for member in decide_bench._tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _mixed_key(url: str) -> str:
    """An API key for every kind of traffic (the seeded one may only decide)."""
    from datetime import UTC, datetime

    from rujai.apikeys import service as apikeys_service
    from rujai.db import make_engine, make_session_factory
    from rujai.writer import session_scope

    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            created = apikeys_service.create(
                session, name="soak", scopes=["decide", "track", "consent"],
                now=datetime.now(UTC),
            )  # fmt: skip
    finally:
        engine.dispose()
    return created.key


def soak(args: argparse.Namespace, prepared: decide_bench.Prepared, workdir: Path) -> None:
    """Serve ``prepared``, run the load generator, print the figures as its lines arrive."""
    key = _mixed_key(prepared.url)
    os.environ["RUJAI_RIGHTS__ERASURE_LOG_FILE"] = str(workdir / "erasure-log.jsonl")
    with decide_bench.server(prepared, 1, workdir / "server.log") as (base, pid):
        cfg = {
            "base": base, "api_key": key, "subjects": prepared.subjects, "items": prepared.items,
            "seed": args.seed, "clients": args.clients, "connections": max(64, args.clients),
            "max_seconds": args.max_seconds, "share": args.share, "minutes": args.minutes,
        }  # fmt: skip
        gen = subprocess.Popen(  # noqa: S603 - this script as the load generator
            [sys.executable, __file__, "--loadgen", json.dumps(cfg)], stdout=subprocess.PIPE
        )
        assert gen.stdout is not None
        results = [_record(json.loads(line), pid) for line in gen.stdout if line.strip()]
        if gen.wait() != 0:
            sys.exit(f"the load generator failed (exit {gen.returncode})")
    _report(results)


def _record(record: dict[str, Any], pid: int) -> dict[str, Any]:
    record["rss_mb"] = server_rss_mb(pid)
    if record["phase"] == "max":
        note(f"maximum: {record['rps']:.0f} req/s mixed; soaking at {record['target']:.0f}")
    elif record["phase"] == "minute":
        note(f"minute {record['n']}: p99 {record['p99_ms']:.1f} ms, {record['ok']}/"
             f"{record['scheduled']} ok, errors so far {record['errors']}, "
             f"server rss {record['rss_mb']:.1f} MB, load {_loadavg()}")  # fmt: skip
    else:
        note(f"sent {record['sent']}; errors {record['errors'] or 'none'}")
    return record


def _report(results: list[dict[str, Any]]) -> None:
    peak = next(r for r in results if r["phase"] == "max")
    minutes = [r for r in results if r["phase"] == "minute"]
    done = next(r for r in results if r["phase"] == "done")
    figure("max_rps", round(peak["rps"], 1), "req/s")
    figure("target_rps", round(peak["target"], 1), "req/s")
    for minute in minutes:
        figure(f"p99_ms_minute_{minute['n']}", round(minute["p99_ms"], 2), "ms")
    figure("errors", sum(done["errors"].values()), "requests")
    figure("rss_start_mb", round(minutes[0]["rss_mb"], 1), "MB")
    figure("rss_end_mb", round(minutes[-1]["rss_mb"], 1), "MB")


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    """Parse the options, prepare the database, serve it and soak it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument("--share", type=float, default=0.8, help="Of the maximum, for the soak.")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reuse", action="store_true", help="Keep/use a seeded copy in var/bench.")
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        asyncio.run(_loadgen(json.loads(args.loadgen)))
        return
    args.db = "sqlite"  # what decide's seeding helpers read
    note(f"sqlite, {args.subjects} subjects, {args.items} items, {args.minutes} min at "
         f"{args.share:.0%} of the maximum, {os.cpu_count()} CPUs, load {_loadavg()}")  # fmt: skip
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        prepared = stack.enter_context(decide_bench.sqlite_database(args, workdir))
        soak(args, prepared, workdir)


if __name__ == "__main__":
    main()
