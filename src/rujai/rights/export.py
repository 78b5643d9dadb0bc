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
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.consent import history as consent_history, receipts, service as consent_service
from rujai.disclosures import service as disclosures_service
from rujai.events import service as events_service
from rujai.kit.crypto import Keyring
from rujai.kit.time import as_utc
from rujai.personalize import decide, insights, recommend
from rujai.policy import service as policy_service
from rujai.policy.rules import Action, SubjectFacts
from rujai.policy.schemas import Policy, Text
from rujai.policy.service import Permit
from rujai.profiles import service as profiles_service, traits as profiles_traits
from rujai.profiles.errors import SubjectNotFound
from rujai.rights import export_format as fmt, export_html
from rujai.rights.models import RightsRequest
from rujai.rights.permits import RIGHTS_PURPOSE, rights_permit

ACTOR = "system"


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
    permit = rights_permit(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now, actor=actor
    )
    document = collect(
        session, keyring=keyring, policy=policy, permit=permit, subject_id=subject_id, now=now
    )
    audit_service.record(
        session, actor=actor, action="rights.export", now=now, subject_id=subject_id,
        purpose=RIGHTS_PURPOSE, outcome="recorded", detail=_counts(document),
    )  # fmt: skip
    return package(document, policy=policy)


def export_customer(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    now: datetime,
    actor: str,
) -> bytes:
    """``build_export`` for a brand customer id (the CLI); raise SubjectNotFound."""
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    if subject_id is None:
        raise SubjectNotFound("no subject with this customer id")
    return build_export(
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
    """Gather the document from each domain's ``export_subject`` (no audit: the caller audits)."""
    profile = profiles_traits.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    facts = consent_service.subject_facts(session, keyring=keyring, subject_id=subject_id, now=now)
    purposes = _purposes(policy, facts, now)
    return fmt.ExportDocument(
        generated_at=now,
        policy_version=policy.version,
        controller=_controller(policy),
        subject=_subject(session, keyring, permit, subject_id),
        identities=profile.identities,
        traits=[
            fmt.ExportTrait(name=name, category=_category(policy, name), value=value)
            for name, value in profile.traits.items()
        ],
        consents=_consents(session, keyring, policy, permit, subject_id),
        events=events_service.export_subject(
            session, keyring=keyring, permit=permit, subject_id=subject_id
        ),
        insights=insights.export_subject(session, permit=permit, subject_id=subject_id),
        decisions=decide.export_subject(session, permit=permit, subject_id=subject_id),
        purposes=purposes,
        recipients=_recipients(policy, purposes),
        recommender=recommend.export_subject(session, permit=permit, subject_id=subject_id),
        rights_requests=_rights_requests(session, subject_id),
        disclosures=disclosures_service.export_subject(  # TH-DSR-01: who received the data
            session, policy=policy, permit=permit, subject_id=subject_id
        ),
    )


def package(document: fmt.ExportDocument, *, policy: Policy) -> bytes:
    """Write the document, its CSV tables, the schema and the HTML summary into a ZIP."""
    data = document.model_dump(mode="json")
    files: dict[str, bytes] = {
        "export.json": json.dumps(data, ensure_ascii=False, indent=2).encode(),
        fmt.SCHEMA_FILE: fmt.schema_text().encode(),
        "summary.html": export_html.render(document, policy=policy).encode(),
        **{f"csv/{name}": body for name, body in fmt.csv_tables(data).items()},
    }
    stamp = as_utc(document.generated_at).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    return buffer.getvalue()


def _counts(document: fmt.ExportDocument) -> dict[str, int]:
    return {
        "identities": len(document.identities),
        "traits": len(document.traits),
        "consents": len(document.consents),
        "events": len(document.events),
        "insights": len(document.insights),
        "decisions": len(document.decisions),
        "rights_requests": len(document.rights_requests),
        "disclosures": len(document.disclosures),
        "model_member": int(document.recommender is not None),
    }


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
