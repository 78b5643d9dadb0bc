"""The record of processing activities (PDPA s.39, TH-ROPA-01) as far as the policy can supply it.

One row per purpose. ``disclosures`` are the live counts of the disclosure log per recipient and
purpose (``disclosures.service.ropa_counts``): how many disclosures to how many subjects, on which
basis, to which country under which mechanism, and how many were made without consent (s.27 and
s.39(1), TH-USE-01); a row lists those of its purpose. ``refused_requests`` (s.39(7)) stays 0
here: the rights domain fills it from the refused requests it records (TH-DSR-00) and adds them
as an appendix (``rights.ropa.record_of_processing``), the live record the CLI and the console
give out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel

from rujai.errors import Invalid
from rujai.policy import labels
from rujai.policy.notice import how_to_exercise, recipients_of
from rujai.policy.schemas import (
    LANGS,
    Lang,
    LawfulBasis,
    Policy,
    ProcessorRole,
    Recipient,
    TransferMechanism,
)

RopaFormat = Literal["csv", "json", "html"]
FORMATS: tuple[RopaFormat, ...] = ("csv", "json", "html")

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)

COLUMNS: dict[str, labels.Pair] = {
    "controller": ("ผู้ควบคุมข้อมูลส่วนบุคคล", "Controller"),
    "controller_contact": ("ช่องทางติดต่อผู้ควบคุม", "Controller contact"),
    "dpo": ("เจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคล", "Data Protection Officer"),
    "purpose_id": ("รหัสวัตถุประสงค์", "Purpose id"),
    "purpose": ("วัตถุประสงค์", "Purpose"),
    "basis": ("รหัสฐานทางกฎหมาย", "Basis code"),
    "lawful_basis": ("ฐานทางกฎหมาย", "Lawful basis"),
    "data_categories": ("ประเภทข้อมูล", "Data categories"),
    "sensitive": ("ข้อมูลอ่อนไหว", "Sensitive data"),
    "retention_days": ("ระยะเวลาเก็บรักษา (วัน)", "Retention (days)"),
    "retention": ("ระยะเวลาเก็บรักษา", "Retention"),
    "recipients": ("ผู้รับข้อมูล", "Recipients"),
    "transfers_abroad": ("การโอนไปต่างประเทศและมาตรการ", "Transfers abroad and mechanism"),
    "processor_agreements": ("สัญญาประมวลผลข้อมูล (มาตรา 40)", "Processing agreements (s.40)"),
    "data_subject_rights": ("สิทธิของเจ้าของข้อมูล", "Data subject rights"),
    "how_to_exercise": ("วิธีใช้สิทธิ", "How to exercise rights"),
    "security_measures": ("มาตรการรักษาความปลอดภัย", "Security measures"),
    "disclosures": ("การเปิดเผยข้อมูลที่เกิดขึ้นจริง", "Disclosures made"),
    "disclosures_without_consent": (
        "การเปิดเผยโดยไม่ได้อาศัยความยินยอม (มาตรา 27)",
        "Disclosures without consent (s.27)",
    ),
    "refused_requests": ("คำขอที่ถูกปฏิเสธ", "Refused requests"),
    "note": ("หมายเหตุ", "Note"),
}

# The processor's record (GDPR Art. 30(2), PDPA s.40(3); TH-PRC-01): who processes for whom,
# under which agreement, until when; each row is a category of processing done for the controller.
PROCESSOR_COLUMNS: dict[str, labels.Pair] = {
    "processor": ("ผู้ประมวลผลข้อมูลส่วนบุคคล", "Processor"),
    "processor_contact": ("ช่องทางติดต่อผู้ประมวลผล", "Processor contact"),
    "agreement_ref": ("เลขที่ข้อตกลงการประมวลผล", "Processing agreement"),
    "instructed_until": ("คำสั่งมีผลถึง", "Instructions valid until"),
}
_PROCESSOR_NOTE: labels.Pair = (
    "บันทึกของผู้ประมวลผลข้อมูล: ประมวลผลเฉพาะตามคำสั่งของผู้ควบคุมข้อมูลข้างต้น (มาตรา 40)",
    "Processor's record: processing only on the instructions of the controller above (s.40).",
)

_REFUSED_NOTE: labels.Pair = (
    "จำนวนคำขอที่ถูกปฏิเสธ (มาตรา 39(7)) เติมโดยระบบจัดการคำขอใช้สิทธิ",
    "Refused requests (s.39(7)) are filled in by the rights requests module.",
)
_TITLES: dict[bool, labels.Pair] = {
    False: ("บันทึกรายการกิจกรรมการประมวลผล", "Record of processing"),
    True: ("บันทึกรายการของผู้ประมวลผลข้อมูลส่วนบุคคล", "Record of processing (processor)"),
}
_YES_NO: dict[bool, labels.Pair] = {True: ("ใช่", "yes"), False: ("ไม่ใช่", "no")}


class RopaRow(BaseModel):
    """One processing activity (one purpose) of the record of processing."""

    controller: str
    controller_contact: str
    dpo: str
    purpose_id: str
    purpose: str
    basis: str
    lawful_basis: str
    data_categories: list[str]
    sensitive: bool
    retention_days: int
    retention: str
    recipients: list[str]
    transfers_abroad: list[str]
    processor_agreements: list[str] = []
    data_subject_rights: list[str]
    how_to_exercise: str
    security_measures: list[str]
    disclosures: list[str] = []
    disclosures_without_consent: int = 0
    refused_requests: int = 0
    note: str


class RopaAppendix(BaseModel):
    """A further table of the record from live data (e.g. refused requests, s.39(7)), in its
    language: ``columns`` maps each key to its header, each row maps keys to cells."""

    key: str
    title: str
    columns: dict[str, str]
    rows: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class DisclosureCount:
    """Disclosures of the log to one recipient for one purpose on one basis (counts only)."""

    recipient: str
    purpose: str
    basis: str
    country: str
    mechanism: str
    disclosures: int
    subjects: int
    without_consent: int


class ProcessorRopaRow(RopaRow):
    """One category of processing carried out on behalf of the controller (TH-PRC-01)."""

    processor: str
    processor_contact: str
    agreement_ref: str
    instructed_until: str


def build_ropa(
    policy: Policy, lang: Lang, *, disclosures: Sequence[DisclosureCount] = ()
) -> list[RopaRow]:
    """Return one record-of-processing row per purpose of ``policy`` in ``lang`` (TH-ROPA-01).

    ``disclosures``: the live counts of the disclosure log (none: the policy alone).

    In processor mode the record is the processor's (TH-PRC-01): one row per purpose the
    controller instructed, with the processor, the agreement and its term.
    """
    _check_lang(lang)
    if policy.processor is not None:
        return list(_processor_rows(policy, policy.processor, lang, disclosures))
    return _controller_rows(policy, lang, disclosures)


def _controller_rows(
    policy: Policy, lang: Lang, disclosures: Sequence[DisclosureCount] = ()
) -> list[RopaRow]:
    c = policy.controller
    contact = "; ".join(x for x in (c.contact.email, c.contact.phone, c.address.get(lang)) if x)
    dpo_name = c.dpo.name.get(lang) if c.dpo.name else ""
    dpo = "; ".join(x for x in (dpo_name, c.dpo.email, c.dpo.phone) if x)
    common: dict[str, object] = {
        "controller": c.name.get(lang),
        "controller_contact": contact,
        "dpo": dpo,
        "data_subject_rights": [r[1] if lang == "th" else r[2] for r in labels.RIGHTS],
        "how_to_exercise": how_to_exercise(policy, lang),
        "security_measures": [m.get(lang) for m in policy.security_measures],
        "note": labels.pick(_REFUSED_NOTE, lang),
    }
    return [
        RopaRow.model_validate(
            {**common, **_activity(policy, pid, lang), **_disclosed(policy, pid, disclosures, lang)}
        )
        for pid in policy.purposes
    ]


def _disclosed(
    policy: Policy, pid: str, counts: Sequence[DisclosureCount], lang: Lang
) -> dict[str, object]:
    mine = [c for c in counts if c.purpose == pid]
    lines = []
    for c in mine:
        declared = policy.recipients.get(c.recipient)
        name = declared.name if declared is not None else c.recipient
        basis = labels.pick(labels.BASIS[LawfulBasis(c.basis)], lang) if c.basis else c.basis
        mechanism = labels.pick(labels.MECHANISM[TransferMechanism(c.mechanism)], lang)
        head = f"{name} ({c.country}): {c.disclosures}"
        tail = f"{basis}; {mechanism}"
        th = f"{head} ครั้ง {c.subjects} คน; {tail}"
        en = f"{head} times, {c.subjects} people; {tail}"
        lines.append(th if lang == "th" else en)
    return {
        "disclosures": lines,
        "disclosures_without_consent": sum(c.without_consent for c in mine),
    }


def _processor_rows(
    policy: Policy, role: ProcessorRole, lang: Lang, disclosures: Sequence[DisclosureCount] = ()
) -> list[ProcessorRopaRow]:
    found = role.instructions
    contact = "; ".join(x for x in (role.contact.email, role.contact.phone) if x)
    extra = {
        "processor": role.name.get(lang),
        "processor_contact": contact,
        "agreement_ref": f"{found.agreement_ref} ({labels.format_date(found.signed_on, lang)})",
        "instructed_until": labels.format_date(found.expires_on, lang) if found.expires_on else "",
        "note": labels.pick(_PROCESSOR_NOTE, lang),
    }
    rows = _controller_rows(policy, lang, disclosures)
    return [
        ProcessorRopaRow.model_validate({**row.model_dump(), **extra})
        for row in rows
        if row.purpose_id in found.purposes
    ]


def render_ropa(
    rows: list[RopaRow], fmt: RopaFormat, lang: Lang, appendices: Sequence[RopaAppendix] = ()
) -> str:
    """Render ``rows`` (and any appendices after them) as CSV, JSON or a self-contained HTML page
    with headers in ``lang``."""
    _check_lang(lang)
    processor = bool(rows) and isinstance(rows[0], ProcessorRopaRow)
    columns = {**COLUMNS, **PROCESSOR_COLUMNS} if processor else COLUMNS
    headers = {key: labels.pick(pair, lang) for key, pair in columns.items()}
    if fmt == "csv":
        return _csv(rows, headers, lang) + "".join(_csv_appendix(a) for a in appendices)
    if fmt == "json":
        return _json(rows, headers, lang, appendices)
    if fmt == "html":
        cells = [[_cell(v, lang) for v in r.model_dump().values()] for r in rows]
        title = labels.pick(_TITLES[processor], lang)
        return _ENV.get_template("ropa.html").render(
            lang=lang, title=title, headers=list(headers.values()), rows=cells,
            appendices=appendices,
        )  # fmt: skip
    raise Invalid(f"format must be one of {', '.join(FORMATS)}", field="format")


def _json(
    rows: list[RopaRow], headers: dict[str, str], lang: Lang, appendices: Sequence[RopaAppendix]
) -> str:
    body: dict[str, object] = {"lang": lang, "columns": headers}
    body["rows"] = [r.model_dump() for r in rows]
    for a in appendices:
        body[a.key] = {"title": a.title, "columns": a.columns, "rows": a.rows}
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def _csv_appendix(appendix: RopaAppendix) -> str:
    """A blank line, the appendix's title, its headers and its rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([])
    writer.writerow([appendix.title])
    writer.writerow(appendix.columns.values())
    for row in appendix.rows:
        writer.writerow(row.get(key, "") for key in appendix.columns)
    return out.getvalue()


def _activity(policy: Policy, pid: str, lang: Lang) -> dict[str, object]:
    p = policy.purposes[pid]
    home = policy.controller.country
    categories = [policy.categories[cid] for cid in p.categories if cid in policy.categories]
    recipients = [policy.recipients[rid] for rid in recipients_of(policy, pid)]
    sensitive = labels.heading("sensitive", lang)
    return {
        "purpose_id": pid,
        "purpose": p.title.get(lang),
        "basis": p.basis.value,
        "lawful_basis": labels.pick(labels.BASIS[p.basis], lang),
        "data_categories": [
            cat.title.get(lang) + (f" [{sensitive}]" if cat.sensitive else "") for cat in categories
        ],
        "sensitive": any(cat.sensitive for cat in categories),
        "retention_days": p.retention_days,
        "retention": labels.retention_phrase(p.retention_days, lang),
        **_recipient_columns(recipients, home, lang),
    }


def _recipient_columns(recipients: list[Recipient], home: str, lang: Lang) -> dict[str, object]:
    return {
        "recipients": [f"{r.name} ({r.country})" for r in recipients],
        "transfers_abroad": [
            f"{r.name} ({r.country}): {labels.pick(labels.MECHANISM[r.mechanism], lang)}"
            for r in recipients
            if r.country != home
        ],
        "processor_agreements": [_agreement(r, lang) for r in recipients if r.processor],
    }


def _agreement(recipient: Recipient, lang: Lang) -> str:
    """A processor's agreement as the record shows it: reference, term, sub-processors."""
    a = recipient.agreement
    if a is None:
        return f"{recipient.name}: " + labels.pick(("ไม่มีสัญญา", "no agreement"), lang)
    until = a.expires.isoformat() if a.expires else "—"
    subs = ", ".join(f"{p.name} ({p.country})" for p in a.sub_processors) or "—"
    th = f"{recipient.name}: {a.reference}, ถึง {until}; ผู้ประมวลผลช่วง: {subs}"
    en = f"{recipient.name}: {a.reference}, until {until}; sub-processors: {subs}"
    return th if lang == "th" else en


def _csv(rows: list[RopaRow], headers: dict[str, str], lang: Lang) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers.values())
    for row in rows:
        writer.writerow(_cell(v, lang) for v in row.model_dump().values())
    return out.getvalue()


def _cell(value: object, lang: Lang) -> str:
    if isinstance(value, bool):
        return labels.pick(_YES_NO[value], lang)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise Invalid(f"lang must be one of {', '.join(LANGS)}", field="lang")
