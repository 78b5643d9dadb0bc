"""A broken legal rule of a policy, as ``validate.check_rules`` reports it."""

from __future__ import annotations

from typing import NamedTuple

FieldPath = tuple[str | int, ...]


class RuleProblem(NamedTuple):
    """A broken legal rule: where (field path), which rule, what to do, and the PDPA.md id."""

    path: FieldPath
    rule: str
    message: str
    ref: str | None
