"""Grants relied on for a notice text the policy no longer shows under the same version (TH-PUR-01).

Every consent record keeps the hash of the exact text shown (TH-CON-04). A grant counts for the
purpose as the policy declares it *now*; if the policy changes a purpose's text (a category or a
recipient added, a longer retention) without a new ``notice.version``, the grants in force were
given for something else, and the new use of the data they cover would skip notice and consent.
``changed_notices`` finds such purposes from the current grants only (the projection, not the whole
ledger); the server refuses to start on them, naming the field to raise, as it refuses a broken
policy. No subject data: purposes, versions, languages and counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rujai.consent.models import ConsentRecord, ConsentState
from rujai.policy.errors import PolicyInvalid, PolicyProblem
from rujai.policy.notice import purpose_notice_hash
from rujai.policy.schemas import LANGS, Policy


@dataclass(frozen=True, slots=True)
class ChangedNotice:
    """A purpose whose current grants were given for another text under the same version."""

    purpose: str
    notice_version: int
    language: str
    grants: int


def changed_notices(session: Session, *, policy: Policy) -> list[ChangedNotice]:
    """Return the purposes whose grants in force hash a text other than the one shown now."""
    stmt = (
        select(
            ConsentRecord.purpose, ConsentRecord.notice_version, ConsentRecord.language,
            ConsentRecord.notice_hash, func.count(),
        )
        .join(ConsentState, ConsentState.record_id == ConsentRecord.id)
        .where(ConsentRecord.action == "grant")
        .group_by(
            ConsentRecord.purpose, ConsentRecord.notice_version, ConsentRecord.language,
            ConsentRecord.notice_hash,
        )
    )  # fmt: skip
    found: list[ChangedNotice] = []
    for purpose, version, lang, stored, count in session.execute(stmt):
        declared = policy.purposes.get(purpose)
        if declared is None or declared.notice.version != version or lang not in LANGS:
            continue  # an undeclared purpose or an older version: the rules decide on those
        if purpose_notice_hash(policy, purpose, lang) != stored:
            found.append(ChangedNotice(purpose, version, lang, count))
    return sorted(found, key=lambda c: (c.purpose, c.language))


def refuse_changed_notices(session: Session, *, policy: Policy, filename: str) -> None:
    """Raise PolicyInvalid naming ``purposes.<id>.notice.version`` for each changed notice."""
    problems = [_problem(c, filename) for c in changed_notices(session, policy=policy)]
    if problems:
        raise PolicyInvalid(problems)


def _problem(change: ChangedNotice, filename: str) -> PolicyProblem:
    message = (
        f"the consent text of {change.purpose!r} ({change.language}) differs from the text "
        f"{change.grants} grant(s) in force were given for under notice version "
        f"{change.notice_version}; raise notice.version (and material_version if the change "
        "is a new use: a new category, recipient or longer retention)"
    )
    return PolicyProblem(
        file=filename, line=None, column=None, field=f"purposes.{change.purpose}.notice.version",
        rule="notice-changed-under-granted-version", message=message, ref="TH-PUR-01",
    )  # fmt: skip
