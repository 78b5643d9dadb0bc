"""The documented format of a subject's copy (TH-DSR-02): its models, JSON Schema and CSV tables.

``ExportDocument`` is ``export.json``. Its JSON Schema (draft 2020-12) is generated from these
models and shipped as ``rights/schema/export.schema.json``; a test keeps the file equal to the
models, so the published schema can never drift from what is written. Each list of the document
is also written as one CSV table, UTF-8 with a byte-order mark so that spreadsheet programs show
Thai correctly.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from rujai.consent.receipts import ConsentReceipt
from rujai.consent.schemas import ConsentRecordRead
from rujai.disclosures.schemas import DisclosureRead
from rujai.events.schemas import EventRead
from rujai.personalize.decision_schemas import DecisionRead
from rujai.personalize.schemas import InsightRead, RecommenderMemberRead
from rujai.policy.schemas import Text
from rujai.profiles.schemas import IdentityRead

FORMAT: Final = "rujai.subject-export"
FORMAT_VERSION: Final = 1
SCHEMA_ID = "https://rujai.dev/schema/subject-export/v1.json"
SCHEMA_FILE = "export.schema.json"
# The CSV tables, one per list of the document, in this order.
TABLES = (
    "subject", "identities", "traits", "consents", "events", "insights", "decisions",
    "purposes", "recipients", "recommender", "rights_requests", "retention", "disclosures",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN = frozenset({str, int, float, bool})


class ExportController(BaseModel):
    """Who holds the data and how to reach them and their DPO (TH-DPO-01)."""

    model_config = ConfigDict(frozen=True)

    name: Text
    country: str
    email: str | None
    dpo_email: str | None


class ExportSubject(BaseModel):
    """The profile itself: the brand's customer id and the facts kept about the person."""

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID = Field(description="rujai's pseudonymous id of the person.")
    customer_id: str | None = Field(description="The brand's customer id (None if anonymous).")
    birth_date: date | None
    age_band: str | None
    is_restricted: bool = Field(description="Processing restricted at the subject's request.")
    objections: list[str]
    created_at: datetime
    merged_profiles: list[uuid.UUID] = Field(
        description="Anonymous profiles (devices) merged into this one."
    )


class ExportTrait(BaseModel):
    """One profile attribute with the data category it belongs to."""

    model_config = ConfigDict(frozen=True)

    name: str
    category: str
    value: Any


class ExportConsent(ConsentRecordRead):
    """One grant or withdrawal from the ledger, with its signed receipt re-issued (TH-CON-04)."""

    receipt: ConsentReceipt


class ExportPurpose(BaseModel):
    """A purpose of the policy: its lawful basis, retention, recipients and whether it applies."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: Text
    basis: str
    categories: list[str]
    retention_days: int
    recipients: list[str]
    direct_marketing: bool
    profiling: bool
    applies: bool = Field(description="Whether the purpose may use the person's data now.")
    reason: str = Field(description="The policy decision's reason code.")
    reason_text: Text


class ExportRetention(BaseModel):
    """How long one category of the person's data is kept, and why (TH-RET-01).

    The longest retention among the purposes that apply to the person now; ``purpose`` is None
    when none does (the data goes at the next purge).
    """

    model_config = ConfigDict(frozen=True)

    category: str
    purpose: str | None = Field(description="The purpose that sets the period, if any applies.")
    days: int = Field(description="Days data of this category is kept from its time.")
    purge_after: date = Field(
        description="The Bangkok date by which data collected now would be purged."
    )
    text: Text = Field(description="The same in Thai (Buddhist Era) and English.")


class ExportRecipient(BaseModel):
    """Someone data is disclosed to for the purposes that apply (PDPA s.27)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    country: str
    mechanism: str
    purposes: list[str]


class ExportRightsRequest(BaseModel):
    """A data subject request of the person and where it stands (TH-DSR-00)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    kind: str
    status: str
    channel: str
    received_at: datetime
    due_at: datetime
    completed_at: datetime | None
    refusal_code: str | None


class ExportDocument(BaseModel):
    """``export.json``: everything rujai holds about one person (TH-DSR-01, TH-DSR-02)."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(frozen=True, title="rujai subject export")

    format: Literal["rujai.subject-export"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    generated_at: datetime
    policy_version: str
    controller: ExportController
    subject: ExportSubject
    identities: list[IdentityRead]
    traits: list[ExportTrait]
    consents: list[ExportConsent]
    events: list[EventRead] = Field(description="Every event, properties decrypted.")
    insights: list[InsightRead] = Field(
        description="Derived values; ``categories`` are their sources (lineage)."
    )
    decisions: list[DecisionRead] = Field(description="Personalization decisions and why.")
    purposes: list[ExportPurpose]
    recipients: list[ExportRecipient]
    recommender: RecommenderMemberRead | None = Field(
        description="The items the recommender learnt from the person, if it did."
    )
    rights_requests: list[ExportRightsRequest]
    retention: list[ExportRetention] = Field(
        default_factory=list,
        description="Per data category: how long it is kept for the person, and why (TH-RET-01).",
    )
    disclosures: list[DisclosureRead] = Field(
        default_factory=list,
        description="Each time the person's data was sent to a recipient (PDPA s.27, s.30).",
    )


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of ``export.json``, as published."""
    schema = ExportDocument.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": (
            "A copy of everything rujai holds about one person, for access (PDPA s.30) and "
            "portability (PDPA s.31, GDPR Art. 20) requests."
        ),
    }


def schema_text() -> str:
    """Return the published schema as shipped in the package."""
    return resources.files("rujai.rights").joinpath("schema", SCHEMA_FILE).read_text("utf-8")


def schema_file_text() -> str:
    """Return ``json_schema()`` formatted as the shipped file is (for regenerating it)."""
    return json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@cache
def published_schema() -> dict[str, Any]:
    """Return the shipped schema, parsed (cached)."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


# --- CSV -----------------------------------------------------------------------------------------


def csv_tables(document: dict[str, Any]) -> dict[str, bytes]:
    """Return one CSV (UTF-8 with BOM) per table of a JSON-mode document dump."""
    tables: dict[str, bytes] = {}
    for name in TABLES:
        value = document.get(name)
        rows = value if isinstance(value, list) else ([] if value is None else [value])
        tables[f"{name}.csv"] = _csv([flat_row(row) for row in rows])
    return tables


def flat_row(row: dict[str, Any]) -> dict[str, Any]:
    """Spread objects of plain values (``{"th", "en"}``) over columns; keep the rest as JSON."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict) and value and all(map(_is_plain, value.values())):
            for sub, item in value.items():
                flat[f"{key}_{sub}"] = item
        else:
            flat[key] = value
    return flat


def flat_cells(row: dict[str, Any]) -> dict[str, str]:
    """``flat_row`` with each value already a CSV cell (``csv_cell``): one pass, strings first."""
    flat: dict[str, str] = {}
    for key, value in row.items():
        if type(value) is str:  # most values: no call
            flat[key] = "'" + value if value.startswith(_FORMULA_START) else value
        elif isinstance(value, dict) and value and all(map(_is_plain, value.values())):
            for sub, item in value.items():
                flat[f"{key}_{sub}"] = csv_cell(item)
        else:
            flat[key] = csv_cell(value)
    return flat


def _is_plain(value: Any) -> bool:
    return type(value) in _PLAIN or value is None or isinstance(value, str | int | float | bool)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return out.getvalue().encode("utf-8-sig")


def csv_cell(value: Any) -> str:
    """Write one value as a CSV cell: JSON for objects, never a spreadsheet formula."""
    if type(value) is str:  # the common case first (a copy writes one cell per value)
        return "'" + value if value.startswith(_FORMULA_START) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text  # a spreadsheet must not run a value as a formula (CSV injection)
    return text
