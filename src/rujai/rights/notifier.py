"""Messages to data subjects: the ``Notifier`` seam, the outbox, Thai and English texts.

A message only ever goes to an identity already on file for the subject **and verified**
(``verified_contact``): never to an address typed into a request. That is the one place where the
rights domain gets a contact in the clear: through the door, with a permit for the
``rights_requests`` purpose covering ``contact`` (``rights.permits``), from
``profiles.contacts.verified_contact``; each read is also audited as
``rights.verification.read_identity`` (no value in the entry, only the identity's id and kind).
A policy that refuses the permit (no rights purpose) means no message is sent.

The default ``OutboxNotifier`` keeps each message sealed under the subject's data key (recipient
and body) in ``outbox_message``, where staff read it with ``list_outbox`` (an audited read) and a
relay would deliver it. Texts are in Thai and English; Thai readers get dates in the Buddhist Era
(TH-CON-05).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Invalid, PolicyDenied
from rujai.kit.crypto import Keyring
from rujai.policy import labels
from rujai.policy.schemas import Lang, Policy
from rujai.profiles import contacts as profiles_contacts
from rujai.profiles.errors import SubjectErased, SubjectNotFound
from rujai.profiles.sealing import open_value, seal_value, subject_key
from rujai.rights.models import OutboxMessage
from rujai.rights.permits import RIGHTS_PURPOSE, rights_permit
from rujai.rights.schemas import OutboxMessageRead

MAX_OUTBOX_LIST = 500
CHANNEL_OF_KIND = {"email": "email", "phone": "sms"}
# Deadlines are shown in the jurisdiction's local time (Bangkok, Jakarta, Singapore; EU in UTC).
DISPLAY_TZ = {
    "TH": timezone(timedelta(hours=7)),
    "ID": timezone(timedelta(hours=7)),
    "SG": timezone(timedelta(hours=8)),
}

KIND_TITLE: dict[str, tuple[str, str]] = {
    "access": ("ขอเข้าถึงและขอรับสำเนาข้อมูล", "access"),
    "portability": ("ขอรับและโอนย้ายข้อมูล", "data portability"),
    "rectification": ("ขอแก้ไขข้อมูล", "rectification"),
    "erasure": ("ขอลบข้อมูล", "erasure"),
    "restriction": ("ขอระงับการใช้ข้อมูล", "restriction"),
    "restriction_lift": ("ขอยกเลิกการระงับการใช้ข้อมูล", "lifting a restriction"),
    "objection": ("คัดค้านการประมวลผลข้อมูล", "objection"),
    "objection_lift": ("ถอนคำคัดค้าน", "withdrawing an objection"),
    "withdrawal": ("ถอนความยินยอม", "consent withdrawal"),
}
AUTHORITY: dict[str, tuple[str, str]] = {
    "TH": ("คณะกรรมการคุ้มครองข้อมูลส่วนบุคคล (สคส.)", "the Personal Data Protection Committee"),
    "EU": ("หน่วยงานกำกับดูแลด้านการคุ้มครองข้อมูล", "a data protection supervisory authority"),
}
_DEFAULT_AUTHORITY = ("หน่วยงานกำกับดูแลด้านการคุ้มครองข้อมูล", "the data protection authority")

TEMPLATES: dict[str, tuple[str, str]] = {
    "verification_code": (
        "รหัสยืนยันตัวตนของคุณคือ {code} ใช้ได้ภายใน {minutes} นาที เจ้าหน้าที่จะไม่ขอรหัสนี้จากคุณ อย่าบอกรหัสนี้กับผู้อื่น",
        "Your verification code is {code}. It expires in {minutes} minutes. "
        "Our staff will never ask you for it; do not share it.",
    ),
    "sign_in_code": (
        "รหัสเข้าสู่ศูนย์ความเป็นส่วนตัวของคุณคือ {code} ใช้ได้ภายใน {minutes} นาที",
        "Your privacy center sign-in code is {code}. It expires in {minutes} minutes.",
    ),
    "request_received": (
        "เราได้รับคำขอ{kind}ของคุณแล้ว (เลขที่ {ref}) และจะดำเนินการให้เสร็จภายใน {due}",
        "We received your {kind} request (ref. {ref}) and will complete it by {due}.",
    ),
    "request_completed": (
        "คำขอ{kind}ของคุณ (เลขที่ {ref}) ดำเนินการเสร็จแล้ว",
        "Your {kind} request (ref. {ref}) has been completed.",
    ),
    "request_refused": (
        "เราไม่สามารถดำเนินการตามคำขอ{kind}ของคุณ (เลขที่ {ref}) ได้ เหตุผล: {reason} "
        "({provision}) คุณมีสิทธิร้องเรียนต่อ{authority}",
        "We cannot carry out your {kind} request (ref. {ref}). Reason: {reason} "
        "({provision}). You may complain to {authority}.",
    ),
    "request_extended": (
        "คำขอ{kind}ของคุณ (เลขที่ {ref}) ต้องใช้เวลาเพิ่มเติม เราจะดำเนินการให้เสร็จภายใน {due} "
        "เหตุผล: {reason}",
        "Your {kind} request (ref. {ref}) needs more time; we will complete it by {due}. "
        "Reason: {reason}",
    ),
}


class Notifier(Protocol):
    """Sends one message to a subject; implementations must not log recipient or body."""

    def send(
        self,
        session: Session,
        *,
        subject_id: uuid.UUID,
        channel: str,
        recipient: str,
        template: str,
        body: str,
        now: datetime,
    ) -> None: ...


@dataclass(frozen=True)
class OutboxNotifier:
    """Keeps each message sealed under the subject's data key in ``outbox_message``."""

    keyring: Keyring = field(repr=False)

    def send(
        self,
        session: Session,
        *,
        subject_id: uuid.UUID,
        channel: str,
        recipient: str,
        template: str,
        body: str,
        now: datetime,
    ) -> None:
        """Seal recipient and body (bound to the message id) and store the message."""
        key = subject_key(session, keyring=self.keyring, subject_id=subject_id)
        message_id = uuid.uuid4()
        seal = _sealer(key, subject_id, message_id)
        session.add(
            OutboxMessage(
                id=message_id,
                subject_id=subject_id,
                channel=channel,
                template=template,
                recipient_sealed=seal("recipient", recipient),
                body_sealed=seal("body", body),
                created_at=now,
                sent_at=None,
            )
        )
        session.flush()


def _sealer(key: bytes, subject_id: uuid.UUID, message_id: uuid.UUID) -> Any:
    def seal(part: str, text: str) -> bytes:
        return seal_value(key, subject_id, f"outbox.{message_id}.{part}", text.encode())

    return seal


def render(template: str, lang: Lang, **values: Any) -> str:
    """Return the text of ``template`` in ``lang`` with ``values`` filled in (TH-CON-05)."""
    th, en = TEMPLATES[template]
    return (th if lang == "th" else en).format(**values)


def kind_title(kind: str, lang: Lang) -> str:
    """Return how a request kind is named to the subject."""
    return labels.pick(KIND_TITLE[kind], lang)


def authority(jurisdiction: str, lang: Lang) -> str:
    """Return the authority a subject may complain to (PDPA s.73; GDPR Art. 77)."""
    return labels.pick(AUTHORITY.get(jurisdiction, _DEFAULT_AUTHORITY), lang)


def format_due(moment: datetime, lang: Lang, jurisdiction: str, *, with_time: bool) -> str:
    """Format a deadline: Buddhist Era for Thai readers, local time of the jurisdiction."""
    local = moment.astimezone(DISPLAY_TZ.get(jurisdiction, UTC))
    text = labels.format_date(local.date(), lang)
    if with_time:
        suffix = "น." if lang == "th" else f"(UTC{local.strftime('%z')[:3]})"
        text = f"{text} {local.strftime('%H:%M')} {suffix}"
    return text


def reference(request_id: uuid.UUID) -> str:
    """Return the short reference of a request shown to the subject."""
    return request_id.hex[:8].upper()


@dataclass(frozen=True)
class Contact:
    """A verified identity on file, decrypted for one message."""

    identity_id: uuid.UUID
    kind: str
    value: str = field(repr=False)

    @property
    def channel(self) -> str:
        return CHANNEL_OF_KIND[self.kind]


def verified_contact(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    kinds: Sequence[str],
    now: datetime,
    why: dict[str, Any],
    identity_id: uuid.UUID | None = None,
) -> Contact | None:
    """Decrypt only the chosen verified identity on file (preferring ``kinds`` in order); audited.

    Never an address supplied by a requester: only identities on file with ``is_verified``.
    """
    try:
        permit = rights_permit(
            session, keyring=keyring, policy=policy, subject_id=subject_id, now=now,
            actor="system", categories=(profiles_contacts.CONTACT_CATEGORY,),
        )  # fmt: skip
    except (PolicyDenied, SubjectNotFound):
        return None  # the door refused (audited there) or the subject is gone: nothing is sent
    found = profiles_contacts.verified_contact(
        session, keyring=keyring, permit=permit, subject_id=subject_id, kinds=kinds,
        identity_id=identity_id,
    )  # fmt: skip
    if found is None:
        return None
    audit_service.record(
        session,
        actor="system",
        action="rights.verification.read_identity",
        now=now,
        subject_id=subject_id,
        purpose=RIGHTS_PURPOSE,
        outcome="read",
        detail={"identity_id": str(found.id), "identity_kind": found.kind, **why},
    )
    return Contact(identity_id=found.id, kind=found.kind, value=found.value)


def notify(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    notifier: Notifier,
    subject_id: uuid.UUID | None,
    template: str,
    lang: Lang,
    now: datetime,
    why: dict[str, Any],
    **values: Any,
) -> bool:
    """Send ``template`` to the subject's verified e-mail (else phone); False if there is none."""
    if subject_id is None:
        return False
    contact = verified_contact(
        session,
        keyring=keyring,
        policy=policy,
        subject_id=subject_id,
        kinds=("email", "phone"),
        now=now,
        why={"template": template, **why},
    )
    if contact is None:
        return False
    body = render(template, lang, **values)
    notifier.send(
        session,
        subject_id=subject_id,
        channel=contact.channel,
        recipient=contact.value,
        template=template,
        body=body,
        now=now,
    )
    return True


def list_outbox(
    session: Session, *, keyring: Keyring, limit: int = 50, now: datetime, actor: str
) -> list[OutboxMessageRead]:
    """Return the newest messages decrypted for staff; one audit entry for the read."""
    if not 1 <= limit <= MAX_OUTBOX_LIST:
        raise Invalid(f"limit must be between 1 and {MAX_OUTBOX_LIST}", field="limit")
    rows = session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(limit)
    ).all()
    keys: dict[uuid.UUID, bytes | None] = {}
    result = [_open_message(session, keyring, keys, row) for row in rows]
    audit_service.record(
        session,
        actor=actor,
        action="rights.outbox.read",
        now=now,
        purpose=RIGHTS_PURPOSE,
        outcome="read",
        detail={"messages": len(result), "subjects": len(keys)},
    )
    return result


def _open_message(
    session: Session, keyring: Keyring, keys: dict[uuid.UUID, bytes | None], row: OutboxMessage
) -> OutboxMessageRead:
    sid = row.subject_id
    key = None if sid is None else _cached_key(session, keyring, keys, sid)
    recipient = body = None
    if key is not None and sid is not None:
        recipient = open_value(key, sid, f"outbox.{row.id}.recipient", row.recipient_sealed)
        body = open_value(key, sid, f"outbox.{row.id}.body", row.body_sealed)
    return OutboxMessageRead(
        id=row.id,
        subject_id=sid,
        channel=row.channel,
        template=row.template,
        recipient=recipient.decode() if recipient is not None else None,
        body=body.decode() if body is not None else None,
        is_erased=key is None,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def _cached_key(
    session: Session, keyring: Keyring, keys: dict[uuid.UUID, bytes | None], sid: uuid.UUID
) -> bytes | None:
    if sid not in keys:
        try:
            keys[sid] = subject_key(session, keyring=keyring, subject_id=sid)
        except (SubjectErased, SubjectNotFound):
            keys[sid] = None  # crypto-shredded: the message can no longer be read (TH-DSR-04)
    return keys[sid]
