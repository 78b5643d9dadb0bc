"""A broken legal rule of a policy, as ``validate.check_rules`` reports it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from rujai.policy.schemas import Text

FieldPath = tuple[str | int, ...]


class RuleProblem(NamedTuple):
    """A broken legal rule: where (field path), which rule, what to do, and the PDPA.md id."""

    path: FieldPath
    rule: str
    message: str
    ref: str | None


def bilingual(path: FieldPath, text: Text, ref: str) -> Iterator[RuleProblem]:
    if not (text.th or "").strip():
        yield RuleProblem(
            (*path, "th"),
            "missing-thai",
            "add the Thai text (th): notices and consent requests are shown in Thai by default",
            ref,
        )
    if not (text.en or "").strip():
        yield RuleProblem(
            (*path, "en"),
            "missing-english",
            "add the English text (en): the notice must be available in English on request",
            ref,
        )
