"""Identity verification by one-time code, for requests and for privacy-center sign-in.

The rule (TH-DSR-00, acceptance: "a verification code is never sent to an address the subject has
not verified"): a code goes only to an identity **already on file** for the subject with
``is_verified`` set, never to an address given in a request. A 6-digit code is drawn with
``secrets``; only its keyed hash (HMAC-SHA256, salted with the code row's id) is stored, with an
expiry and an attempt counter: after ``MAX_ATTEMPTS`` wrong codes the code is dead. The attempt is
claimed by one conditional UPDATE (``attempts < MAX_ATTEMPTS``, still pending, not expired)
*before* the code is compared, so concurrent attempts can never compare more than
``MAX_ATTEMPTS`` times; a wrong code raises ``WrongCode``, which keeps that claim committed though
the request fails (``db.KeepsWrites``). A right code is used once: a conditional UPDATE again.

Sign-in answers the same whether or not the person is known, and sends nothing for an unknown
one (no account enumeration).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Invalid
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Lang, Policy
from rujai.profiles import contacts as profiles_contacts, service as profiles_service
from rujai.rights import notifier as messages, service
from rujai.rights.errors import CodeRejected, RequestStateConflict, TooManyCodes, WrongCode
from rujai.rights.models import RightsRequest, VerificationCode
from rujai.rights.notifier import Contact, Notifier, OutboxNotifier
from rujai.rights.schemas import ContactKind, RequestRead, SignInStarted, VerificationStarted

CODE_TTL_MINUTES = 15
MAX_ATTEMPTS = 5
MAX_CODES_PER_HOUR = 5
CODE_DIGITS = 6
CONTACT_KINDS: tuple[ContactKind, ...] = ("email", "phone")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_HASH_DOMAIN = b"rujai/verification-code/v1\x00"
_EXHAUSTED = f"{MAX_ATTEMPTS} wrong codes: start verification again"


def code_hash(keyring: Keyring, code_id: uuid.UUID, code: str) -> str:
    """Return the keyed hash of a code, salted with its row id (the only thing stored)."""
    message = _HASH_DOMAIN + code_id.bytes + code.encode()
    return hmac.new(keyring.evidence, message, hashlib.sha256).hexdigest()


def start_verification(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    request_id: uuid.UUID,
    identity_kind: str = "email",
    now: datetime,
    ttl_minutes: int = CODE_TTL_MINUTES,
    notifier: Notifier | None = None,
    actor: str = "system",
) -> VerificationStarted:
    """Send a code for a received request to the subject's verified identity of that kind."""
    if identity_kind not in CONTACT_KINDS:
        raise Invalid("identity_kind must be email or phone", field="identity_kind")
    kind: ContactKind = "phone" if identity_kind == "phone" else "email"
    row = _received(session, request_id)
    contact = None
    if row.subject_id is not None:
        _check_rate(session, VerificationCode.request_id == row.id, now)
        contact = messages.verified_contact(
            session, keyring=keyring, policy=policy, subject_id=row.subject_id, kinds=(kind,),
            now=now, why={"request_id": str(row.id), "template": "verification_code"},
        )  # fmt: skip
    issued = None
    if contact is not None and row.subject_id is not None:
        issued = _issue(
            session, keyring, notifier, contact, row.subject_id, row.id,
            template="verification_code", lang=service.language_of(row), now=now,
            ttl_minutes=ttl_minutes,
        )  # fmt: skip
    outcome = "sent" if issued is not None else "no_verified_identity"
    _audit(session, "rights.verification.started", row.subject_id, now, actor, outcome,
           {"request_id": str(row.id), "identity_kind": kind})  # fmt: skip
    expires_at = issued.expires_at if issued is not None else None
    return VerificationStarted(
        request_id=row.id, identity_kind=kind, sent=issued is not None, expires_at=expires_at
    )


def _received(session: Session, request_id: uuid.UUID) -> RightsRequest:
    """Load and lock a request that is still waiting for verification (else 409 on status)."""
    row = service.load_for_update(session, request_id)
    if row.status != "received":
        raise RequestStateConflict(
            f"request {row.id} is {row.status}: only a received request is verified",
            field="status",
        )
    return row


def _check_rate(session: Session, where: Any, now: datetime) -> None:
    recent = session.scalar(
        select(func.count())
        .select_from(VerificationCode)
        .where(where, VerificationCode.created_at > now - timedelta(hours=1))
    )
    if (recent or 0) >= MAX_CODES_PER_HOUR:
        raise TooManyCodes(
            f"at most {MAX_CODES_PER_HOUR} codes an hour; try again later", field="request_id"
        )


def _issue(
    session: Session,
    keyring: Keyring,
    notifier: Notifier | None,
    contact: Contact,
    subject_id: uuid.UUID,
    request_id: uuid.UUID | None,
    *,
    template: str,
    lang: Lang,
    now: datetime,
    ttl_minutes: int,
) -> VerificationCode:
    """Store a new code's hash (superseding pending ones), send the code, return the row."""
    _supersede(session, subject_id, request_id, now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = VerificationCode(
        id=uuid.uuid4(),
        request_id=request_id,
        subject_id=subject_id,
        identity_id=contact.identity_id,
        purpose="request" if request_id is not None else "sign_in",
        attempts=0,
        created_at=now,
        expires_at=now + timedelta(minutes=ttl_minutes),
    )
    row.code_hash = code_hash(keyring, row.id, code)
    session.add(row)
    session.flush()
    body = messages.render(template, lang, code=code, minutes=ttl_minutes)
    (notifier or OutboxNotifier(keyring)).send(
        session, subject_id=subject_id, channel=contact.channel, recipient=contact.value,
        template=template, body=body, now=now,
    )  # fmt: skip
    return row


def _supersede(
    session: Session, subject_id: uuid.UUID, request_id: uuid.UUID | None, now: datetime
) -> None:
    """Retire the pending codes of the same request (or the subject's sign-in codes)."""
    scope = (
        VerificationCode.request_id == request_id
        if request_id is not None
        else (VerificationCode.subject_id == subject_id) & (VerificationCode.purpose == "sign_in")
    )
    session.execute(
        update(VerificationCode)
        .where(scope, VerificationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def confirm(
    session: Session,
    *,
    keyring: Keyring,
    request_id: uuid.UUID,
    code: str,
    now: datetime,
    actor: str = "subject",
) -> RequestRead:
    """Check the code sent for a request and mark the request verified (TH-DSR-00)."""
    row = _received(session, request_id)
    pending = session.scalars(
        select(VerificationCode)
        .where(VerificationCode.request_id == row.id, VerificationCode.used_at.is_(None))
        .order_by(VerificationCode.created_at.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).first()
    _check_code(session, keyring, pending, code, now, generic=False)
    service.move(session, row, "verified", now=now, actor=actor, detail={"method": "code"})
    return service.read(row, now)


def _check_code(
    session: Session,
    keyring: Keyring,
    pending: VerificationCode | None,
    code: str,
    now: datetime,
    *,
    generic: bool,
) -> None:
    """Use up a live, pending code that matches ``code``; else raise CodeRejected naming ``code``.

    One attempt is claimed first (a conditional UPDATE): only a claimed attempt is compared.
    ``generic``: one message for every failure (sign-in).
    """
    problem = _problem(pending, now)
    if problem is not None or pending is None:
        raise CodeRejected(_message(generic, problem), field="code")
    if not _claim(session, pending.id, now):  # a concurrent attempt took the last one
        raise CodeRejected(_message(generic, _EXHAUSTED), field="code")
    given = code.strip().translate(_THAI_DIGITS)
    if not hmac.compare_digest(pending.code_hash, code_hash(keyring, pending.id, given)):
        _audit(session, "rights.verification.failed", pending.subject_id, now, "subject",
               "wrong_code", {"code_id": str(pending.id)})  # fmt: skip
        raise WrongCode(_message(generic, "the code is wrong"), field="code")  # stays counted
    if not _use(session, pending.id, now):  # a concurrent request used it first
        raise CodeRejected(_message(generic, "the code was used already"), field="code")


def _message(generic: bool, specific: str | None) -> str:
    return "the code is wrong or has expired" if generic or specific is None else specific


def _problem(pending: VerificationCode | None, now: datetime) -> str | None:
    if pending is None:
        return "no code is pending: start verification first"
    if pending.attempts >= MAX_ATTEMPTS:
        return _EXHAUSTED
    if now >= pending.expires_at:
        return "the code has expired: start verification again"
    return None


def _claim(session: Session, code_id: uuid.UUID, now: datetime) -> bool:
    """Count one attempt if the code still has one left (one statement); False if none is."""
    result: Any = session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.id == code_id,
            VerificationCode.attempts < MAX_ATTEMPTS,
            VerificationCode.used_at.is_(None),
            VerificationCode.expires_at > now,
        )
        .values(attempts=VerificationCode.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def _use(session: Session, code_id: uuid.UUID, now: datetime) -> bool:
    """Mark the code used unless a concurrent request used it first (one statement)."""
    result: Any = session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == code_id, VerificationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


# --- privacy-center sign-in -----------------------------------------------------------------------


def start_sign_in(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str | None = None,
    email: str | None = None,
    language: Lang = "th",
    now: datetime,
    ttl_minutes: int = CODE_TTL_MINUTES,
    notifier: Notifier | None = None,
) -> SignInStarted:
    """Send a sign-in code to a verified identity on file; the answer never reveals a match."""
    subject_id, identity_id = _sign_in_target(session, keyring, customer_id, email)
    contact = None
    if subject_id is not None and _under_rate(session, subject_id, now):
        contact = messages.verified_contact(
            session, keyring=keyring, policy=policy, subject_id=subject_id, kinds=CONTACT_KINDS,
            now=now, why={"template": "sign_in_code"}, identity_id=identity_id,
        )  # fmt: skip
    if contact is None or subject_id is None:
        # The same answer as for a match, and nothing sent: no account enumeration.
        _audit(session, "rights.sign_in.started", subject_id, now, "subject", "not_sent", {})
        expires_at = now + timedelta(minutes=ttl_minutes)
        return SignInStarted(challenge_id=uuid.uuid4(), expires_at=expires_at)
    issued = _issue(
        session, keyring, notifier, contact, subject_id, None,
        template="sign_in_code", lang=language, now=now, ttl_minutes=ttl_minutes,
    )  # fmt: skip
    _audit(session, "rights.sign_in.started", subject_id, now, "subject", "sent", {})
    return SignInStarted(challenge_id=issued.id, expires_at=issued.expires_at)


def _sign_in_target(
    session: Session, keyring: Keyring, customer_id: str | None, email: str | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """Return (subject, the identity to use or None for any verified one)."""
    if customer_id is not None:
        found = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
        return found, None
    if email is None:
        raise Invalid("customer_id or email is required", field="customer_id")
    ids = profiles_contacts.find_identity(session, keyring=keyring, kind="email", value=email)
    return ids if ids is not None else (None, None)


def _under_rate(session: Session, subject_id: uuid.UUID, now: datetime) -> bool:
    """False once a subject had ``MAX_CODES_PER_HOUR`` sign-in codes this hour (then: silent)."""
    try:
        _check_rate(
            session,
            (VerificationCode.subject_id == subject_id) & (VerificationCode.purpose == "sign_in"),
            now,
        )
    except TooManyCodes:
        return False
    return True


def confirm_sign_in(
    session: Session, *, keyring: Keyring, challenge_id: uuid.UUID, code: str, now: datetime
) -> uuid.UUID:
    """Check a sign-in code and return the subject's id; one message for every failure."""
    pending = session.scalars(
        select(VerificationCode)
        .where(
            VerificationCode.id == challenge_id,
            VerificationCode.purpose == "sign_in",
            VerificationCode.used_at.is_(None),
        )
        .execution_options(populate_existing=True)
    ).one_or_none()
    _check_code(session, keyring, pending, code, now, generic=True)
    assert pending is not None  # noqa: S101 - _check_code raised otherwise
    _audit(session, "rights.sign_in.confirmed", pending.subject_id, now, "subject", "ok", {})
    return pending.subject_id


def _audit(
    session: Session,
    action: str,
    subject_id: uuid.UUID | None,
    now: datetime,
    actor: str,
    outcome: str,
    detail: dict[str, Any],
) -> None:
    audit_service.record(
        session,
        actor=actor,
        action=action,
        now=now,
        subject_id=subject_id,
        purpose="rights_requests",
        outcome=outcome,
        detail=detail,
    )
