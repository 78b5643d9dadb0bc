"""Errors of the policy domain: a policy file that breaks a rule, a purpose that is not declared.

A policy file is not personal data, so problems may quote ids and values from it freely.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rujai.errors import Invalid, NotFound


@dataclass(frozen=True)
class PolicyProblem:
    """One problem in a policy file, located by line and dotted field path."""

    file: str
    line: int | None
    column: int | None
    field: str
    rule: str
    message: str
    ref: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        cite = f", {self.ref}" if self.ref else ""
        return f"{where}: {self.field}: {self.message} [rule {self.rule}{cite}]"

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready dict."""
        return asdict(self)


class PolicyInvalid(Invalid):
    """The policy file breaks one or more structural or legal rules."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(str(p) for p in problems)
        super().__init__(
            f"the policy has {count} {noun}:\n{lines}",
            field=problems[0].field if problems else None,
        )
        self.problems = list(problems)

    def problem(self) -> dict[str, Any]:
        body = super().problem()
        body["problems"] = [p.as_dict() for p in self.problems]
        return body


class PurposeNotFound(NotFound):
    """The purpose id is not declared in the policy."""

    def __init__(self, purpose_id: str) -> None:
        super().__init__(f"purpose {purpose_id!r} is not declared in the policy", field="purpose")
