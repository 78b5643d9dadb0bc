"""The events service: the one ingest path (API and imports); stored events live in ``store``.

``ingest`` runs the DESIGN "track" flow on a batch, in the caller's transaction, with a constant
number of queries per batch: check each event against the policy (``gate.EventChecker``: declared
type and properties only, TH-MIN-02), drop duplicates by message id, resolve subjects in bulk, ask
the consent gate whether any purpose permits collecting the event's category for that subject now,
seal the kept properties under the subject's data key and insert them in one statement. Dropped
events are counted per day, type and reason (no personal data) and the batch is audited once.

Data imported from partners is stored with ``is_partner_data`` and stays out of personalization
until the subject has been notified (TH-IND-01).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.consent import service as consent_service
from rujai.events import gate
from rujai.events.access import export_subject, stream_subject
from rujai.events.book import Book
from rujai.events.errors import BatchTooLarge
from rujai.events.gate import Candidate, Drop, IncomingEvent
from rujai.events.models import EventDropCount
from rujai.events.schemas import (
    BatchCreate,
    EventRejected,
    EventResult,
    IngestSummary,
    TrackEvent,
)
from rujai.events.store import (
    BatchSealer,
    drop_counts,
    erase_subject,
    insert_new,
    list_for_subject,
    open_properties,
    purchase_lines,
    read_for_personalization,
    reassign,
    seal_properties,
    stored_message_ids,
)
from rujai.kit.crypto import Keyring
from rujai.policy.rules import SubjectFacts
from rujai.policy.schemas import Policy
from rujai.profiles import identity_resolve
from rujai.profiles.schemas import ResolvedSubject, SubjectRef

__all__ = [
    "combine_summaries",
    "drop_counts",
    "erase_subject",
    "export_subject",
    "ingest",
    "list_for_subject",
    "open_properties",
    "purchase_lines",
    "read_for_personalization",
    "reassign",
    "seal_properties",
    "stream_subject",
    "track",
    "track_batch",
]

Source = Literal["api", "import"]
UNDECLARED_TYPE = "(undeclared)"  # a type the policy does not know may itself be personal data
INVALID_TYPE = "(invalid)"  # the type of an event rejected by the input rules is not trusted
_UNKNOWN_SUBJECT = SubjectFacts(subject_id=None)


def track(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    event: TrackEvent,
    now: datetime,
    actor: str,
) -> EventResult:
    """Ingest one event from the API and return what happened to it."""
    summary = ingest(
        session,
        keyring=keyring,
        policy=policy,
        events=[event],
        source="api",
        is_partner_data=False,
        now=now,
        actor=actor,
    )
    return cast(list[EventResult], summary.results)[0]


def track_batch(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    batch: BatchCreate,
    max_events: int,
    now: datetime,
    actor: str,
) -> IngestSummary:
    """Ingest a batch from the API; refuse more than ``max_events`` events (422 on ``events``)."""
    if len(batch.events) > max_events:
        raise BatchTooLarge(f"events: at most {max_events} events per batch", field="events")
    return ingest(
        session,
        keyring=keyring,
        policy=policy,
        events=batch.events,
        source="api",
        is_partner_data=False,
        now=now,
        actor=actor,
    )


def ingest(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    events: Sequence[IncomingEvent | EventRejected],
    source: Source,
    is_partner_data: bool,
    now: datetime,
    actor: str,
    want_results: bool = True,
) -> IngestSummary:
    """Check, gate, seal and store a batch of events in the caller's transaction; audit once."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    book = Book(len(events))
    candidates = _fresh(session, _checked(policy, events, now, book), book)
    admitted = _admitted(session, keyring, policy, candidates, now, book)
    _store(session, admitted, source=source, partner=is_partner_data, now=now, book=book)
    _count_drops(session, book, now)
    summary = book.summary(want_results)
    if events:
        detail = {"source": source, "is_partner_data": is_partner_data, "received": len(events)}
        _audit(session, summary, detail, actor=actor, now=now)
    return summary


def _audit(
    session: Session, summary: IngestSummary, detail: dict[str, Any], *, actor: str, now: datetime
) -> None:
    """One audit entry per batch, with counts only: no subject ids, no values (STYLE §3)."""
    audit_service.record(
        session,
        actor=actor,
        action="events.ingest",
        now=now,
        outcome="recorded",
        detail={
            **detail,
            "accepted": summary.accepted,
            "duplicates": summary.duplicates,
            "dropped": summary.dropped_by_reason,
            "undeclared_properties": summary.undeclared_properties,  # TH-MIN-02: counted
        },
    )


def _checked(
    policy: Policy, events: Sequence[IncomingEvent | EventRejected], now: datetime, book: Book
) -> list[Candidate]:
    """Run the checks that need no database; later twins of a message id are duplicates."""
    kept: list[Candidate] = []
    seen: set[str] = set()
    checker = gate.EventChecker(policy, now)
    for index, event in enumerate(events):
        if isinstance(event, EventRejected):  # broke the input rules or the schema (a batch)
            book.message_ids[index], book.types[index] = event.message_id, INVALID_TYPE
            book.drop(index, gate.INVALID_EVENT, event.detail)
            continue
        message_id = gate.event_message_id(event)
        book.message_ids[index], book.types[index] = message_id, event.type
        checked = checker.check(event, index, message_id)
        if isinstance(checked, Drop):
            book.drop(index, checked.reason, checked.detail)
            book.dropped[index] = checked.dropped or []
            continue
        book.dropped[index] = checked.dropped
        if message_id in seen:
            book.status[index] = "duplicate"
            continue
        seen.add(message_id)
        kept.append(checked)
    return kept


def _fresh(session: Session, candidates: list[Candidate], book: Book) -> list[Candidate]:
    """Mark candidates whose message id is already stored as duplicates (idempotent retries)."""
    stored = stored_message_ids(session, [c.message_id for c in candidates])
    for candidate in candidates:
        if candidate.message_id in stored:
            book.status[candidate.index] = "duplicate"
    return [c for c in candidates if c.message_id not in stored]


def _admitted(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    candidates: list[Candidate],
    now: datetime,
    book: Book,
) -> list[tuple[Candidate, ResolvedSubject]]:
    """Resolve subjects and keep the events some purpose permits collecting (DESIGN "track").

    Subjects are looked up first without creating any, so that nobody gets a profile from an
    event that no purpose permits; only the refs with a permitted event are then created.
    """
    refs = list(dict.fromkeys(c.ref for c in candidates))
    known = identity_resolve.resolve_many(
        session, keyring=keyring, refs=refs, now=now, create=False
    )
    ids = {r.subject_id for r in known.values() if r.data_key is not None}
    facts = consent_service.subject_facts_many(session, keyring=keyring, subject_ids=ids, now=now)
    passing = _gated(gate.ConsentGate(policy, now), candidates, known, facts, book)
    return _with_subjects(session, keyring, passing, known, now, book)


def _gated(
    consent_gate: gate.ConsentGate,
    candidates: list[Candidate],
    known: dict[SubjectRef, ResolvedSubject],
    facts: dict[uuid.UUID, SubjectFacts],
    book: Book,
) -> list[Candidate]:
    """Drop events of erased subjects and those no purpose permits; unknown subjects have no
    consents (their facts are the empty ones)."""
    passing: list[Candidate] = []
    for candidate in candidates:
        resolved = known.get(candidate.ref)
        subject_id = resolved.subject_id if resolved is not None else None
        subject_facts = _UNKNOWN_SUBJECT if subject_id is None else facts.get(subject_id)
        if resolved is not None and resolved.data_key is None:
            book.drop(candidate.index, gate.SUBJECT_ERASED)
        elif not consent_gate.permits(
            subject_id, subject_facts or SubjectFacts(subject_id=subject_id), candidate.category
        ):
            book.drop(candidate.index, gate.NO_PERMITTING_PURPOSE)
        else:
            passing.append(candidate)
    return passing


def _with_subjects(
    session: Session,
    keyring: Keyring,
    passing: list[Candidate],
    known: dict[SubjectRef, ResolvedSubject],
    now: datetime,
    book: Book,
) -> list[tuple[Candidate, ResolvedSubject]]:
    """Create the subjects of permitted events from unknown refs; drop suppressed ones."""
    missing = list(dict.fromkeys(c.ref for c in passing if c.ref not in known))
    if missing:
        known = {
            **known,
            **identity_resolve.resolve_many(
                session, keyring=keyring, refs=missing, now=now, create=True
            ),
        }
    admitted: list[tuple[Candidate, ResolvedSubject]] = []
    for candidate in passing:
        resolved = known.get(candidate.ref)
        if resolved is None or resolved.data_key is None:
            book.drop(candidate.index, gate.SUBJECT_ERASED)
        else:
            admitted.append((candidate, resolved))
    return admitted


def _store(
    session: Session,
    admitted: list[tuple[Candidate, ResolvedSubject]],
    *,
    source: Source,
    partner: bool,
    now: datetime,
    book: Book,
) -> None:
    """Seal and insert the admitted events in one statement; a racing twin is a duplicate."""
    if not admitted:
        return
    inserted = insert_new(session, _columns(admitted, source, partner, now))
    for candidate, _ in admitted:
        stored = candidate.message_id in inserted
        book.status[candidate.index] = "accepted" if stored else "duplicate"


def _columns(
    admitted: list[tuple[Candidate, ResolvedSubject]], source: Source, partner: bool, now: datetime
) -> dict[str, list[Any]]:
    """The event rows, column by column, with properties sealed under each subject's key."""
    sealer = BatchSealer()
    size = len(admitted)
    return {
        "id": [uuid.uuid4() for _ in range(size)],
        "subject_id": [s.subject_id for _, s in admitted],
        "type": [c.type for c, _ in admitted],
        "category": [c.category for c, _ in admitted],
        "message_id": [c.message_id for c, _ in admitted],
        "occurred_at": [c.occurred_at for c, _ in admitted],
        "received_at": [now] * size,
        "properties_sealed": [
            sealer.seal(cast(bytes, s.data_key), s.subject_id, c.properties) for c, s in admitted
        ],
        "source": [source] * size,
        "is_partner_data": [partner] * size,
    }


def _count_drops(session: Session, book: Book, now: datetime) -> None:
    """Add the batch's drops to the per-day counts with one upsert; no personal data is kept."""
    counts = Counter(
        (UNDECLARED_TYPE if reason == gate.UNKNOWN_EVENT_TYPE else book.types[i], reason)
        for i, reason in enumerate(book.reason)
        if reason is not None and book.status[i] == "dropped"
    )
    if not counts:
        return
    rows = [
        {"day": now.date(), "event_type": event_type, "reason": reason, "count": n}
        for (event_type, reason), n in sorted(counts.items())
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(EventDropCount)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "event_type", "reason"],
            set_={"count": EventDropCount.count + stmt.excluded["count"]},
        ),
        rows,
    )


def combine_summaries(summaries: Iterable[IngestSummary]) -> IngestSummary:
    """Add up the summaries of several batches (without per-event results)."""
    reasons: Counter[str] = Counter()
    accepted = duplicates = undeclared = 0
    for summary in summaries:
        accepted += summary.accepted
        duplicates += summary.duplicates
        undeclared += summary.undeclared_properties
        reasons.update(summary.dropped_by_reason)
    return IngestSummary(
        accepted=accepted, duplicates=duplicates, dropped_by_reason=dict(sorted(reasons.items())),
        undeclared_properties=undeclared,
    )  # fmt: skip
