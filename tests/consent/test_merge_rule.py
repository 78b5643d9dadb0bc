"""The most-restrictive-wins rule of an identify merge, as properties of the pure ``merge_steps``.

Over random latest records (per purpose and role) on the anonymous and the known side:
- a withdrawal on either side leaves the purpose withdrawn on the target (TH-CON-03);
- the target ends granted only by a grant the person gave: its own, or a copy of the anonymous
  side's where it had no record for the purpose (never a grant nobody gave; TH-CON-04);
- purposes the anonymous side never touched are left alone, and a second merge appends nothing
  (the ledger is only appended to, once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from rujai.consent.merge import Step, merge_steps

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PURPOSES = ("recommendations", "personalized_offers", "analytics")


@dataclass(frozen=True)
class Rec:
    action: str
    recorded_at: datetime
    side: str


def _records(side: str) -> st.SearchStrategy[dict[str, dict[str, Rec]]]:
    rec = st.builds(
        Rec,
        action=st.sampled_from(["grant", "withdraw"]),
        recorded_at=st.integers(0, 1000).map(lambda m: T0 + timedelta(minutes=m)),
        side=st.just(side),
    )
    roles = st.dictionaries(st.sampled_from(["subject", "guardian"]), rec, min_size=1, max_size=2)
    return st.dictionaries(st.sampled_from(PURPOSES), roles, max_size=3)


def _apply(source, target, steps: list[Step[Rec]]) -> dict[str, dict[str, Rec]]:
    """The target's latest records after the steps (each appended after everything before it).

    A withdrawal is appended as the subject's; a carried grant keeps the role it had.
    """
    after = {p: dict(roles) for p, roles in target.items()}
    later = T0 + timedelta(days=10)
    for n, step in enumerate(steps):
        roles = source[step.purpose]
        role = "subject"
        if step.action == "grant":
            role = next(r for r, rec in roles.items() if rec is step.origin)
        copy = Rec(step.action, later + timedelta(seconds=n), "merge:" + step.origin.side)
        after.setdefault(step.purpose, {})[role] = copy
    return after


def _latest(roles: dict[str, Rec]) -> Rec | None:
    return max(roles.values(), key=lambda r: (r.recorded_at, r.action == "withdraw"), default=None)


@settings(max_examples=400, deadline=None)
@given(_records("anonymous"), _records("known"))
def test_a_withdrawal_on_either_side_wins(source, target):
    """TH-CON-03: whichever side withdrew, the merged profile is withdrawn."""
    after = _apply(source, target, merge_steps(source, target))
    for purpose in PURPOSES:
        theirs = any(r.action == "withdraw" for r in source.get(purpose, {}).values())
        ours = _latest(target.get(purpose, {}))
        latest = _latest(after.get(purpose, {}))
        if theirs or (ours is not None and ours.action == "withdraw"):
            assert latest is not None
            assert latest.action == "withdraw"


@settings(max_examples=400, deadline=None)
@given(_records("anonymous"), _records("known"))
def test_a_grant_after_the_merge_is_one_the_person_gave(source, target):
    """TH-CON-04: never a grant nobody gave; an anonymous grant only where the target had none."""
    steps = merge_steps(source, target)
    for step in steps:
        assert step.origin in source[step.purpose].values()  # a copy of the person's own record
        if step.action == "grant":
            assert step.origin.action == "grant"
            assert step.purpose not in target
            assert all(r.action == "grant" for r in source[step.purpose].values())
    after = _apply(source, target, steps)
    for purpose, roles in after.items():
        if purpose not in source:
            assert roles == target[purpose]  # untouched by the merge


@settings(max_examples=300, deadline=None)
@given(_records("anonymous"), _records("known"))
def test_merging_twice_appends_nothing_the_second_time(source, target):
    after = _apply(source, target, merge_steps(source, target))
    assert merge_steps(source, after) == []


def test_examples_of_the_rule():
    """The table in the consent README, case by case."""
    grant_a, withdraw_a = Rec("grant", T0, "anonymous"), Rec("withdraw", T0, "anonymous")
    grant_k = Rec("grant", T0 + timedelta(minutes=5), "known")
    withdraw_k = Rec("withdraw", T0 + timedelta(minutes=5), "known")
    p = "recommendations"
    assert merge_steps({p: {"subject": grant_a}}, {}) == [Step(p, "grant", grant_a)]
    assert merge_steps({p: {"subject": grant_a}}, {p: {"subject": grant_k}}) == []
    assert merge_steps({p: {"subject": grant_a}}, {p: {"subject": withdraw_k}}) == []
    assert merge_steps({p: {"subject": withdraw_a}}, {p: {"subject": grant_k}}) == [
        Step(p, "withdraw", withdraw_a, grant_k)
    ]
    assert merge_steps({p: {"subject": withdraw_a}}, {p: {"subject": withdraw_k}}) == []
    assert merge_steps({}, {p: {"subject": grant_k}}) == []
