"""Access and portability copies (TH-DSR-01, TH-DSR-02): one ZIP with everything about a person.

``build_export`` gathers the subject's data through each domain's ``export_subject`` (profile,
identities and traits decrypted, the consent ledger with re-issued receipts, events decrypted,
insights with their sources, decisions with their reasons, the recommender membership) plus what
the policy says applies to them (purposes, lawful bases, retention, recipients) and their rights
requests. Nothing of any other subject is read. The ZIP holds:

- ``export.json``: the document, valid against ``export.schema.json`` (also in the ZIP);
- one CSV per table, UTF-8 with a byte-order mark (Excel shows Thai correctly);
- ``summary.html``: a self-contained summary in Thai (Buddhist Era dates) and English.

Making the copy is itself a use of the person's data: it always takes a permit for the policy's
``rights_requests`` purpose (a legal obligation) with ``Action.ANSWER_RIGHTS``
(``rights.permits``), which every domain's ``export_subject`` checks, and it is audited as
``rights.export`` with counts only. Access survives a restriction (TH-DSR-05 stops processing, not
the subject's own right of access, PDPA s.30): the door allows ``ANSWER_RIGHTS`` through it. A
policy that declares no rights purpose cannot answer a request: the copy is refused (TH-DSR-01).

The copy is streamed (``open_export``): each section of ``SECTIONS`` is read through its domain's
``export_subject`` (events through ``events.service.stream_subject``, a server-side cursor) and
written as it comes by ``export_stream.write_zip`` into a spooled temporary file, which the API and
the privacy center send in chunks; memory does not grow with the subject's history. A new section
is a field of ``ExportDocument`` (``export_format``) and one line in ``SECTIONS``.

Where the time goes (``bench/access.py``: PostgreSQL, 1M events, a subject with 10,000 events;
cProfile of one copy, shares of its time). In memory, 1.1 s: ORM objects for the 10,000 event
rows ~25 %, an ``EventRead`` validated and a new AES-GCM object per event ~25 %,
``json.dumps(indent=2)`` (indent turns off the C encoder) ~22 %, the CSV tables ~18 %, zlib at
level 6 ~3 %. Streamed: the CSV rows ~40 % (``csv.writer`` itself a third of that), waiting on
PostgreSQL ~17 % (one server-side cursor, fetched 1,000 rows at a time), zlib at level 1 ~8 %,
pydantic-core's serialisation ~10 %, opening the events ~5 % (one AES-GCM object, one JSON parse
per batch); the other sections together under 10 %.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import cached_property
from typing import IO, Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.consent import history as consent_history, receipts, service as consent_service
from rujai.disclosures import service as disclosures_service
from rujai.events import service as events_service
from rujai.kit.crypto import Keyring
from rujai.personalize import decide, insights, recommend
from rujai.policy import service as policy_service
from rujai.policy.rules import Action, SubjectFacts
from rujai.policy.schemas import Policy, Text
from rujai.policy.service import Permit
from rujai.profiles import service as profiles_service, traits as profiles_traits
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.schemas import ProfileDataExport
from rujai.rights import export_format as fmt, export_stream, retention_subject
from rujai.rights.models import RightsRequest
from rujai.rights.permits import RIGHTS_PURPOSE, rights_permit

ACTOR = "system"
CHUNK = 64 * 1024  # bytes per chunk of a streamed response
HEAD = ("format", "format_version", "generated_at", "policy_version", "controller")


class ExportContext:
    """What the sections of one copy read with: the session, the permit, the policy, the time."""

    def __init__(
        self,
        session: Session,
        *,
        keyring: Keyring,
        policy: Policy,
        permit: Permit,
        subject_id: uuid.UUID,
        now: datetime,
    ) -> None:
        self.session, self.keyring, self.policy, self.permit = session, keyring, policy, permit
        self.subject_id, self.now = subject_id, now
        self.own: dict[str, Any] = {
            "permit": permit,
            "subject_id": subject_id,
        }  # most readers' args

    @cached_property
    def profile(self) -> ProfileDataExport:
        """Identities and traits, decrypted (read once for both sections)."""
        return profiles_traits.export_subject(
            self.session, keyring=self.keyring, permit=self.permit, subject_id=self.subject_id
        )

    @cached_property
    def facts(self) -> SubjectFacts:
        """The subject's consent facts now (read once for purposes and retention)."""
        return consent_service.subject_facts(
            self.session, keyring=self.keyring, subject_id=self.subject_id, now=self.now
        )

    @cached_property
    def purposes(self) -> list[fmt.ExportPurpose]:
        """Every purpose of the policy and whether it applies to the subject now."""
        return _purposes(self.policy, self.facts, self.now)


Section = Callable[[ExportContext], Any]  # a model, None, or an iterable of models

# The sections of export.json after the head, by field of ExportDocument: one line each.
SECTIONS: dict[str, Section] = {
    "subject": lambda c: _subject(c.session, c.keyring, c.permit, c.subject_id),
    "identities": lambda c: c.profile.identities,
    "traits": lambda c: _traits(c.policy, c.profile.traits),
    "consents": lambda c: _consents(c.session, c.keyring, c.policy, c.permit, c.subject_id),
    "events": lambda c: events_service.stream_subject(c.session, keyring=c.keyring, **c.own),
    "insights": lambda c: insights.export_subject(c.session, **c.own),
    "decisions": lambda c: decide.export_subject(c.session, **c.own),
    "purposes": lambda c: c.purposes,
    "recipients": lambda c: _recipients(c.policy, c.purposes),
    "recommender": lambda c: recommend.export_subject(c.session, **c.own),
    "rights_requests": lambda c: _rights_requests(c.session, c.subject_id),
    "retention": lambda c: retention_view(c.policy, c.facts, c.now),
    "disclosures": lambda c: disclosures_service.export_subject(
        c.session, policy=c.policy, **c.own
    ),
}  # fmt: skip


def open_export(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    now: datetime,
    actor: str = ACTOR,
    spool_bytes: int = export_stream.SPOOL_BYTES,
) -> IO[bytes]:
    """Write the subject's copy (ZIP) into a spooled temporary file; return it, at its start.

    Each spool (the ZIP, the CSV tables) stays in memory up to ``spool_bytes``, then on disk."""
    permit = rights_permit(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now, actor=actor
    )
    context = ExportContext(
        session, keyring=keyring, policy=policy, permit=permit, subject_id=subject_id, now=now
    )
    spool = tempfile.SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115 - the caller closes it
    try:
        counts = export_stream.write_zip(
            spool, head=_head(policy, now), sections=_sections(context), policy=policy,
            spool_bytes=spool_bytes,
        )  # fmt: skip
    except BaseException:
        spool.close()
        raise
    audit_service.record(
        session, actor=actor, action="rights.export", now=now, subject_id=subject_id,
        purpose=RIGHTS_PURPOSE, outcome="recorded", detail=counts,
    )  # fmt: skip
    spool.seek(0)
    return spool


def build_export(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    now: datetime,
    actor: str = ACTOR,
) -> bytes:
    """Return the subject's copy as a ZIP: export.json, one CSV per table, summary.html."""
    with open_export(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now, actor=actor
    ) as spool:
        return spool.read()


def iter_file(spool: IO[bytes], chunk: int = CHUNK) -> Iterator[bytes]:
    """Yield a spooled copy in chunks (a streamed response's body); close it at the end."""
    try:
        while data := spool.read(chunk):
            yield data
    finally:
        spool.close()


def export_customer(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    now: datetime,
    actor: str,
) -> IO[bytes]:
    """``open_export`` for a brand customer id (the CLI); raise SubjectNotFound."""
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    if subject_id is None:
        raise SubjectNotFound("no subject with this customer id")
    return open_export(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now, actor=actor
    )


def collect(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    permit: Permit,
    subject_id: uuid.UUID,
    now: datetime,
) -> fmt.ExportDocument:
    """Gather the whole document in memory from the same sections (no audit: the caller audits)."""
    context = ExportContext(
        session, keyring=keyring, policy=policy, permit=permit, subject_id=subject_id, now=now
    )
    values = {
        name: value if value is None or isinstance(value, BaseModel) else list(value)
        for name, value in _sections(context)
    }
    return fmt.ExportDocument(**_head(policy, now), **values)


def _head(policy: Policy, now: datetime) -> dict[str, Any]:
    return {
        "format": fmt.FORMAT,
        "format_version": fmt.FORMAT_VERSION,
        "generated_at": now,
        "policy_version": policy.version,
        "controller": _controller(policy),
    }


def _sections(context: ExportContext) -> Iterator[tuple[str, Any]]:
    """Each section in the order of the document's fields, read when its turn comes."""
    for name in fmt.ExportDocument.model_fields:
        if name not in HEAD:
            yield name, SECTIONS[name](context)


def _traits(policy: Policy, traits: dict[str, Any]) -> list[fmt.ExportTrait]:
    return [
        fmt.ExportTrait(name=name, category=_category(policy, name), value=value)
        for name, value in traits.items()
    ]


def _controller(policy: Policy) -> fmt.ExportController:
    controller = policy.controller
    return fmt.ExportController(
        name=controller.name,
        country=controller.country,
        email=controller.contact.email,
        dpo_email=controller.dpo.email,
    )


def _subject(
    session: Session, keyring: Keyring, permit: Permit, subject_id: uuid.UUID
) -> fmt.ExportSubject:
    row = profiles_service.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    return fmt.ExportSubject.model_validate(row.model_dump())


def _category(policy: Policy, trait: str) -> str:
    spec = policy.traits.get(trait)
    return spec.category if spec is not None else "undeclared"


def _consents(
    session: Session, keyring: Keyring, policy: Policy, permit: Permit, subject_id: uuid.UUID
) -> list[fmt.ExportConsent]:
    records = consent_history.export_subject(session, permit=permit, subject_id=subject_id)
    head = audit_service.current_head(session)
    return [
        fmt.ExportConsent(
            **record.model_dump(),
            receipt=receipts.issue(keyring, policy, record, audit_head=head),
        )
        for record in records
    ]


def _purposes(policy: Policy, facts: SubjectFacts, now: datetime) -> list[fmt.ExportPurpose]:
    """Every purpose with its basis, retention and recipients, and whether it applies now."""
    found = []
    for purpose_id, purpose in policy.purposes.items():
        verdict = policy_service.decide(
            policy, facts, purpose=purpose_id, categories=purpose.categories,
            action=Action.USE, now=now,
        )  # fmt: skip
        found.append(
            fmt.ExportPurpose(
                id=purpose_id, title=purpose.title, basis=purpose.basis.value,
                categories=list(purpose.categories), retention_days=purpose.retention_days,
                recipients=list(purpose.recipients), direct_marketing=purpose.direct_marketing,
                profiling=purpose.profiling, applies=verdict.allowed, reason=verdict.reason.value,
                reason_text=Text(th=verdict.text("th"), en=verdict.text("en")),
            )
        )  # fmt: skip
    return found


def subject_retention(
    session: Session, *, keyring: Keyring, policy: Policy, subject_id: uuid.UUID, now: datetime
) -> list[fmt.ExportRetention]:
    """Return the subject's effective retention per category, as the copy shows it (TH-RET-01)."""
    facts = consent_service.subject_facts(session, keyring=keyring, subject_id=subject_id, now=now)
    return retention_view(policy, facts, now)


def retention_view(policy: Policy, facts: SubjectFacts, now: datetime) -> list[fmt.ExportRetention]:
    """Per category of the policy, the person's effective retention and its purpose (TH-RET-01)."""
    categories = sorted({c for p in policy.purposes.values() for c in p.categories})
    kept = retention_subject.effective_retention(policy, facts, categories=categories, now=now)
    return [
        fmt.ExportRetention(
            category=category,
            purpose=k.purpose,
            days=k.days,
            purge_after=retention_subject.bangkok_date(now + timedelta(days=k.days)),
            text=retention_subject.retention_text(policy, k, now),
        )
        for category, k in kept.items()
    ]


def _recipients(policy: Policy, purposes: list[fmt.ExportPurpose]) -> list[fmt.ExportRecipient]:
    """The recipients of the purposes that apply, with the purposes they receive data for."""
    applying = {p.id for p in purposes if p.applies}
    found = []
    for recipient_id, recipient in policy.recipients.items():
        shared = sorted(
            {p for p in recipient.purposes if p in applying}
            | {p.id for p in purposes if p.applies and recipient_id in p.recipients}
        )
        if shared:
            found.append(
                fmt.ExportRecipient(
                    id=recipient_id, name=recipient.name, country=recipient.country,
                    mechanism=recipient.mechanism.value, purposes=shared,
                )
            )  # fmt: skip
    return found


def _rights_requests(session: Session, subject_id: uuid.UUID) -> list[fmt.ExportRightsRequest]:
    rows = session.scalars(
        select(RightsRequest)
        .where(RightsRequest.subject_id == subject_id)
        .order_by(RightsRequest.received_at)
    )
    return [
        fmt.ExportRightsRequest(
            id=row.id, kind=row.kind, status=row.status, channel=row.channel,
            received_at=row.received_at, due_at=row.extended_until or row.due_at,
            completed_at=row.completed_at, refusal_code=row.refusal_code,
        )
        for row in rows
    ]  # fmt: skip
