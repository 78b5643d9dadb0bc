"""Policy rules of processor mode (PDPA s.40, TH-PRC-01). Part of ``validate``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from rujai.policy.rule_problem import RuleProblem, bilingual
from rujai.policy.schemas import Policy


def processor_rules(policy: Policy) -> Iterator[RuleProblem]:
    """Processor mode: only declared purposes may be instructed, and the instructions hold."""
    if policy.processor is None:
        return
    at = ("processor", "instructions")
    found = policy.processor.instructions
    for i, pid in enumerate(found.purposes):
        if pid not in policy.purposes:
            yield RuleProblem(
                (*at, "purposes", i),
                "unknown-purpose",
                f"the controller instructed purpose {pid!r}, which is not declared under purposes",
                "TH-PRC-01",
            )
    yield from bilingual(("processor", "name"), policy.processor.name, "TH-PRC-01")


def processor_expired(policy: Policy, today: date) -> Iterator[RuleProblem]:
    """Processor mode: the controller's instructions lapsed by ``today`` (Bangkok date)."""
    if policy.processor is None:
        return
    found = policy.processor.instructions
    if found.expires_on is not None and found.expires_on < today:
        yield RuleProblem(
            ("processor", "instructions", "expires_on"),
            "instructions-expired",
            f"the controller's instructions expired on {found.expires_on.isoformat()}: a "
            "processor may process nothing without them; renew the agreement or remove processor",
            "TH-PRC-01",
        )
