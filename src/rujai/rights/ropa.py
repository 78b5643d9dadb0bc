"""The record of processing from live data (PDPA s.39, TH-ROPA-01): the policy's activities, the
disclosures made (s.27, TH-USE-01) and the refused requests with their legal reason (s.39(7),
TH-DSR-00).

``policy.ropa`` builds what the policy file can say; this adds what only the database knows: each
refused request (kind, jurisdiction, channel, purpose, received and refused dates, the reason code,
the provision it rests on and the reason in the record's language), and the count of refusals on
the row of the purpose a refusal was about. No subject ids, no personal data: a refusal is named by
its request id. ``rujai ropa`` and the console's downloads give out this record.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from rujai.disclosures import service as disclosures_service
from rujai.kit.time import as_utc
from rujai.policy import labels
from rujai.policy.ropa import RopaAppendix, RopaFormat, build_ropa, render_ropa
from rujai.policy.schemas import Lang, Policy
from rujai.rights.schemas import RefusalRead
from rujai.rights.service import refusals_for_ropa

BANGKOK = timezone(timedelta(hours=7), "ICT")  # dates for Thai readers: Bangkok, Buddhist Era

COLUMNS: dict[str, labels.Pair] = {
    "request_id": ("เลขที่คำขอ", "Request id"),
    "kind": ("ประเภทคำขอ", "Kind"),
    "jurisdiction": ("เขตอำนาจ", "Jurisdiction"),
    "channel": ("ช่องทาง", "Channel"),
    "purpose": ("วัตถุประสงค์", "Purpose"),
    "received": ("วันที่รับคำขอ", "Received"),
    "refused": ("วันที่ปฏิเสธ", "Refused"),
    "refusal_code": ("รหัสเหตุผล", "Reason code"),
    "provision": ("บทบัญญัติที่อ้างอิง", "Provision"),
    "reason": ("เหตุผลในการปฏิเสธ", "Reason"),
}
TITLE: labels.Pair = (
    "คำขอใช้สิทธิที่ถูกปฏิเสธพร้อมเหตุผล (มาตรา 39(7))",
    "Refused requests and their reasons (s.39(7))",
)
NOTE: labels.Pair = (
    "คำขอที่ถูกปฏิเสธ (มาตรา 39(7)) ทั้งหมด {total} รายการ แสดงในตารางท้ายบันทึก",
    "Refused requests (s.39(7)): {total} in all, listed in the table after the activities.",
)


def record_of_processing(
    session: Session, *, policy: Policy, lang: Lang, fmt: RopaFormat, since: datetime | None = None
) -> str:
    """Render the live record of processing: activities and refused requests (TH-ROPA-01)."""
    refusals = refusals_for_ropa(session, since=since)
    per_purpose = Counter(r.purpose for r in refusals if r.purpose)
    note = labels.pick(NOTE, lang).format(total=len(refusals))
    rows = [
        row.model_copy(update={"refused_requests": per_purpose[row.purpose_id], "note": note})
        for row in build_ropa(policy, lang, disclosures=disclosures_service.ropa_counts(session))
    ]
    return render_ropa(rows, fmt, lang, appendices=[refusals_appendix(refusals, lang)])


def refusals_appendix(refusals: list[RefusalRead], lang: Lang) -> RopaAppendix:
    """Return the refused requests as a table of the record in ``lang`` (s.39(7))."""
    return RopaAppendix(
        key="refused_requests",
        title=labels.pick(TITLE, lang),
        columns={key: labels.pick(pair, lang) for key, pair in COLUMNS.items()},
        rows=[_row(r, lang) for r in refusals],
    )


def _row(refusal: RefusalRead, lang: Lang) -> dict[str, str]:
    return {
        "request_id": str(refusal.request_id),
        "kind": refusal.kind,
        "jurisdiction": refusal.jurisdiction,
        "channel": refusal.channel,
        "purpose": refusal.purpose or "",
        "received": _date(refusal.received_at, lang),
        "refused": _date(refusal.refused_at, lang),
        "refusal_code": refusal.refusal_code,
        "provision": refusal.provision,
        "reason": refusal.reason.get(lang),
    }


def _date(value: datetime, lang: Lang) -> str:
    return labels.format_date(as_utc(value).astimezone(BANGKOK).date(), lang)
