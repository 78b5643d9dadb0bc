"""Retention per subject (TH-RET-01): data is kept only as long as a purpose that applies to *that*
subject needs it, not as long as the longest purpose in the policy.

For a subject and a data category the effective retention is the longest ``retention_days`` among
the purposes that declare the category, collect data (``collects``), and may ``store`` it for the
subject now, as the door's pure evaluation (``policy.service.decide``) says on the subject's
consent facts: a consent purpose with a current grant, a contract or legal-obligation purpose, a
legitimate interest the subject has not objected to. A withdrawal therefore shortens retention:
the browsing events of someone who withdrew recommendations and has no other purpose for browsing
go with the next purge, while purchases stay five years under ``accounting_records``.

The purge is set-based: subjects are evaluated once each (facts in chunks of 500), grouped by the
effective period per category, and each group's events are deleted with one statement per chunk
of ids; never a loop over events. Only what the policy-wide purge left (events newer than its
cut-off) is considered, so counts are not doubled. The report holds counts only.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from rujai.consent import service as consent_service
from rujai.events import retention as events_retention
from rujai.kit.crypto import Keyring
from rujai.kit.time import buddhist_year
from rujai.policy import service as policy_service
from rujai.policy.rules import Action, Reason, SubjectFacts
from rujai.policy.schemas import Policy, Purpose, Text
from rujai.rights.schemas import RetentionItem

CHUNK = 500
THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Kept:
    """How long one category of a subject's data is kept, and the purpose that sets it."""

    days: int
    purpose: str | None


def keeping_purposes(policy: Policy) -> dict[str, Purpose]:
    """Return the purposes that may keep data (those that only use others' data do not)."""
    return {pid: p for pid, p in policy.purposes.items() if bool(getattr(p, "collects", True))}


def effective_retention(
    policy: Policy, facts: SubjectFacts, *, categories: Collection[str], now: datetime
) -> dict[str, Kept]:
    """Return per category the longest retention among the purposes that apply to the subject."""
    kept = {category: Kept(0, None) for category in categories}
    for pid, purpose in keeping_purposes(policy).items():
        wanted = [c for c in purpose.categories if c in kept]
        for category in _stored_for(policy, facts, pid, wanted, now):
            if purpose.retention_days > kept[category].days:
                kept[category] = Kept(purpose.retention_days, pid)
    return kept


def _stored_for(
    policy: Policy, facts: SubjectFacts, pid: str, categories: list[str], now: datetime
) -> list[str]:
    """The categories the door lets ``pid`` store for the subject now."""
    if not categories:
        return []
    verdict = policy_service.decide(
        policy, facts, purpose=pid, categories=categories, action=Action.STORE, now=now
    )
    if verdict.allowed:
        return categories
    if verdict.reason is not Reason.SENSITIVE_NEEDS_EXPLICIT_CONSENT:
        return []
    return [
        c for c in categories
        if policy_service.decide(
            policy, facts, purpose=pid, categories=[c], action=Action.STORE, now=now
        ).allowed
    ]  # fmt: skip


def purge_items(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    longest: dict[str, tuple[int, str]],
    now: datetime,
    dry_run: bool,
) -> list[RetentionItem]:
    """Purge events past each subject's own retention (TH-RET-01); one item per group, counts."""
    groups = _groups(session, keyring, policy, longest, now)
    items = []
    for (category, days, pid), subject_ids in sorted(groups.items(), key=_group_key):
        cut_off, floor = now - timedelta(days=days), now - timedelta(days=longest[category][0])
        count = sum(
            events_retention.purge_subjects_between(
                session,
                category=category,
                subject_ids=chunk,
                cut_off=cut_off,
                floor=floor,
                dry_run=dry_run,
            )
            for chunk in _chunks(subject_ids)
        )
        why = f"{pid} ({days} days)" if pid else "no purpose applies to them now"
        basis = f"{len(subject_ids)} subjects: {why} (TH-RET-01)"
        items.append(
            RetentionItem(what=f"event:{category}:subject", cut_off=cut_off, basis=basis,
                          count=count)
        )  # fmt: skip
    return items


Group = tuple[str, int, str | None]


def _group_key(item: tuple[Group, list[uuid.UUID]]) -> tuple[str, int, str]:
    (category, days, pid), _ = item
    return category, days, pid or ""


def _groups(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    longest: dict[str, tuple[int, str]],
    now: datetime,
) -> dict[Group, list[uuid.UUID]]:
    """Group subjects by (category, effective days, purpose) where shorter than the policy's."""
    groups: dict[Group, list[uuid.UUID]] = defaultdict(list)
    subjects = events_retention.subjects_with_events(session)
    categories = set(longest) & events_retention.stored_categories(session)
    for chunk in _chunks(subjects):
        facts = consent_service.subject_facts_many(
            session, keyring=keyring, subject_ids=chunk, now=now
        )
        for sid, fact in facts.items():
            kept = effective_retention(policy, fact, categories=categories, now=now)
            for category, k in kept.items():
                if k.days < longest[category][0]:
                    groups[(category, k.days, k.purpose)].append(sid)
    return groups


def _chunks(values: Sequence[uuid.UUID]) -> Iterator[Sequence[uuid.UUID]]:
    return (values[i : i + CHUNK] for i in range(0, len(values), CHUNK))


# --- shown to the subject: the export's ``retention`` and the privacy center -----------------


def thai_date(day: date) -> str:
    """Return a date as Thai readers write it, in the Buddhist Era (พ.ศ.)."""
    return f"{day.day} {THAI_MONTHS[day.month - 1]} พ.ศ. {buddhist_year(day)}"


def bangkok_date(moment: datetime) -> date:
    """Return the calendar date in Bangkok (UTC+7) of a moment."""
    return (moment + timedelta(hours=7)).date()


def retention_text(policy: Policy, kept: Kept, now: datetime) -> Text:
    """Say in Thai and English how long data of this category is kept and until when."""
    if kept.purpose is None:
        return Text(
            th="ไม่มีวัตถุประสงค์ที่ใช้กับคุณในตอนนี้ ข้อมูลประเภทนี้จะถูกลบในรอบการลบถัดไป",
            en="No purpose applies to you now: this data is deleted at the next purge.",
        )
    day = bangkok_date(now + timedelta(days=kept.days))
    title = policy.purposes[kept.purpose].title
    return Text(
        th=f"เก็บไว้ {kept.days} วัน ตามวัตถุประสงค์ “{title.get('th')}” "
        f"ข้อมูลที่เก็บวันนี้จะถูกลบภายในวันที่ {thai_date(day)}",
        en=f"Kept {kept.days} days for “{title.get('en')}”: data from today is deleted by "
        f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}.",
    )
