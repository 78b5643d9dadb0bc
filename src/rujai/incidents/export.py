"""The breach register exported for the regulator: JSON and CSV (UTF-8 with BOM), Thai and English.

One row per incident with its clock, its latest assessment (kept also for "no notice",
TH-BRE-01) and the notices recorded. The JSON document follows ``schema/register.schema.json``
(``RegisterDocument``); the CSV header names each column in Thai and English. The export is
audited as ``incident.exported`` with the number of incidents only.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Invalid
from rujai.incidents import service
from rujai.incidents.models import IncidentNotice
from rujai.incidents.schemas import IncidentRead
from rujai.policy.schemas import Policy

ExportFormat = Literal["json", "csv"]
BOM = "\ufeff"
COLUMNS: dict[str, tuple[str, str]] = {
    "reference": ("เลขที่เหตุการณ์", "Reference"),
    "title": ("ลักษณะของเหตุการละเมิด", "Nature of the breach"),
    "description": ("รายละเอียด", "Description"),
    "systems": ("ระบบที่เกี่ยวข้อง", "Systems"),
    "categories": ("ประเภทข้อมูล", "Data categories"),
    "occurred_from": ("เกิดเหตุตั้งแต่", "Occurred from"),
    "occurred_to": ("เกิดเหตุถึง", "Occurred to"),
    "aware_at": ("เวลาที่ทราบเหตุ", "Aware at"),
    "deadline": ("กำหนดแจ้ง (72 ชั่วโมง)", "Notice deadline (72 hours)"),
    "deadline_th": ("กำหนดแจ้ง (เวลาไทย พ.ศ.)", "Deadline (Bangkok time, B.E.)"),
    "status": ("สถานะ", "Status"),
    "notice_to": ("แจ้งต่อ", "Notice to"),
    "notified_at": ("เวลาที่แจ้ง", "Notified at"),
    "notified_late": ("แจ้งเกินกำหนด", "Notified late"),
    "risk": ("ระดับความเสี่ยง", "Risk"),
    "decision": ("การตัดสินใจ", "Decision"),
    "reasoning": ("เหตุผล", "Reasoning"),
    "subject_count": ("จำนวนเจ้าของข้อมูล", "Data subjects"),
    "record_count": ("จำนวนรายการข้อมูล", "Records"),
    "is_sensitive": ("มีข้อมูลอ่อนไหว", "Sensitive data"),
    "has_minors": ("มีผู้เยาว์", "Minors"),
    "measures": ("มาตรการ", "Measures"),
    "subjects_notified": ("จำนวนเจ้าของข้อมูลที่ได้รับแจ้ง", "Subjects notified"),
}


class RegisterRow(BaseModel):
    """One incident of the register."""

    model_config = ConfigDict(extra="forbid")
    __personal__ = True  # free text a DPO typed may name a person

    reference: str
    title: str
    description: str
    systems: list[str]
    categories: list[str]
    occurred_from: datetime
    occurred_to: datetime
    aware_at: datetime
    deadline: datetime
    deadline_th: str
    status: str
    notice_to: Literal["regulator", "controller"]
    notified_at: datetime | None
    notified_late: bool | None
    risk: Literal["none", "risk", "high"] | None
    decision: Literal["notify", "notify_and_subjects", "no_notice"] | None
    reasoning: str | None
    subject_count: int | None
    record_count: int | None
    is_sensitive: bool | None
    has_minors: bool | None
    measures: str | None
    subjects_notified: int


class RegisterDocument(BaseModel):
    """The breach register (TH-BRE-01): who keeps it, when it was exported, every incident."""

    model_config = ConfigDict(extra="forbid")
    __personal__ = True

    controller: str
    processor: str | None
    exported_at: datetime
    columns: dict[str, dict[Literal["th", "en"], str]]
    incidents: list[RegisterRow]


def register(session: Session, *, policy: Policy, now: datetime, actor: str) -> RegisterDocument:
    """Return the whole register as a document; audited with the number of incidents."""
    items = service.list_incidents(session, now=now, limit=service.MAX_LIST)
    told = _subjects_notified(session)
    rows = [_row(item, told.get(item.id, 0)) for item in _with_assessments(session, items, now)]
    audit_service.record(
        session, actor=actor, action="incident.exported", now=now, purpose="breach_response",
        outcome="exported", detail={"incidents": len(rows)},
    )  # fmt: skip
    return RegisterDocument(
        controller=policy.controller.name.get("en"),
        processor=policy.processor.name.get("en") if policy.processor else None,
        exported_at=now,
        columns={k: {"th": th, "en": en} for k, (th, en) in COLUMNS.items()},
        incidents=rows,
    )


def render(document: RegisterDocument, fmt: ExportFormat) -> str:
    """Render the register as JSON or as CSV with a UTF-8 BOM (spreadsheets open Thai right)."""
    if fmt == "json":
        return document.model_dump_json(indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(f"{th} ({en})" for th, en in COLUMNS.values())
        for row in document.incidents:
            writer.writerow(_cell(v) for v in row.model_dump(mode="json").values())
        return BOM + out.getvalue()
    raise Invalid("format must be json or csv", field="format")


def json_schema() -> str:
    """Return the JSON schema of the register document (``schema/register.schema.json``)."""
    return json.dumps(RegisterDocument.model_json_schema(), indent=2, sort_keys=True) + "\n"


def _with_assessments(
    session: Session, items: list[IncidentRead], now: datetime
) -> list[IncidentRead]:
    return [service.get(session, incident_id=i.id, now=now) for i in items]


def _subjects_notified(session: Session) -> dict[object, int]:
    stmt = (
        select(IncidentNotice.incident_id, func.count())
        .where(IncidentNotice.audience == "subject", IncidentNotice.delivered.is_(True))
        .group_by(IncidentNotice.incident_id)
    )
    return {incident_id: int(n) for incident_id, n in session.execute(stmt)}


_ASSESSED = ("risk", "decision", "reasoning", "subject_count", "record_count", "is_sensitive",
             "has_minors", "measures")  # fmt: skip


def _row(item: IncidentRead, told: int) -> RegisterRow:
    latest = item.assessments[0] if item.assessments else None
    assessed = {k: getattr(latest, k) if latest else None for k in _ASSESSED}
    late = None if item.notified_at is None else item.notified_at > item.clock.deadline
    return RegisterRow(
        reference=item.reference, title=item.title, description=item.description,
        systems=item.systems, categories=item.categories, occurred_from=item.occurred_from,
        occurred_to=item.occurred_to, aware_at=item.aware_at, deadline=item.clock.deadline,
        deadline_th=item.clock.deadline_th, status=item.status, notice_to=item.notice_to,
        notified_at=item.notified_at, notified_late=late, subjects_notified=told, **assessed,
    )  # fmt: skip


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
