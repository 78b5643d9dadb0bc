"""``summary.html`` of a subject's copy: a human-readable summary in Thai and English (TH-DSR-01).

The page is self-contained (inline style, no scripts, fonts, images or links to load), so it opens
offline and leaks nothing when opened. Thai dates are in the Buddhist Era (พ.ศ.), shown in Thai
time for a Thai controller.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from rujai.policy import labels
from rujai.policy.schemas import Lang, LawfulBasis, Policy, Text
from rujai.rights.export_format import ExportDocument

RECENT_EVENTS = 50
RECENT_DECISIONS = 20
THAI_TIME = timezone(timedelta(hours=7), "ICT")

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

WORDS: dict[str, tuple[str, str]] = {
    "title": ("สำเนาข้อมูลส่วนบุคคลของคุณ", "A copy of your personal data"),
    "generated": ("จัดทำเมื่อ", "Prepared on"),
    "policy": ("นโยบายฉบับ", "policy version"),
    "controller": ("ผู้ควบคุมข้อมูลส่วนบุคคล", "Data controller"),
    "dpo": ("เจ้าหน้าที่คุ้มครองข้อมูลส่วนบุคคล", "Data protection officer"),
    "profile": ("ข้อมูลโปรไฟล์", "Your profile"),
    "customer_id": ("รหัสลูกค้า", "Customer id"),
    "birth_date": ("วันเกิด", "Birth date"),
    "member_since": ("เริ่มเก็บข้อมูลเมื่อ", "Kept since"),
    "restricted": ("ระงับการใช้ข้อมูล", "Use restricted"),
    "identity": ("ตัวระบุ", "Identifier"),
    "purposes": ("วัตถุประสงค์ที่ใช้ข้อมูล", "Why we use your data"),
    "purpose": ("วัตถุประสงค์", "Purpose"),
    "basis": ("ฐานทางกฎหมาย", "Lawful basis"),
    "in_use": ("ใช้ข้อมูลของคุณอยู่", "In use for you"),
    "retention": ("ระยะเวลาเก็บรักษา", "Kept for"),
    "your_retention": ("เราเก็บข้อมูลของคุณนานเท่าใด", "How long we keep your data"),
    "category": ("ประเภทข้อมูล", "Data category"),
    "recipients": ("ผู้รับข้อมูล", "Recipients"),
    "recipient": ("ผู้รับข้อมูล", "Recipient"),
    "country": ("ประเทศ", "Country"),
    "disclosures": ("ข้อมูลของคุณที่ส่งให้ผู้รับ", "Who received your data"),
    "consents": ("ประวัติการให้และถอนความยินยอม", "Your consent history"),
    "when": ("วันที่", "Date"),
    "action": ("การดำเนินการ", "Action"),
    "channel": ("ช่องทาง", "Channel"),
    "grant": ("ให้ความยินยอม", "granted"),
    "withdraw": ("ถอนความยินยอม", "withdrawn"),
    "events": ("กิจกรรมของคุณ", "Your activity"),
    "between": ("ระหว่าง", "Between"),
    "event": ("กิจกรรม", "Activity"),
    "details": ("รายละเอียด", "Details"),
    "more_in_files": (
        "กิจกรรมทั้งหมดอยู่ในไฟล์ export.json และ csv/events.csv",
        "Every activity is in export.json and csv/events.csv.",
    ),
    "insights": ("ข้อมูลที่เราอนุมานจากข้อมูลของคุณ", "What we inferred from your data"),
    "insight": ("ข้อมูลอนุมาน", "Insight"),
    "value": ("ค่า", "Value"),
    "sources": ("ที่มา (ประเภทข้อมูล)", "Sources (data categories)"),
    "decisions": ("สิ่งที่เราแสดงให้คุณและเหตุผล", "What we showed you and why"),
    "placement": ("ตำแหน่ง", "Placement"),
    "personalized": ("ปรับให้เหมาะกับคุณ", "Personalized"),
    "why": ("เหตุผล", "Why"),
    "model": ("ระบบแนะนำสินค้า", "Our recommender"),
    "model_member": ("ระบบเรียนรู้จากสินค้าเหล่านี้ของคุณ", "It learnt from these items of yours"),
    "model_none": ("ระบบแนะนำสินค้าไม่ได้เรียนรู้จากข้อมูลของคุณ", "It has not learnt from your data."),
    "requests": ("คำขอใช้สิทธิของคุณ", "Your privacy requests"),
    "request": ("คำขอ", "Request"),
    "status": ("สถานะ", "Status"),
    "received": ("ได้รับเมื่อ", "Received"),
    "due": ("กำหนดเสร็จ", "Due"),
    "yes": ("ใช่", "yes"),
    "no": ("ไม่", "no"),
    "files": ("ไฟล์ในชุดนี้", "Files in this copy"),
    "files_text": (
        "export.json คือข้อมูลทั้งหมดในรูปแบบที่เครื่องอ่านได้ ตามโครงสร้างใน export.schema.json "
        "(JSON Schema) ซึ่งส่งต่อให้ผู้ให้บริการรายอื่นได้ โฟลเดอร์ csv มีตารางเดียวกันสำหรับเปิดใน Excel",
        "export.json holds all of it in a machine-readable form described by export.schema.json "
        "(JSON Schema), which you can give to another provider; the csv folder has the same "
        "tables for spreadsheets.",
    ),
}


def render(document: ExportDocument, *, policy: Policy) -> str:
    """Return the summary page of ``document`` in Thai, then English."""
    events = document.events
    return render_view(
        document, policy=policy,
        counts={"events": len(events), "decisions": len(document.decisions)},
        first_event=events[0] if events else None,
        recent_events=list(reversed(events[-RECENT_EVENTS:])),
    )  # fmt: skip


def render_view(
    doc: Any,
    *,
    policy: Policy,
    counts: dict[str, int],
    first_event: Any,
    recent_events: list[Any],
) -> str:
    """Render the page from what it shows: ``doc``'s small sections (a document or a dict of
    them), the counts, the first event and the newest events, newest first (a streamed copy
    never holds all its rows)."""
    zone: tzinfo = THAI_TIME if policy.controller.country == "TH" else UTC
    return _ENV.get_template("export_summary.html").render(
        doc=doc,
        counts=counts,
        first_event=first_event,
        recent_events=recent_events,
        recent_decisions=list(_field(doc, "decisions"))[:RECENT_DECISIONS],  # newest first
        t=word,
        d=lambda value, lang: format_when(value, lang, zone),
        text=pick_text,
        basis=basis_label,
        retention=labels.retention_phrase,
        value=show_value,
        trait=lambda name, lang: trait_title(policy, name, lang),
    )


def _field(doc: Any, name: str) -> Any:
    return doc[name] if isinstance(doc, dict) else getattr(doc, name)


def word(key: str, lang: Lang) -> str:
    """Return the Thai or English word for ``key``."""
    return labels.pick(WORDS[key], lang)


def format_when(value: date | datetime, lang: Lang, zone: tzinfo = THAI_TIME) -> str:
    """Format a date, or a time's local date, in Buddhist Era for Thai and C.E. for English."""
    day = value.astimezone(zone).date() if isinstance(value, datetime) else value
    return labels.format_date(day, lang)


def pick_text(value: Text, lang: Lang) -> str:
    """Return one language of a ``Text``, falling back to the other."""
    chosen = value.th if lang == "th" else value.en
    return chosen or value.en or value.th or ""


def basis_label(basis: str, lang: Lang) -> str:
    """Say a lawful basis in words."""
    try:
        return labels.pick(labels.BASIS[LawfulBasis(basis)], lang)
    except (KeyError, ValueError):
        return basis


def trait_title(policy: Policy, name: str, lang: Lang) -> str:
    """Say a trait's name as the policy titles it, else its id."""
    spec = policy.traits.get(name)
    if spec is None or spec.title is None:
        return name
    return pick_text(spec.title, lang)


def show_value(value: Any) -> str:
    """Show a JSON value compactly (Thai kept readable)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
