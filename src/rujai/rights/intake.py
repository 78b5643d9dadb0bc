"""Receiving a data subject request: who asks, through which channel, for what (TH-DSR-00).

Subjects submit through ``api`` or ``privacy_center``; staff on their behalf through
``call_center``, ``store``, ``email`` or ``post`` (admin scope and a ``staff_ref`` required); the
channel is recorded.
The subject is found by customer id or e-mail; an unknown one leaves the request unlinked (it can
never be verified, and the answer is the same). The e-mail given only finds the subject: a code or
message never goes to it unless it is a verified identity on file (``rights.notifier``).

What a rectification asks to write is personal data: it is kept sealed under the subject's data
key, bound to the request id, never in the plain ``detail`` JSON (``detail_field``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rujai.consent import service as consent_service
from rujai.errors import Forbidden, Invalid
from rujai.kit.crypto import Keyring
from rujai.policy.rules import Objection
from rujai.policy.schemas import Lang, Policy
from rujai.profiles import identities, service as profiles_service
from rujai.profiles.errors import SubjectErased
from rujai.profiles.sealing import seal_value, subject_key
from rujai.rights import service
from rujai.rights.models import RightsRequest
from rujai.rights.notifier import Notifier
from rujai.rights.schemas import STAFF_CHANNELS, RequestCreate, RequestDetail, RequestRead


def submit(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    body: RequestCreate,
    now: datetime,
    actor: str,
    staff: bool,
    notifier: Notifier | None = None,
) -> RequestRead:
    """Record a request with its deadline, audit it and tell the subject it was received."""
    staff_channel = _check_channel(body, staff)
    _check_detail(policy, body)
    subject_id = _find_subject(session, keyring, body)
    jurisdiction = body.jurisdiction or policy.jurisdictions[0]
    lang: Lang = body.language or policy.default_language
    row = RightsRequest(
        id=uuid.uuid4(),
        subject_id=subject_id,
        kind=body.kind,
        status="received",
        channel=body.channel,
        submitted_by="staff" if staff_channel else "subject",
        staff_ref=body.staff_ref,
        jurisdiction=jurisdiction,
        received_at=now,
        due_at=service.due_at(jurisdiction, body.kind, now),
        result={},
        updated_at=now,
    )
    row.detail = _stored_detail(session, keyring, policy, row, body, lang)
    session.add(row)
    session.flush()
    service.audit_step(
        session, row, "received", now=now, actor=actor, detail={"channel": row.channel}
    )
    service.notify_row(session, keyring=keyring, policy=policy, notifier=notifier, row=row,
                       template="request_received", now=now)  # fmt: skip
    return service.read(row, now)


def _check_channel(body: RequestCreate, staff: bool) -> bool:
    is_staff_channel = body.channel in STAFF_CHANNELS
    if is_staff_channel and not staff:
        raise Forbidden(
            f"channel {body.channel!r} is for staff acting for a subject: it needs the admin scope",
            field="channel",
        )
    if is_staff_channel and not body.staff_ref:
        raise Invalid("staff_ref is required when staff submit a request", field="staff_ref")
    return is_staff_channel


def _check_detail(policy: Policy, body: RequestCreate) -> None:
    """Refuse a request whose ``detail`` lacks what its kind needs (422 naming the field)."""
    check = _DETAIL_CHECKS.get(body.kind)
    if check is not None:
        check(policy, body.detail)


def _check_objection(policy: Policy, detail: RequestDetail) -> None:
    if detail.objection is None:
        message = "detail.objection is required for an objection (TH-DSR-03)"
        raise Invalid(message, field="detail.objection")
    if detail.purpose is None:
        return
    entry = policy.index.purposes.get(detail.purpose)
    if detail.objection is not Objection.LEGITIMATE_INTEREST or entry is None or not entry.li_like:
        raise Invalid(
            "detail.purpose names one legitimate-interest or public-task purpose of the policy, "
            "for an objection to legitimate_interest only (TH-DSR-03)",
            field="detail.purpose",
        )


def _check_withdrawal(policy: Policy, detail: RequestDetail) -> None:
    if detail.purpose is None:
        raise Invalid("detail.purpose is required for a withdrawal", field="detail.purpose")
    try:
        consent_service.consent_purpose(policy, detail.purpose)
    except Invalid as e:
        raise Invalid(e.message, field="detail.purpose") from e


def _check_rectification(_policy: Policy, detail: RequestDetail) -> None:
    if (detail.traits is None) == (detail.remove_interest is None):
        raise Invalid(
            "a rectification needs exactly one of detail.traits or detail.remove_interest",
            field="detail",
        )
    if detail.traits is not None and not detail.traits:
        raise Invalid("detail.traits must name at least one trait", field="detail.traits")


_DETAIL_CHECKS: dict[str, Callable[[Policy, RequestDetail], None]] = {
    "objection": _check_objection,
    "objection_lift": _check_objection,
    "withdrawal": _check_withdrawal,
    "rectification": _check_rectification,
}


def _find_subject(session: Session, keyring: Keyring, body: RequestCreate) -> uuid.UUID | None:
    """Find the subject by customer id, else e-mail; an unknown one leaves the request unlinked."""
    if body.customer_id is not None:
        return profiles_service.find_id(session, keyring=keyring, customer_id=body.customer_id)
    if body.email is not None:
        return identities.find_by_identity(session, keyring=keyring, kind="email", value=body.email)
    raise Invalid("customer_id or email is required to find the subject", field="customer_id")


def _stored_detail(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    row: RightsRequest,
    body: RequestCreate,
    lang: Lang,
) -> dict[str, Any]:
    """Return the plain detail (no personal data) with the rectification payload sealed."""
    detail = body.detail
    stored: dict[str, Any] = {"language": lang}
    if detail.objection is not None:
        stored["objection"] = detail.objection.value
    if detail.purpose is not None:
        stored["purpose"] = detail.purpose
    if body.kind != "rectification":
        return stored
    if detail.traits is not None:
        declared = sorted(name for name in detail.traits if name in policy.traits)
        stored.update(change="traits", trait_names=declared)
        stored["undeclared_count"] = len(detail.traits) - len(declared)
    else:
        stored["change"] = "remove_interest"
    payload = detail.model_dump(include={"traits", "remove_interest"}, exclude_none=True)
    stored["sealed"] = _seal_payload(session, keyring, row, payload)
    return stored


def _seal_payload(
    session: Session, keyring: Keyring, row: RightsRequest, payload: dict[str, Any]
) -> str | None:
    if row.subject_id is None:
        return None  # unknown subject: the request cannot be verified, so nothing is kept
    try:
        key = subject_key(session, keyring=keyring, subject_id=row.subject_id)
    except SubjectErased:
        return None
    raw = json.dumps(payload, ensure_ascii=False).encode()
    sealed = seal_value(key, row.subject_id, detail_field(row.id), raw)
    return base64.b64encode(sealed).decode()


def detail_field(request_id: uuid.UUID) -> str:
    """The sealing field of a request's payload: bound to the request, not movable."""
    return f"rights_request.{request_id}.detail"
