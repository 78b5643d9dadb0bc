"""The flows that send data to a recipient, each through ``service.disclose``.

- **audience export** (``export_audience``): a list of customers, one purpose, some categories;
  a CSV or JSON file keyed by the recipient's pseudonym of each subject, with only the permitted
  fields; refused subjects are counted by reason, never listed (TH-USE-01, TH-CON-03: a subject
  who withdrew is left out).
- **partner pull** (``partner_subject``, ``partner_batch``): a key bound to a recipient reads a
  subject it was sent, or an audience it was sent, again through the door; each read is a logged
  disclosure. A recipient reads only what was disclosed to it: the subjects of its own log rows,
  for the purpose and categories they were disclosed for.

A processor sync or a channel send (issue 14) calls ``disclose`` and ``read_records`` the same way.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rujai.disclosures import service
from rujai.disclosures.errors import DisclosureNotFound
from rujai.disclosures.schemas import ExportCreate, ExportFormat, ExportResult, PartnerRecord
from rujai.errors import PolicyDenied
from rujai.events import bulk as events_bulk
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.profiles import bulk as profiles_bulk, identity_resolve
from rujai.profiles.schemas import SubjectRef

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_audience(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    body: ExportCreate,
    channel: str = "audience_export",
    now: datetime,
    actor: str,
) -> ExportResult:
    """Send an audience to a recipient as a file; raise PolicyDenied if the flow is refused."""
    refs = [SubjectRef(customer_id=c, anonymous_id=None) for c in dict.fromkeys(body.customer_ids)]
    found = identity_resolve.resolve_ids(session, keyring=keyring, refs=refs)
    disclosed = service.disclose(
        session, policy=policy, keyring=keyring, subject_ids=list(found.values()),
        recipient=body.recipient, purpose=body.purpose, categories=body.categories,
        channel=channel, now=now, actor=actor,
    )  # fmt: skip
    records = read_records(session, keyring=keyring, disclosed=disclosed)
    refused = dict(disclosed.refused)
    if len(found) < len(refs):
        refused["unknown_subject"] = refused.get("unknown_subject", 0) + len(refs) - len(found)
    return ExportResult(
        batch_id=disclosed.batch_id, recipient=body.recipient, purpose=body.purpose,
        format=body.format, asked=len(refs), disclosed=len(records),
        refused=dict(sorted(refused.items())),
        content=render(records, body.format, batch_id=disclosed.batch_id, body=body),
    )  # fmt: skip


def read_records(
    session: Session, *, keyring: Keyring, disclosed: service.Disclosed
) -> list[PartnerRecord]:
    """Read what a disclosed flow may send: permitted traits and events, keyed by pseudonym."""
    permits = disclosed.permits.permits
    subjects = profiles_bulk.readable(session, keyring=keyring, permits=permits)
    traits = profiles_bulk.permitted_traits(session, permits=permits, subjects=subjects)
    events: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for event in events_bulk.permitted_events(session, permits=permits, subjects=subjects):
        events.setdefault(event.subject_id, []).append(
            {"type": event.type, "category": event.category,
             "occurred_at": str(event.occurred_at), "properties": dict(event.properties)}
        )  # fmt: skip
    purpose, categories = disclosed.permits.purpose, list(disclosed.permits.categories)
    return [
        PartnerRecord(
            subject_ref=disclosed.refs[sid], purpose=purpose, categories=categories,
            traits=traits.get(sid, {}), events=events.get(sid, []),
        )
        for sid in disclosed.permits.subject_ids
        if sid in subjects
    ]  # fmt: skip


def partner_subject(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    recipient: str,
    subject_ref: str,
    now: datetime,
    actor: str,
) -> PartnerRecord:
    """Return one subject's data to the recipient it was disclosed to, asking the door again."""
    found = service.disclosed_to(session, recipient=recipient, subject_ref=subject_ref)
    if found is None:
        raise DisclosureNotFound("nothing was disclosed to this recipient under this reference")
    subject_id, purpose, categories = found
    disclosed = service.disclose(
        session, policy=policy, keyring=keyring, subject_ids=[subject_id], recipient=recipient,
        purpose=purpose, categories=categories, channel="partner_pull", now=now, actor=actor,
    )  # fmt: skip
    records = read_records(session, keyring=keyring, disclosed=disclosed)
    if not records:
        reason = next(iter(disclosed.refused), "unknown_subject")
        raise PolicyDenied("this subject's data may no longer be disclosed", reason=reason)
    return records[0]


def partner_batch(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    recipient: str,
    batch_id: uuid.UUID,
    now: datetime,
    actor: str,
) -> list[PartnerRecord]:
    """Return an audience sent to the recipient, as the door allows it now (refusals left out)."""
    found = service.batch_audience(session, recipient=recipient, batch_id=batch_id)
    if found is None:
        raise DisclosureNotFound("no audience with this id was sent to this recipient")
    subject_ids, purpose, categories = found
    disclosed = service.disclose(
        session, policy=policy, keyring=keyring, subject_ids=subject_ids, recipient=recipient,
        purpose=purpose, categories=categories, channel="partner_pull", now=now, actor=actor,
    )  # fmt: skip
    return read_records(session, keyring=keyring, disclosed=disclosed)


def render(
    records: Sequence[PartnerRecord], fmt: ExportFormat, *, batch_id: uuid.UUID, body: ExportCreate
) -> str:
    """Render the file for the recipient: JSON, or CSV with one column per trait."""
    if fmt == "json":
        document = {
            "batch_id": str(batch_id), "recipient": body.recipient, "purpose": body.purpose,
            "categories": body.categories, "records": [r.model_dump(mode="json") for r in records],
        }  # fmt: skip
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    names = sorted({name for r in records for name in r.traits})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["subject_ref", *names, "events"])
    for r in records:
        writer.writerow([r.subject_ref, *(_cell(r.traits.get(n)) for n in names), len(r.events)])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_START) else text  # no formula (CSV injection)
