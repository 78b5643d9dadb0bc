"""Importing a subject's copy (TH-DSR-02: data portability to another controller running rujai).

``import_export`` reads a ZIP made by ``rights.export.build_export``, validates ``export.json``
against the published format and re-creates the person through the normal collection paths, in
the caller's transaction: the subject (customer id, or an anonymous device id), consents replayed
in ledger order through ``consent.service.record`` (a grant must name the current notice, so an
outdated or expired grant is skipped and reported, TH-CON-04), identities, traits
(``profiles.traits.set_traits``: declared and permitted only, TH-MIN-02), the profile facts, and
events through ``events.service.ingest`` (so the consent gate applies again). Insights, decisions,
the recommender membership and rights requests are not imported: they are derived again, or are
the exporting controller's own records.

A person whose customer id or identifiers are suppressed here (they were erased, TH-DSR-04) is
not re-created: the import is flagged (``status="suppressed"``, audited) and writes nothing else.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.consent import service as consent_service
from rujai.consent.errors import AgeRequired, ConsentNotApplicable, PurposeUnknown
from rujai.consent.schemas import ConsentCreate
from rujai.errors import Conflict, Invalid
from rujai.events import service as events_service
from rujai.events.schemas import EventRead, TrackEvent
from rujai.kit import inputs
from rujai.kit.crypto import Keyring
from rujai.policy.rules import Objection
from rujai.policy.schemas import Policy
from rujai.profiles import (
    identities,
    identity_resolve,
    service as profiles_service,
    suppression,
    traits as profiles_traits,
)
from rujai.profiles.schemas import AGE_BANDS, SubjectRef
from rujai.profiles.sealing import normalise_identity
from rujai.rights.export_format import ExportConsent, ExportDocument

EXPORT_JSON = "export.json"
MAX_JSON_BYTES = 512 * 1024 * 1024  # refuse a decompression bomb before reading it
EVENT_BATCH = 1000
NOT_IMPORTED = ("insights", "decisions", "recommender", "rights_requests")
ImportStatus = Literal["imported", "suppressed"]


class ImportReport(BaseModel):
    """What an import created, skipped and dropped, with reasons (counts, no personal data)."""

    model_config = ConfigDict(frozen=True)

    status: ImportStatus
    subject_id: uuid.UUID | None
    identities: int = 0
    traits_stored: list[str] = Field(default_factory=list)
    traits_dropped: dict[str, str] = Field(default_factory=dict)
    consents_replayed: int = 0
    consents_skipped: dict[str, int] = Field(default_factory=dict)
    events_accepted: int = 0
    events_dropped: dict[str, int] = Field(default_factory=dict)
    not_imported: list[str] = Field(default_factory=lambda: list(NOT_IMPORTED))


class SubjectAlreadyExists(Conflict):
    """The customer is already known here: importing would mix two records of one person."""


def read_document(data: bytes) -> ExportDocument:
    """Open a copy's ZIP and validate its ``export.json``; Invalid names ``file``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(EXPORT_JSON)
            if info.file_size > MAX_JSON_BYTES:
                raise Invalid("export.json is too large", field="file")
            raw = archive.read(info)
    except (zipfile.BadZipFile, KeyError) as e:
        raise Invalid("not a rujai export: a ZIP with export.json is expected", field="file") from e
    try:
        parsed = inputs.loads(raw)
    except inputs.Unreadable as e:
        raise Invalid(f"export.json is not JSON: {e}", field="file") from e
    problem = inputs.find_problem(parsed)  # the one input boundary, as for the API (NUL, ...)
    if problem is not None:
        raise Invalid(f"export.json at {problem.field}: {problem.message}", field="file")
    try:
        return ExportDocument.model_validate(parsed)
    except ValidationError as e:
        where = ".".join(str(part) for part in e.errors()[0]["loc"])
        # The location only, never the value: the file is personal data.
        raise Invalid(f"export.json does not follow the format at {where}", field="file") from e


def import_export(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    data: bytes,
    now: datetime,
    actor: str = "import",
) -> ImportReport:
    """Re-create the person of a copy here, in the caller's transaction (TH-DSR-02)."""
    document = read_document(data)
    if _is_suppressed(session, keyring, document):
        audit_service.record(
            session, actor=actor, action="rights.import", now=now, outcome="suppressed",
            detail={"format_version": document.format_version},
        )  # fmt: skip
        return ImportReport(status="suppressed", subject_id=None, not_imported=[])
    report = _recreate(session, keyring, policy, document, now, actor)
    audit_service.record(
        session, actor=actor, action="rights.import", now=now, subject_id=report.subject_id,
        outcome="imported", detail=report.model_dump(
            mode="json", include={"identities", "consents_replayed", "events_accepted"}
        ),
    )  # fmt: skip
    return report


def _recreate(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    document: ExportDocument,
    now: datetime,
    actor: str,
) -> ImportReport:
    """Subject, facts, consents, identities, traits, events; restriction last (it stops use)."""
    subject_id = _new_subject(session, keyring, document, now)
    skipped: Counter[str] = Counter()
    _set_facts(session, keyring, subject_id, document, now)  # the age first (TH-MIN-01)
    replayed = _replay_consents(session, keyring, policy, document, now, actor, skipped)
    linked = _link_identities(session, keyring, subject_id, document, now)
    traits = profiles_traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=subject_id,
        traits={t.name: t.value for t in document.traits}, source="import", now=now,
    )  # fmt: skip
    accepted, dropped = _ingest_events(session, keyring, policy, document, now, actor)
    if document.subject.is_restricted:
        profiles_service.set_restricted(session, subject_id=subject_id, restricted=True, now=now)
    return ImportReport(
        status="imported", subject_id=subject_id, identities=linked,
        traits_stored=traits.stored, traits_dropped=dict(traits.dropped),
        consents_replayed=replayed, consents_skipped=dict(skipped), events_accepted=accepted,
        events_dropped=dropped,
    )  # fmt: skip


def _blinds(keyring: Keyring, document: ExportDocument) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    customer_id = document.subject.customer_id
    if customer_id is not None:
        normalised = profiles_service.normalise_customer_id(customer_id)
        pairs.append((suppression.CUSTOMER_KIND, keyring.blind("customer", normalised)))
    for identity in document.identities:
        normalised = normalise_identity(identity.kind, identity.value)
        pairs.append((identity.kind, keyring.blind(identity.kind, normalised)))
    return pairs


def _is_suppressed(session: Session, keyring: Keyring, document: ExportDocument) -> bool:
    """True when the person, or any of their identifiers, was erased here (TH-DSR-04)."""
    return bool(suppression.suppressed_many(session, _blinds(keyring, document)))


def _new_subject(
    session: Session, keyring: Keyring, document: ExportDocument, now: datetime
) -> uuid.UUID:
    customer_id = document.subject.customer_id
    if customer_id is not None:
        if profiles_service.find_id(session, keyring=keyring, customer_id=customer_id):
            raise SubjectAlreadyExists(
                "this customer already exists here; import into a rujai that does not know them",
                field="customer_id",
            )
        created = profiles_service.get_or_create(
            session, keyring=keyring, customer_id=customer_id, now=now
        )
        return created.id
    ref = SubjectRef(customer_id=None, anonymous_id=_anonymous_id(document))
    found = identity_resolve.resolve_many(
        session, keyring=keyring, refs=[ref], now=now, create=False
    )
    if ref in found:
        raise SubjectAlreadyExists("this device is already known here", field="anonymous_id")
    return identity_resolve.resolve_many(session, keyring=keyring, refs=[ref], now=now)[
        ref
    ].subject_id


def _anonymous_id(document: ExportDocument) -> str:
    for identity in document.identities:
        if identity.kind == "anonymous":
            return identity.value
    raise Invalid("the copy names neither a customer id nor a device id", field="file")


def _replay_consents(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    document: ExportDocument,
    now: datetime,
    actor: str,
    skipped: Counter[str],
) -> int:
    """Append the ledger again, oldest first; a grant the subject was not shown now is skipped."""
    customer_id = document.subject.customer_id
    replayed = 0
    for record in document.consents:
        problem = _replay_problem(policy, record, customer_id, now)
        if problem is not None:
            skipped[problem] += 1
            continue
        try:
            consent_service.record(
                session, keyring=keyring, policy=policy, customer_id=str(customer_id),
                change=_change(record), now=now, evidence_ip=None, evidence_user_agent=None,
                by=actor,
            )  # fmt: skip
        except AgeRequired:  # TH-MIN-01: no age in the copy, so no profiling or marketing grant
            skipped["age_unknown"] += 1
            continue
        replayed += 1
    return replayed


def _replay_problem(
    policy: Policy, record: ExportConsent, customer_id: str | None, now: datetime
) -> str | None:
    if customer_id is None:
        return "anonymous_subject"
    try:
        purpose = consent_service.consent_purpose(policy, record.purpose)
    except (PurposeUnknown, ConsentNotApplicable):
        return "purpose_not_consent_based_here"
    if record.action == "withdraw":
        return None
    if record.notice_version != purpose.notice.version:
        return "notice_not_current"  # TH-CON-04: the grant was for a notice not shown here
    if record.expires_at is not None and record.expires_at <= now:
        return "expired"
    return None


def _change(record: ExportConsent) -> ConsentCreate:
    return ConsentCreate(
        purpose=record.purpose, action=record.action, language=record.language,
        channel=record.channel, actor=record.actor, actor_ref=record.actor_ref,
        notice_version=record.notice_version, expires_at=record.expires_at,
        explicit=record.is_explicit,
    )  # fmt: skip


def _link_identities(
    session: Session,
    keyring: Keyring,
    subject_id: uuid.UUID,
    document: ExportDocument,
    now: datetime,
) -> int:
    for identity in document.identities:
        identities.add_identity(
            session, keyring=keyring, subject_id=subject_id, kind=identity.kind,
            value=identity.value, verified=identity.is_verified, now=now,
        )  # fmt: skip
    return len(document.identities)


def _set_facts(
    session: Session,
    keyring: Keyring,
    subject_id: uuid.UUID,
    document: ExportDocument,
    now: datetime,
) -> None:
    subject = document.subject
    if subject.birth_date is not None:
        profiles_service.set_birth_date(
            session, keyring=keyring, subject_id=subject_id, birth_date=subject.birth_date, now=now
        )
    if subject.age_band in AGE_BANDS:
        band = subject.age_band
        profiles_service.set_age_band(session, subject_id=subject_id, band=band, now=now)
    for objection in subject.objections:
        kind, _, purpose = objection.partition(":")  # legitimate_interest:<purpose> (TH-DSR-03)
        if purpose:
            profiles_service.set_purpose_objection(
                session, subject_id=subject_id, purpose=purpose, objected=True, now=now
            )
            continue
        profiles_service.set_objection(
            session, subject_id=subject_id, objection=Objection(kind), objected=True, now=now
        )


def _ingest_events(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    document: ExportDocument,
    now: datetime,
    actor: str,
) -> tuple[int, dict[str, int]]:
    """Send the events through the one ingest path again, in batches; return counts."""
    accepted, dropped = 0, Counter[str]()
    for partner in (False, True):
        events = [_track(document, e) for e in document.events if e.is_partner_data is partner]
        for start in range(0, len(events), EVENT_BATCH):
            summary = events_service.ingest(
                session, keyring=keyring, policy=policy, events=events[start : start + EVENT_BATCH],
                source="import", is_partner_data=partner, now=now, actor=actor, want_results=False,
            )  # fmt: skip
            accepted += summary.accepted
            dropped.update(summary.dropped_by_reason)
    return accepted, dict(dropped)


def _track(document: ExportDocument, event: EventRead) -> TrackEvent:
    customer_id = document.subject.customer_id
    anonymous_id = None if customer_id is not None else _anonymous_id(document)
    try:
        return TrackEvent(
            type=event.type, customer_id=customer_id, anonymous_id=anonymous_id,
            properties=event.properties, timestamp=event.occurred_at, message_id=event.message_id,
        )  # fmt: skip
    except ValidationError as e:
        where = ".".join(str(part) for part in e.errors()[0]["loc"])
        raise Invalid(f"an event of the copy is not valid at {where}", field="file") from e


__all__: Sequence[str] = ("ImportReport", "SubjectAlreadyExists", "import_export", "read_document")
