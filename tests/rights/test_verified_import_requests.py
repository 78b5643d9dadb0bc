"""A rights request of a customer the brand imported with a verified phone is verified by a code
sent to that phone (TH-DSR-00: only verified identities on file; TH-SEC-01: with evidence)."""

from __future__ import annotations

from datetime import timedelta

from rujai.profiles import verified
from rujai.profiles.schemas import VerifiedIdentityCreate
from rujai.rights import verification
from tests.rights.test_requests import NOW, last_code, outbox, submit

CUSTOMER = "C-IMP-DSR-1"
PHONE = "0898765432"


def test_imported_verified_phone_receives_the_request_code(session, keyring, policy):
    """TH-DSR-00: the request is verified through the identity the brand imported as verified."""
    body = VerifiedIdentityCreate(
        kind="phone", value=PHONE, verified_at=NOW - timedelta(days=30),
        method="in_store_id_check", evidence_ref="store-12-ticket-88",
    )  # fmt: skip
    verified.record_verified(
        session, keyring=keyring, customer_id=CUSTOMER, body=body, now=NOW, actor="test"
    )
    request = submit(session, keyring, policy, "access", customer_id=CUSTOMER, email=None)
    started = verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, identity_kind="phone",
        now=NOW,
    )  # fmt: skip
    assert started.sent
    assert {m.recipient for m in outbox(session, keyring)} == {"+66898765432"}
    done = verification.confirm(
        session, keyring=keyring, request_id=request.id, code=last_code(session, keyring),
        now=NOW + timedelta(minutes=1),
    )  # fmt: skip
    assert done.status == "verified"
