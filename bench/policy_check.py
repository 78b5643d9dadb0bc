"""How fast is the chokepoint? ``python bench/policy_check.py [--policy FILE] [--n N]``.

Times ``rujai.policy.rules.evaluate`` in-process over a realistic mix of subjects (consent granted,
withdrawn, expired, minors with and without guardians, restricted, objecting) and requests (each
purpose with its own categories), against a plain dict lookup "is there a grant for this subject and
purpose?" (the floor) over the same pairs in the same run. Rounds alternate; the best round counts.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rujai.policy.loader import load_policy_file  # noqa: E402
from rujai.policy.rules import (  # noqa: E402
    Action,
    CheckRequest,
    ConsentFact,
    SubjectFacts,
    evaluate,
)
from rujai.policy.schemas import Policy  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} = {value:.6g} {unit}")


def make_subject(rng: random.Random, policy: Policy) -> SubjectFacts:
    consents: dict[str, dict[str, ConsentFact]] = {}
    for pid, purpose in policy.purposes.items():
        if not purpose.basis.is_consent or rng.random() < 0.3:
            continue
        action = "withdraw" if rng.random() < 0.15 else "grant"
        roles = {"subject": _fact(rng, action, purpose.notice.version)}
        if rng.random() < 0.05:
            roles["guardian"] = _fact(rng, "grant", purpose.notice.version)
        consents[pid] = roles
    age = rng.choice([None] * 6 + [8, 15, 17, 25, 40, 63])
    return SubjectFacts(
        subject_id=uuid.uuid4(),
        age=age,
        is_restricted=rng.random() < 0.02,
        objections=frozenset({"direct_marketing"}) if rng.random() < 0.05 else frozenset(),
        consents=consents,
    )


def _fact(rng: random.Random, action: str, version: int) -> ConsentFact:
    return ConsentFact(
        record_id=uuid.uuid4(),
        action=action,  # type: ignore[arg-type]  # "grant" | "withdraw"
        notice_version=version - (1 if rng.random() < 0.05 else 0),
        recorded_at=NOW - timedelta(days=rng.randint(1, 700)),
        expires_at=NOW - timedelta(days=1) if rng.random() < 0.02 else None,
        is_explicit=rng.random() < 0.5,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy", type=Path, default=ROOT / "examples" / "policy.yaml")
    parser.add_argument("--n", type=int, default=200_000, help="checks per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    policy = load_policy_file(args.policy)
    rng = random.Random(20261128)
    subjects = [make_subject(rng, policy) for _ in range(10_000)]
    requests = [
        CheckRequest(pid, tuple(p.categories[: rng.randint(1, len(p.categories))]), Action.USE)
        for pid, p in policy.purposes.items()
    ]
    pairs = [(rng.choice(subjects), rng.choice(requests)) for _ in range(args.n)]
    table = {
        (s.subject_id, pid): roles.get("subject", None) is not None
        and roles["subject"].action == "grant"
        for s in subjects
        for pid, roles in s.consents.items()
    }
    best_eval = best_base = float("inf")
    allowed = 0
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        allowed = sum(evaluate(r, policy, s, NOW).allowed for s, r in pairs)
        best_eval = min(best_eval, time.perf_counter() - t0)
        t0 = time.perf_counter()
        sum(table.get((s.subject_id, r.purpose), False) for s, r in pairs)
        best_base = min(best_base, time.perf_counter() - t0)
    checks = args.n / best_eval
    base = args.n / best_base
    figure("checks_per_s", checks, "checks/s")
    figure("baseline_per_s", base, "lookups/s")
    figure("ratio", checks / base, "x")
    figure("check_mean_us", best_eval / args.n * 1e6, "us")
    figure("allowed_share", allowed / args.n, "fraction")


if __name__ == "__main__":
    main()
