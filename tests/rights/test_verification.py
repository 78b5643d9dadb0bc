"""One-time codes: only to a verified identity on file, hashed, expiring, attempts capped.

Acceptance: "A verification code is never sent to an address the subject has not verified".
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from rujai.policy.schemas import Policy
from rujai.rights import verification
from rujai.rights.errors import CodeRejected, TooManyCodes
from rujai.rights.models import OutboxMessage, VerificationCode
from rujai.writer import session_scope
from tests.rights.test_requests import CUSTOMER, EMAIL, NOW, last_code, outbox, person, submit

UNVERIFIED = "malee.old@example.com"
GIVEN = "someone.else@example.com"
PHONE = "081 234 5678"


def _codes(session: Session) -> list[VerificationCode]:
    return list(session.scalars(select(VerificationCode)))


def test_code_goes_only_to_the_verified_identity_on_file(session, keyring, policy):
    """Acceptance: not to the unverified e-mail on file, not to the address in the request."""
    person(session, keyring)
    person(session, keyring, "C-DSR-OTHER", email=UNVERIFIED, email_verified=False)
    request = submit(session, keyring, policy, "erasure", email=GIVEN)
    started = verification.start_verification(
        session,
        keyring=keyring,
        policy=policy,
        request_id=request.id,
        identity_kind="email",
        now=NOW,
    )
    assert started.sent
    recipients = {m.recipient for m in outbox(session, keyring)}
    assert recipients == {EMAIL}
    assert GIVEN not in recipients
    assert UNVERIFIED not in recipients


@pytest.mark.parametrize("lookup", ["customer_id", "email"])
def test_no_code_is_sent_when_the_address_on_file_is_unverified(session, keyring, policy, lookup):
    """Acceptance: an unverified identity on file (even the one the request names) gets nothing."""
    person(session, keyring, email=UNVERIFIED, email_verified=False)
    by = {"customer_id": CUSTOMER} if lookup == "customer_id" else {"customer_id": None}
    request = submit(session, keyring, policy, "access", email=UNVERIFIED, **by)
    assert request.subject_id is not None
    started = verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    assert not started.sent
    assert started.expires_at is None
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert _codes(session) == []


def test_only_a_keyed_hash_of_the_code_is_stored(session, keyring, policy):
    person(session, keyring)
    request = submit(session, keyring, policy, "access")
    started = verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    code = last_code(session, keyring)
    [row] = _codes(session)
    assert len(code) == 6
    assert code.isdigit()
    assert row.code_hash != code
    assert len(row.code_hash) == 64
    assert code not in row.code_hash
    assert row.code_hash == verification.code_hash(keyring, row.id, code)
    assert (row.attempts, row.purpose, started.expires_at) == (
        0,
        "request",
        NOW + timedelta(minutes=15),
    )
    confirmed = verification.confirm(
        session, keyring=keyring, request_id=request.id, code=code, now=NOW
    )
    assert (confirmed.status, confirmed.verified_at) == ("verified", NOW)


def test_code_in_thai_digits_is_accepted(session, keyring, policy):
    """TH-CON-05: a code typed in Thai digits counts the same."""
    person(session, keyring)
    request = submit(session, keyring, policy, "access")
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    thai = last_code(session, keyring).translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    confirmed = verification.confirm(
        session, keyring=keyring, request_id=request.id, code=f" {thai} ", now=NOW
    )
    assert confirmed.status == "verified"


def test_code_expires(session, keyring, policy):
    person(session, keyring)
    request = submit(session, keyring, policy, "access")
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    with pytest.raises(CodeRejected, match="expired") as error:
        verification.confirm(
            session, keyring=keyring, request_id=request.id, code=last_code(session, keyring),
            now=NOW + timedelta(minutes=15),
        )  # fmt: skip
    assert error.value.field == "code"


def _start(factory: sessionmaker[Session], keyring, policy) -> tuple:
    with session_scope(factory) as s:
        person(s, keyring)
        request = submit(s, keyring, policy, "access")
        verification.start_verification(
            s, keyring=keyring, policy=policy, request_id=request.id, now=NOW
        )
        return request.id, last_code(s, keyring)


def _confirm(factory: sessionmaker[Session], keyring, request_id, code: str):
    with session_scope(factory) as s:
        return verification.confirm(s, keyring=keyring, request_id=request_id, code=code, now=NOW)


def test_wrong_code_fails_and_the_attempt_is_counted_despite_the_rollback(factory, keyring, policy):
    request_id, code = _start(factory, keyring, policy)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(CodeRejected, match="wrong"):
        _confirm(factory, keyring, request_id, wrong)
    with factory() as s:
        [row] = _codes(s)
        assert row.attempts == 1
        assert row.used_at is None
    assert _confirm(factory, keyring, request_id, code).status == "verified"


def test_attempts_are_capped_at_five(factory, keyring, policy):
    request_id, code = _start(factory, keyring, policy)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(verification.MAX_ATTEMPTS):
        with pytest.raises(CodeRejected, match="wrong"):
            _confirm(factory, keyring, request_id, wrong)
    with pytest.raises(CodeRejected, match="5 wrong codes"):
        _confirm(factory, keyring, request_id, code)


def test_a_new_code_replaces_the_pending_one_and_codes_per_hour_are_capped(
    session, keyring, policy
):
    person(session, keyring)
    request = submit(session, keyring, policy, "access")
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    later = NOW + timedelta(minutes=1)
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=later
    )
    rows = sorted(_codes(session), key=lambda r: r.created_at)
    assert [r.used_at for r in rows] == [later, None]  # the first one is retired
    for minute in range(2, verification.MAX_CODES_PER_HOUR):
        verification.start_verification(
            session,
            keyring=keyring,
            policy=policy,
            request_id=request.id,
            now=NOW + timedelta(minutes=minute),
        )
    with pytest.raises(TooManyCodes):
        verification.start_verification(
            session,
            keyring=keyring,
            policy=policy,
            request_id=request.id,
            now=NOW + timedelta(minutes=30),
        )
    assert len(_codes(session)) == verification.MAX_CODES_PER_HOUR


def test_phone_code_goes_by_sms_to_the_verified_phone(session, keyring, policy):
    person(session, keyring, phone=PHONE)
    request = submit(session, keyring, policy, "restriction")
    started = verification.start_verification(
        session,
        keyring=keyring,
        policy=policy,
        request_id=request.id,
        identity_kind="phone",
        now=NOW,
    )
    assert started.sent
    assert started.identity_kind == "phone"
    sms = [m for m in outbox(session, keyring) if m.template == "verification_code"]
    assert [(m.channel, m.recipient) for m in sms] == [("sms", "+66812345678")]


# --- privacy-center sign-in -----------------------------------------------------------------------


def test_sign_in_sends_to_the_verified_email_and_returns_the_subject(session, keyring, policy):
    subject_id = person(session, keyring)
    started = verification.start_sign_in(
        session, keyring=keyring, policy=policy, email=EMAIL.upper(), now=NOW
    )
    [message] = outbox(session, keyring)
    assert (message.recipient, message.template) == (EMAIL, "sign_in_code")
    signed_in = verification.confirm_sign_in(
        session, keyring=keyring, challenge_id=started.challenge_id,
        code=last_code(session, keyring), now=NOW,
    )  # fmt: skip
    assert signed_in == subject_id
    with pytest.raises(CodeRejected):  # a code works once
        verification.confirm_sign_in(
            session, keyring=keyring, challenge_id=started.challenge_id,
            code=last_code(session, keyring), now=NOW,
        )  # fmt: skip


@pytest.mark.parametrize(
    "who",
    [{"email": "nobody@example.com"}, {"email": UNVERIFIED}, {"customer_id": "C-NOBODY-1"}],
)
def test_sign_in_answers_the_same_for_unknown_people_and_sends_nothing(
    session, keyring, policy, who
):
    """No account enumeration: same answer, same failure, nothing in the outbox."""
    person(session, keyring, "C-DSR-OTHER", email=UNVERIFIED, email_verified=False)
    known = person(session, keyring)
    assert known is not None
    started = verification.start_sign_in(session, keyring=keyring, policy=policy, now=NOW, **who)
    assert started.expires_at == NOW + timedelta(minutes=15)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    with pytest.raises(CodeRejected, match="the code is wrong or has expired"):
        verification.confirm_sign_in(
            session, keyring=keyring, challenge_id=started.challenge_id, code="123456", now=NOW
        )


# --- through the door -----------------------------------------------------------------------------


def test_a_code_opens_the_contact_with_a_rights_permit_for_contact_only(session, keyring, policy):
    """The contact is read through the door: ``answer_rights`` for ``contact``, then audited."""
    subject_id = person(session, keyring)
    request = submit(session, keyring, policy, "access")
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    entries = audit_service.list_entries(session, subject_id=subject_id)
    checks = [e for e in entries if e.action == "policy.check"]
    assert checks
    assert {(e.purpose, e.detail["action"], tuple(e.detail["categories"])) for e in checks} == {
        ("rights_requests", "answer_rights", ("contact",))
    }
    assert "rights.verification.read_identity" in {e.action for e in entries}


def test_no_message_is_sent_under_a_policy_without_the_rights_purpose(factory, keyring, policy):
    """The door refuses the contact (audited); nothing is sent, and the answer does not change."""
    data = policy.model_dump()
    del data["purposes"]["rights_requests"]
    bare = Policy.model_validate(data)
    with session_scope(factory) as s:
        subject_id = person(s, keyring)
        request = submit(s, keyring, bare, "access")
        started = verification.start_verification(
            s, keyring=keyring, policy=bare, request_id=request.id, now=NOW
        )
        signed_in = verification.start_sign_in(
            s, keyring=keyring, policy=bare, email=EMAIL, now=NOW
        )
    assert not started.sent
    assert signed_in.challenge_id is not None
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert _codes(s) == []
        refusals = audit_service.list_entries(s, subject_id=subject_id, action="policy.check")
    assert refusals  # one per message that could not be sent: received, code, sign-in
    assert {(e.outcome, e.detail["action"]) for e in refusals} == {
        ("unknown_purpose", "answer_rights")
    }
