"""The privacy notice generated from the policy (TH-NOT-01), and the exact consent text per purpose.

``render_notice`` gives everything PDPA s.23 asks a notice to say; ``notice_html`` renders it as a
self-contained page. ``purpose_notice_text`` is the text shown when asking consent for one purpose;
the consent ledger stores ``purpose_notice_hash`` of it with every record (TH-CON-04).
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel

from rujai.policy import labels
from rujai.policy.api_schemas import PurposeRead
from rujai.policy.errors import PurposeNotFound
from rujai.policy.loader import policy_hash
from rujai.policy.schemas import (
    Contact,
    Lang,
    LawfulBasis,
    Policy,
    Purpose,
    TransferMechanism,
)

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


class ContactNotice(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    address: str | None


class CategoryNotice(BaseModel):
    id: str
    title: str
    description: str | None
    sensitive: bool


class PurposeNotice(BaseModel):
    id: str
    title: str
    description: str
    basis: LawfulBasis
    basis_label: str
    categories: list[CategoryNotice]
    required: bool
    consequence: str | None
    retention_days: int
    retention: str
    direct_marketing: bool
    profiling: bool
    recipients: list[str]
    notice_version: int


class RecipientNotice(BaseModel):
    id: str
    name: str
    country: str
    abroad: bool
    mechanism: TransferMechanism
    mechanism_label: str
    purposes: list[str]
    processor: bool


class RightNotice(BaseModel):
    id: str
    title: str
    text: str


class NoticeRead(BaseModel):
    """The privacy notice in one language (TH-NOT-01, TH-DPO-01)."""

    lang: Lang
    title: str
    policy_version: str
    content_hash: str
    version: str
    effective_date: date | None
    effective_date_text: str | None
    jurisdictions: list[str]
    controller: ContactNotice
    dpo: ContactNotice
    purposes: list[PurposeNotice]
    recipients: list[RecipientNotice]
    rights: list[RightNotice]
    how_to_exercise: str
    complaint: str
    security_measures: list[str]
    headings: dict[str, str]


def render_notice(policy: Policy, lang: Lang) -> NoticeRead:
    """Build the privacy notice for ``policy`` in ``lang``."""
    short = policy_hash(policy)[:12]
    effective = policy.effective_date
    return NoticeRead(
        lang=lang,
        title=labels.heading("title", lang),
        policy_version=policy.version,
        content_hash=short,
        version=f"{policy.version}+{short}",
        effective_date=effective,
        effective_date_text=labels.format_date(effective, lang) if effective else None,
        jurisdictions=list(policy.jurisdictions),
        controller=_contact(policy.controller.contact, lang, policy),
        dpo=_contact(policy.controller.dpo, lang, None),
        purposes=[_purpose(policy, pid, lang) for pid in policy.purposes],
        recipients=[_recipient(policy, rid, lang) for rid in policy.recipients],
        rights=_rights(lang),
        how_to_exercise=how_to_exercise(policy, lang),
        complaint=labels.pick(labels.COMPLAINT, lang),
        security_measures=[m.get(lang) for m in policy.security_measures],
        headings=labels.headings(lang),
    )


def notice_html(notice: NoticeRead) -> str:
    """Render ``notice`` as a self-contained HTML page."""
    return _ENV.get_template("notice.html").render(n=notice)


def list_purposes(policy: Policy) -> list[PurposeRead]:
    """Return every purpose of ``policy`` as the API shows it."""
    return [
        PurposeRead(
            id=pid,
            title=p.title,
            description=p.description,
            basis=p.basis,
            categories=list(p.categories),
            retention_days=p.retention_days,
            direct_marketing=p.direct_marketing,
            profiling=p.profiling,
            required=p.required,
            notice_version=p.notice.version,
            sensitive=_is_sensitive(policy, p),
        )
        for pid, p in policy.purposes.items()
    ]


def purpose_notice_text(policy: Policy, purpose_id: str, lang: Lang) -> str:
    """Return the exact text shown when asking consent for ``purpose_id`` (TH-CON-01, TH-CON-05)."""
    purpose = _get_purpose(policy, purpose_id)
    h = labels.headings(lang)
    data = ", ".join(_category_label(policy, c, lang) for c in purpose.categories)
    recipients = [_recipient(policy, rid, lang) for rid in recipients_of(policy, purpose_id)]
    lines = [
        purpose.title.get(lang),
        purpose.description.get(lang),
        f"{h['basis']}: {labels.pick(labels.BASIS[purpose.basis], lang)}",
        f"{h['data']}: {data}",
        f"{h['retention']}: {labels.retention_phrase(purpose.retention_days, lang)}",
    ]
    if recipients:
        shared = ", ".join(f"{r.name} ({r.country})" for r in recipients)
        lines.append(f"{h['recipients']}: {shared}")
    if _is_sensitive(policy, purpose):
        lines.append(labels.pick(labels.SENSITIVE_NOTE, lang))
    consequence = _consequence(purpose, lang)
    if consequence:
        lines.append(f"{h['consequence']}: {consequence}")
    lines.append(f"{h['notice_version']}: {purpose.notice.version}")
    return "\n".join(lines)


def purpose_notice_hash(policy: Policy, purpose_id: str, lang: Lang) -> str:
    """Return the sha256 hex of the consent text of ``purpose_id`` (the ledger keeps it)."""
    text = purpose_notice_text(policy, purpose_id, lang)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recipients_of(policy: Policy, purpose_id: str) -> list[str]:
    """Return the ids of recipients that get data for ``purpose_id``, declared on either side."""
    declared = set(_get_purpose(policy, purpose_id).recipients)
    return [
        rid for rid, r in policy.recipients.items() if rid in declared or purpose_id in r.purposes
    ]


def how_to_exercise(policy: Policy, lang: Lang) -> str:
    """Say how a subject exercises their rights: through the DPO or the privacy contact."""
    dpo = policy.controller.dpo.email or ""
    contact = policy.controller.contact.email or dpo
    if lang == "th":
        return (
            f"ใช้สิทธิได้ที่ศูนย์ความเป็นส่วนตัวในบัญชีของคุณ หรืออีเมลถึง {contact} "
            f"หรือเจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคลที่ {dpo} เราจะตอบภายใน 30 วัน"
        )
    return (
        f"Use the privacy center in your account, or email {contact} or our Data Protection "
        f"Officer at {dpo}. We answer within 30 days."
    )


def _rights(lang: Lang) -> list[RightNotice]:
    th = lang == "th"
    return [
        RightNotice(id=rid, title=th_title if th else en_title, text=th_text if th else en_text)
        for rid, th_title, en_title, th_text, en_text in labels.RIGHTS
    ]


def _get_purpose(policy: Policy, purpose_id: str) -> Purpose:
    purpose = policy.purposes.get(purpose_id)
    if purpose is None:
        raise PurposeNotFound(purpose_id)
    return purpose


def _is_sensitive(policy: Policy, purpose: Purpose) -> bool:
    return any(policy.categories[c].sensitive for c in purpose.categories if c in policy.categories)


def _consequence(purpose: Purpose, lang: Lang) -> str | None:
    if purpose.consequence is not None:
        return purpose.consequence.get(lang)
    if purpose.basis.is_consent:
        return labels.pick(labels.NO_CONSEQUENCE, lang)
    return None


def _category_label(policy: Policy, category_id: str, lang: Lang) -> str:
    category = policy.categories.get(category_id)
    if category is None:
        return category_id
    title = category.title.get(lang)
    if category.sensitive:
        return f"{title} [{labels.heading('sensitive', lang)}]"
    return title


def _contact(contact: Contact, lang: Lang, policy: Policy | None) -> ContactNotice:
    name = contact.name.get(lang) if contact.name else None
    address = contact.address.get(lang) if contact.address else None
    if policy is not None:
        name = name or policy.controller.name.get(lang)
        address = address or policy.controller.address.get(lang)
    return ContactNotice(name=name, email=contact.email, phone=contact.phone, address=address)


def _purpose(policy: Policy, pid: str, lang: Lang) -> PurposeNotice:
    p = policy.purposes[pid]
    categories = [
        CategoryNotice(
            id=cid,
            title=policy.categories[cid].title.get(lang),
            description=(d.get(lang) if (d := policy.categories[cid].description) else None),
            sensitive=policy.categories[cid].sensitive,
        )
        for cid in p.categories
        if cid in policy.categories
    ]
    return PurposeNotice(
        id=pid,
        title=p.title.get(lang),
        description=p.description.get(lang),
        basis=p.basis,
        basis_label=labels.pick(labels.BASIS[p.basis], lang),
        categories=categories,
        required=p.required,
        consequence=_consequence(p, lang),
        retention_days=p.retention_days,
        retention=labels.retention_phrase(p.retention_days, lang),
        direct_marketing=p.direct_marketing,
        profiling=p.profiling,
        recipients=recipients_of(policy, pid),
        notice_version=p.notice.version,
    )


def _recipient(policy: Policy, rid: str, lang: Lang) -> RecipientNotice:
    r = policy.recipients[rid]
    served = [pid for pid, p in policy.purposes.items() if rid in p.recipients or pid in r.purposes]
    return RecipientNotice(
        id=rid,
        name=r.name,
        country=r.country,
        abroad=r.country != policy.controller.country,
        mechanism=r.mechanism,
        mechanism_label=labels.pick(labels.MECHANISM[r.mechanism], lang),
        purposes=served,
        processor=r.processor,
    )
