"""Notice drafts in Thai and English, and the notices sent (TH-BRE-01, EU-04, TH-PRC-01).

The draft to the authority carries what the PDPC's breach notification (2022) asks: the nature
of the breach, the categories and approximate numbers of subjects and records, the DPO or
contact point, the likely consequences, the measures taken or proposed, and when the breach
occurred and when we became aware. In processor mode it is addressed to the controller instead
(PDPA s.40(2), without delay). Where the latest assessment finds a high risk, a draft to the
subjects follows, and ``notify_subjects`` sends it through the rights notifier's outbox to each
affected subject's verified contact on file, recording per subject which notice went out, when
and through which channel (or that no contact was on file). Templates live in ``templates/``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.incidents import blast, clock as incident_clock, service
from rujai.incidents.errors import IncidentStateConflict
from rujai.incidents.models import Incident, IncidentNotice
from rujai.incidents.schemas import (
    AssessmentRead,
    Audience,
    BlastRadiusRead,
    DraftRead,
    DraftsRead,
    Lang,
    NoticeRead,
    NotifyResult,
)
from rujai.kit.crypto import Keyring
from rujai.kit.time import as_utc
from rujai.policy.schemas import Policy
from rujai.rights import notifier as rights_notifier

_ENV = Environment(  # plain text: nothing is rendered as HTML
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=False,  # noqa: S701 - text notices, shown escaped by the console's templates
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
PDPC: tuple[str, str] = (
    "สำนักงานคณะกรรมการคุ้มครองข้อมูลส่วนบุคคล (สคส.)",
    "the Office of the Personal Data Protection Committee (PDPC)",
)
# Likely consequences by category, as the PDPC asks the controller to say (th, en).
CONSEQUENCES: dict[str, tuple[str, str]] = {
    "contact": ("อาจถูกติดต่อหลอกลวง (ฟิชชิง) หรือสแปม", "phishing or unwanted contact"),
    "identity": ("อาจถูกสวมรอยหรือแอบอ้างตัวตน", "impersonation or identity fraud"),
    "demographics": ("อาจถูกใช้ประกอบการสวมรอย", "use in impersonation"),
    "purchase_history": ("อาจเปิดเผยพฤติกรรมการซื้อ", "exposure of purchasing habits"),
    "browsing": ("อาจเปิดเผยความสนใจส่วนตัว", "exposure of personal interests"),
    "location": ("อาจเปิดเผยสถานที่ที่ไปเป็นประจำ", "exposure of places regularly visited"),
}
_SENSITIVE = ("อาจถูกเลือกปฏิบัติหรือได้รับความเสียหายทางจิตใจ", "discrimination or distress")
_OTHER = ("ความเสี่ยงต่อความเป็นส่วนตัว", "a risk to privacy")
_NOT_ASSESSED = (
    "ยังไม่ได้ประเมิน (ระบุมาตรการก่อนส่ง)",
    "not assessed yet (add the measures before sending)",
)


def drafts(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    incident_id: uuid.UUID,
    lang: Lang,
    now: datetime,
    actor: str,
) -> DraftsRead:
    """Return the draft to the authority and, where the risk is high, to the subjects."""
    row = service.load(session, incident_id)
    radius = _radius(session, keyring, policy, row, now, actor)
    assessment = service.latest_assessment(session, incident_id=incident_id)
    values = _values(policy, row, radius, assessment, lang)
    to_subjects = None
    if assessment is not None and assessment.risk == "high":
        to_subjects = _draft("subject", lang, values, "subject")
    return DraftsRead(
        incident_id=row.id,
        lang=lang,
        to_authority=_draft("authority", lang, values, row.notice_to),  # type: ignore[arg-type]
        to_subjects=to_subjects,
    )


def record_authority(
    session: Session,
    *,
    incident_id: uuid.UUID,
    reference: str | None,
    lang: Lang,
    now: datetime,
    actor: str,
) -> NotifyResult:
    """Record that the notice to the regulator (or the controller) went out; stops the clock."""
    row = service.record_authority_notice(
        session, incident_id=incident_id, now=now, actor=actor, reference=reference
    )
    audience = row.notice_to
    session.add(
        IncidentNotice(
            incident_id=row.id, audience=audience, subject_id=None, channel="portal", lang=lang,
            delivered=True, reference=reference, sent_by=actor, sent_at=now,
        )
    )  # fmt: skip
    session.flush()
    late = as_utc(now) > incident_clock.deadline_of(row.aware_at)
    service.audit_step(session, row, "incident.notified", now, actor, {
        "audience": audience, "late": late, "has_reference": reference is not None,
    })  # fmt: skip
    return NotifyResult(
        incident_id=row.id, audience="authority", status="notified", sent=1, without_contact=0
    )


def notify_subjects(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    incident_id: uuid.UUID,
    lang: Lang,
    now: datetime,
    actor: str,
    notifier: rights_notifier.Notifier | None = None,
) -> NotifyResult:
    """Send the subjects' notice where the latest assessment found a high risk; one record each."""
    row = service.load(session, incident_id)
    assessment = service.latest_assessment(session, incident_id=incident_id)
    if assessment is None or assessment.decision != "notify_and_subjects":
        raise IncidentStateConflict(
            f"incident {row.reference}: the latest assessment does not decide to notify the "
            "subjects (decision notify_and_subjects)",
            field="decision",
        )
    window = blast.window_of(row.id, list(row.categories), row.occurred_from, row.occurred_to)
    ids = blast.affected_ids(
        session, keyring=keyring, policy=policy, window=window, now=now, actor=actor
    )
    already = _already_told(session, row.id)
    radius = _radius(session, keyring, policy, row, now, actor)
    body = _draft("subject", lang, _values(policy, row, radius, assessment, lang), "subject").body
    send = notifier or rights_notifier.OutboxNotifier(keyring)
    sent = missing = 0
    for sid in ids:
        if sid in already:
            continue
        channel = _send_one(session, keyring, policy, send, row, sid, body, now)
        session.add(
            IncidentNotice(
                incident_id=row.id, audience="subject", subject_id=sid, channel=channel or "none",
                lang=lang, delivered=channel is not None, reference=None, sent_by=actor,
                sent_at=now,
            )
        )  # fmt: skip
        sent, missing = (sent + 1, missing) if channel else (sent, missing + 1)
    session.flush()
    service.audit_step(session, row, "incident.notified", now, actor, {
        "audience": "subject", "sent": sent, "without_contact": missing,
        "already_told": len(already),
    })  # fmt: skip
    return NotifyResult(
        incident_id=row.id, audience="subjects", status=row.status,
        sent=sent, without_contact=missing,
    )  # fmt: skip


def list_notices(session: Session, *, incident_id: uuid.UUID) -> list[NoticeRead]:
    """Return the notices recorded for an incident, oldest first."""
    service.load(session, incident_id)
    stmt = (
        select(IncidentNotice)
        .where(IncidentNotice.incident_id == incident_id)
        .order_by(IncidentNotice.sent_at, IncidentNotice.id)
    )
    return [
        NoticeRead(
            id=n.id, audience=n.audience, channel=n.channel,
            lang=n.lang, delivered=n.delivered, reference=n.reference,
            sent_at=as_utc(n.sent_at),
        )
        for n in session.scalars(stmt)
    ]  # fmt: skip


def _send_one(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    send: rights_notifier.Notifier,
    row: Incident,
    sid: uuid.UUID,
    body: str,
    now: datetime,
) -> str | None:
    """Send to the subject's verified e-mail (else phone) on file; None when there is none."""
    contact = rights_notifier.verified_contact(
        session, keyring=keyring, policy=policy, subject_id=sid, kinds=("email", "phone"),
        now=now, why={"incident_id": str(row.id), "template": "breach_notice"},
    )  # fmt: skip
    if contact is None:
        return None
    send.send(
        session, subject_id=sid, channel=contact.channel, recipient=contact.value,
        template="breach_notice", body=body, now=now,
    )  # fmt: skip
    return contact.channel


def _already_told(session: Session, incident_id: uuid.UUID) -> set[uuid.UUID]:
    stmt = select(IncidentNotice.subject_id).where(
        IncidentNotice.incident_id == incident_id,
        IncidentNotice.audience == "subject",
        IncidentNotice.delivered.is_(True),
    )
    return {sid for sid in session.scalars(stmt) if sid is not None}


def _radius(
    session: Session, keyring: Keyring, policy: Policy, row: Incident, now: datetime, actor: str
) -> BlastRadiusRead:
    window = blast.window_of(row.id, list(row.categories), row.occurred_from, row.occurred_to)
    return blast.measure(
        session, keyring=keyring, policy=policy, window=window, with_subjects=False, now=now,
        actor=actor,
    )  # fmt: skip


def _values(
    policy: Policy,
    row: Incident,
    radius: BlastRadiusRead,
    assessment: AssessmentRead | None,
    lang: Lang,
) -> dict[str, Any]:
    """What the templates fill in: dates for the reader, names and counts (no subject named)."""
    i = 0 if lang == "th" else 1
    when = incident_clock.thai_datetime if lang == "th" else incident_clock.english_datetime
    titles = {
        c: policy.categories[c].title.get(lang) for c in row.categories if c in policy.categories
    }
    return {
        "incident": row,
        "addressee": _addressee(policy, lang),
        "sender": _sender(policy, lang),
        "systems": ", ".join(row.systems),
        "occurred_from": when(row.occurred_from),
        "occurred_to": when(row.occurred_to),
        "aware_at": when(row.aware_at),
        "deadline": when(incident_clock.deadline_of(row.aware_at)),
        "categories": ", ".join(titles.values()),
        "sensitive": ", ".join(titles[c] for c in radius.sensitive_categories if c in titles),
        "subjects": radius.subject_count,
        "minors": radius.minor_count,
        "records": radius.record_count,
        "consequences": _consequences(policy, row.categories, i),
        "measures": assessment.measures if assessment is not None else _NOT_ASSESSED[i],
        "contact": _contact(policy, lang),
    }


def _consequences(policy: Policy, categories: list[str], i: int) -> str:
    found: list[str] = []
    for c in categories:
        declared = policy.categories.get(c)
        pair = (
            _SENSITIVE
            if declared is not None and declared.sensitive
            else CONSEQUENCES.get(c, _OTHER)
        )
        if pair[i] not in found:
            found.append(pair[i])
    return ", ".join(found)


def _addressee(policy: Policy, lang: Lang) -> str:
    if policy.processor is None:
        return PDPC[0 if lang == "th" else 1]
    c = policy.controller
    return "; ".join(x for x in (c.name.get(lang), c.contact.email, c.contact.phone) if x)


def _sender(policy: Policy, lang: Lang) -> str:
    if policy.processor is not None:
        return policy.processor.name.get(lang)
    return policy.controller.name.get(lang)


def _contact(policy: Policy, lang: Lang) -> str:
    if policy.processor is not None:
        p = policy.processor
        return "; ".join(x for x in (p.name.get(lang), p.contact.email, p.contact.phone) if x)
    dpo = policy.controller.dpo
    name = dpo.name.get(lang) if dpo.name else ""
    return "; ".join(x for x in (name, dpo.email, dpo.phone) if x)


def _draft(kind: str, lang: Lang, values: dict[str, Any], audience: Audience) -> DraftRead:
    text = _ENV.get_template(f"{kind}_{lang}.txt").render(**values).strip()
    first, _, rest = text.partition("\n")
    subject = first.removeprefix("เรื่อง").removeprefix("Subject:").strip()
    return DraftRead(audience=audience, lang=lang, subject=subject, body=rest.strip())
