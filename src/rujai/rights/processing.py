"""What each kind of verified request does when processed; other domains do the work.

- restriction / restriction_lift: ``profiles.set_restricted`` — kept, excluded from every
  processing path by the chokepoint (TH-DSR-05); reversible by a new request.
- objection / objection_lift: ``profiles.set_objection``; direct marketing stops at once everywhere
  because the chokepoint denies it (TH-DSR-03). Objections to direct marketing and profiling are
  processed as soon as the request is verified; one to legitimate interest stops the objected
  purposes at verification already (``rights.objections``) and waits for staff, who may record
  compelling grounds per purpose (``rights.grounds``) or refuse with ``compelling_grounds``
  (never for direct marketing); processing it upholds it for the purposes still blocked.
- withdrawal: ``consent.record`` a withdrawal with the request's channel (TH-CON-03); the
  customer id the ledger is keyed by is opened with a rights permit (``rights.permits``).
- rectification: declared traits through ``profiles.traits.rectify``, which keeps each replaced
  sealed value in ``trait_revision``; or an inferred interest removed
  (``insights.remove_interest``); the subject's insights are then refreshed. A correction that
  fails validation or names an undeclared trait is refused with ``invalid_correction`` and so
  recorded (TH-DSR-06).
- erasure: ``rights.erasure.erase`` (TH-DSR-04).
- access / portability: completed at once; the ZIP is built on demand by ``deliver_export`` and
  never stored; each delivery is recorded on the request (TH-DSR-01, TH-DSR-02).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.consent import service as consent_service
from rujai.consent.schemas import ConsentCreate
from rujai.errors import Conflict, Invalid
from rujai.kit.crypto import Keyring
from rujai.personalize import insights
from rujai.policy.rules import Objection, objected_purposes
from rujai.policy.schemas import Policy
from rujai.profiles import service as profiles_service, traits as profiles_traits
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.sealing import open_value, subject_key
from rujai.rights import erasure, export, intake, objections, service, verification
from rujai.rights.errors import ExportNotAvailable
from rujai.rights.models import RightsRequest
from rujai.rights.notifier import Notifier
from rujai.rights.permits import rights_permit
from rujai.rights.schemas import RequestRead

AUTOMATIC_KINDS = frozenset({"restriction", "restriction_lift", "objection_lift", "withdrawal"})
AUTOMATIC_OBJECTIONS = frozenset({"direct_marketing", "profiling"})
EXPORT_KINDS = frozenset({"access", "portability"})


class _Refused(Exception):
    """A request that cannot be carried out, with its reason code (recorded as a refusal)."""

    def __init__(self, code: str, note: str) -> None:
        super().__init__(code)
        self.code, self.note = code, note


@dataclass(frozen=True)
class _Job:
    keyring: Keyring
    policy: Policy
    row: RightsRequest
    subject_id: uuid.UUID
    now: datetime
    actor: str

    @property
    def source(self) -> str:
        return "staff" if self.row.submitted_by == "staff" else "subject"


def is_automatic(kind: str, detail: dict[str, Any]) -> bool:
    """Return True if a verified request of this kind is processed without staff."""
    if kind == "objection":
        return detail.get("objection") in AUTOMATIC_OBJECTIONS
    return kind in AUTOMATIC_KINDS


def confirm_and_run(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    request_id: uuid.UUID,
    code: str,
    now: datetime,
    actor: str = "subject",
    notifier: Notifier | None = None,
) -> RequestRead:
    """Confirm the code; process the request at once if its kind is automatic."""
    verified = verification.confirm(
        session, keyring=keyring, request_id=request_id, code=code, now=now, actor=actor
    )
    if not is_automatic(verified.kind, verified.detail):
        row = service.load_for_update(session, request_id)
        if objections.take_effect(session, policy=policy, row=row, now=now, actor=actor):
            return service.read(row, now)  # TH-DSR-03: stopped now, before staff act
        return verified
    return process(
        session, keyring=keyring, policy=policy, request_id=request_id, now=now,
        actor="system:auto", notifier=notifier,
    )  # fmt: skip


def process(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    request_id: uuid.UUID,
    now: datetime,
    actor: str,
    notifier: Notifier | None = None,
) -> RequestRead:
    """Carry out a verified request and complete it, or record why it was refused."""
    row = service.load_for_update(session, request_id)
    service.move(session, row, "in_progress", now=now, actor=actor)
    if row.subject_id is None:
        raise Conflict(f"request {row.id} has no subject any more (erased)", field="subject_id")
    job = _Job(keyring, policy, row, row.subject_id, now, actor)
    if row.kind == "erasure":
        return _erase(session, job, notifier)
    try:
        result = _HANDLERS[row.kind](session, job)
    except _Refused as refused:
        service.refuse_row(session, keyring, policy, row, refused.code, refused.note,
                           now=now, actor=actor, notifier=notifier)  # fmt: skip
        return service.read(row, now)
    _complete(session, job, result, notifier)
    return service.read(row, now)


def _complete(
    session: Session, job: _Job, result: dict[str, Any], notifier: Notifier | None
) -> None:
    job.row.result = result
    service.move(session, job.row, "completed", now=job.now, actor=job.actor)
    service.notify_row(session, keyring=job.keyring, policy=job.policy, notifier=notifier,
                       row=job.row, template="request_completed", now=job.now)  # fmt: skip


def _erase(session: Session, job: _Job, notifier: Notifier | None) -> RequestRead:
    """Tell the subject first (afterwards no contact or key is left), then erase (TH-DSR-04)."""
    service.notify_row(session, keyring=job.keyring, policy=job.policy, notifier=notifier,
                       row=job.row, template="request_completed", now=job.now)  # fmt: skip
    report = erasure.erase(
        session, keyring=job.keyring, policy=job.policy, subject_id=job.subject_id,
        request_id=job.row.id, now=job.now, actor=job.actor,
    )  # fmt: skip
    job.row.subject_id = None  # the cascade unlinked the request (it survives, TH-DSR-00)
    job.row.result = report.model_dump(mode="json")
    service.move(session, job.row, "completed", now=job.now, actor=job.actor,
                 detail={"is_complete": report.is_complete})  # fmt: skip
    return service.read(job.row, job.now)


# --- handlers -------------------------------------------------------------------------------------


def _restrict(session: Session, job: _Job) -> dict[str, Any]:
    subject = profiles_service.set_restricted(
        session, subject_id=job.subject_id, restricted=job.row.kind == "restriction", now=job.now
    )
    return {"is_restricted": subject.is_restricted}


def _object(session: Session, job: _Job) -> dict[str, Any]:
    upheld = objections.uphold(job.row)
    if upheld is not None:  # already in force per purpose since verification (TH-DSR-03)
        return upheld
    objection = Objection(job.row.detail["objection"])
    subject = profiles_service.set_objection(
        session,
        subject_id=job.subject_id,
        objection=objection,
        objected=job.row.kind == "objection",
        now=job.now,
        purposes=objected_purposes(job.policy, objection),  # their processors are told
    )
    return {"objections": list(subject.objections)}


def _withdraw(session: Session, job: _Job) -> dict[str, Any]:
    change = ConsentCreate(
        purpose=job.row.detail["purpose"],
        action="withdraw",
        language=service.language_of(job.row),
        channel=job.row.channel,
        actor="staff" if job.source == "staff" else "self",
        actor_ref=job.row.staff_ref,
    )
    receipt = consent_service.record(
        session, keyring=job.keyring, policy=job.policy,
        customer_id=_customer_id(session, job), change=change, now=job.now,
        evidence_ip=None, evidence_user_agent=None, by=job.actor,
    )  # fmt: skip
    return {"purpose": receipt.purpose, "consent_record_id": str(receipt.receipt_id)}


def _customer_id(session: Session, job: _Job) -> str:
    """Open the subject's customer id through the door: the consent ledger is keyed by it."""
    permit = rights_permit(
        session, keyring=job.keyring, policy=job.policy, subject_id=job.subject_id, now=job.now,
        actor=job.actor, categories=(profiles_service.CUSTOMER_ID_CATEGORY,),
    )  # fmt: skip
    try:
        return profiles_service.customer_id_of(session, keyring=job.keyring, permit=permit)
    except SubjectNotFound as e:
        raise Conflict(
            f"subject {job.subject_id} has no customer id to record a withdrawal for",
            field="subject_id",
        ) from e


def _rectify(session: Session, job: _Job) -> dict[str, Any]:
    payload = _payload(session, job)
    if "remove_interest" in payload:
        insights.remove_interest(
            session, subject_id=job.subject_id, category=str(payload["remove_interest"]),
            now=job.now,
        )  # fmt: skip
        _refresh(session, job)
        return {"removed_interest": True}
    result = _correct_traits(session, job, dict(payload.get("traits") or {}))
    _refresh(session, job)
    return result


def _payload(session: Session, job: _Job) -> dict[str, Any]:
    sealed = (job.row.detail or {}).get("sealed")
    if not sealed:
        raise _Refused("invalid_correction", "the requested correction was not kept")
    key = subject_key(session, keyring=job.keyring, subject_id=job.subject_id)
    raw = open_value(key, job.subject_id, intake.detail_field(job.row.id), base64.b64decode(sealed))
    payload: dict[str, Any] = json.loads(raw)
    return payload


def _correct_traits(session: Session, job: _Job, traits: dict[str, Any]) -> dict[str, Any]:
    """Validate, then store; the replaced sealed values become revisions (TH-DSR-06)."""
    try:
        _parsed, undeclared = profiles_traits.parse_traits(job.policy, traits, now=job.now)
    except Invalid as e:  # names the trait and the problem, never the value
        raise _Refused("invalid_correction", e.message) from e
    if undeclared:
        raise _Refused("invalid_correction", f"{len(undeclared)} undeclared trait(s) (TH-MIN-02)")
    done = profiles_traits.rectify(
        session, keyring=job.keyring, policy=job.policy, subject_id=job.subject_id,
        traits=traits, source=job.source, now=job.now,
    )  # fmt: skip
    not_permitted = sorted(done.dropped)
    return {"stored": done.stored, "not_permitted": not_permitted, "revisions": done.revisions}


def _refresh(session: Session, job: _Job) -> None:
    insights.refresh_subjects(
        session, keyring=job.keyring, policy=job.policy, subject_ids={job.subject_id}, now=job.now
    )


def _export_ready(_session: Session, job: _Job) -> dict[str, Any]:
    return {"export": "ready", "kind": job.row.kind, "deliveries": 0}


_HANDLERS: dict[str, Callable[[Session, _Job], dict[str, Any]]] = {
    "restriction": _restrict,
    "restriction_lift": _restrict,
    "objection": _object,
    "objection_lift": _object,
    "withdrawal": _withdraw,
    "rectification": _rectify,
    "access": _export_ready,
    "portability": _export_ready,
}


# --- delivering a copy ----------------------------------------------------------------------------


def deliver_export(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    request_id: uuid.UUID,
    now: datetime,
    actor: str,
) -> IO[bytes]:
    """Write the ZIP of a completed access/portability request on demand into a spooled file
    (returned at its start, for a streamed response; the caller closes it); record the delivery."""
    row = service.load_for_update(session, request_id)
    if row.kind not in EXPORT_KINDS or row.status != "completed":
        raise ExportNotAvailable(
            f"request {row.id} is a {row.status} {row.kind} request: no copy to deliver",
            field="status",
        )
    if row.subject_id is None:
        raise ExportNotAvailable(f"request {row.id}: the subject was erased", field="subject_id")
    spool = export.open_export(
        session, keyring=keyring, policy=policy, subject_id=row.subject_id, now=now
    )
    size = spool.seek(0, os.SEEK_END)
    spool.seek(0)
    result = dict(row.result or {})
    deliveries = int(result.get("deliveries", 0)) + 1
    result.update(deliveries=deliveries, last_delivered_at=now.isoformat())
    result.setdefault("first_delivered_at", now.isoformat())
    row.result, row.updated_at = result, now
    session.flush()
    audit_service.record(
        session, actor=actor, action="rights.export.delivered", now=now,
        subject_id=row.subject_id, purpose="rights_requests", outcome="delivered",
        detail={"request_id": str(row.id), "size": size, "deliveries": deliveries},
    )  # fmt: skip
    return spool
