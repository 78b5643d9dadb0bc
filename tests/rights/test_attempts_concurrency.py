"""Attempt limits hold under concurrent requests (issue 12): a code is evaluated at most
``MAX_ATTEMPTS`` times however many wrong codes arrive at once, on SQLite and PostgreSQL.

The count is claimed by one conditional UPDATE before the code is compared, and the claim is
committed even though the request that carried a wrong code fails.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from rujai.audit import service as audit_service
from rujai.rights import verification
from rujai.rights.errors import CodeRejected
from rujai.rights.models import VerificationCode
from rujai.writer import session_scope
from tests.rights.test_requests import CUSTOMER, NOW, code_for, last_code, person, submit
from tests.rights.test_router import _key, api  # noqa: F401 - the fixture

CONCURRENT = 40


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Every comparison of a given code with the stored hash (the code row's id per call)."""
    calls: list[uuid.UUID] = []
    real = verification.code_hash

    def counting(keyring, code_id, code):
        calls.append(code_id)
        return real(keyring, code_id, code)

    monkeypatch.setattr(verification, "code_hash", counting)
    return calls


def test_forty_concurrent_wrong_codes_are_evaluated_at_most_five_times(
    api,  # noqa: F811 - the fixture
    factory,
    keyring,
    counted,
):
    with session_scope(factory) as s:
        person(s, keyring)
    consent = _key(factory, "consent")
    body = {"kind": "restriction", "channel": "privacy_center", "customer_id": CUSTOMER}
    request_id = uuid.UUID(api.post("/v1/requests", json=body, headers=consent).json()["id"])
    started = api.post(f"/v1/requests/{request_id}/verification", json={}, headers=consent)
    assert started.json()["sent"] is True
    with factory() as s:
        code = code_for(s, keyring, request_id)
    wrong = "000000" if code != "000000" else "111111"
    url = f"/v1/requests/{request_id}/verification/confirm"
    counted.clear()

    def attempt(_: int) -> int:
        return api.post(url, json={"code": wrong}, headers=consent).status_code

    with ThreadPoolExecutor(CONCURRENT) as pool:
        statuses = list(pool.map(attempt, range(CONCURRENT)))
    assert set(statuses) == {422}
    assert len(counted) <= verification.MAX_ATTEMPTS  # never more comparisons than the limit
    with factory() as s:
        assert s.scalars(select(VerificationCode.attempts)).one() == verification.MAX_ATTEMPTS
        failed = audit_service.list_entries(s, action="rights.verification.failed")
    assert len(failed) == verification.MAX_ATTEMPTS
    # The right code is refused too now: the code is dead.
    late = api.post(url, json={"code": code}, headers=consent)
    assert late.status_code == 422
    assert "start verification again" in late.json()["detail"]


def test_wrong_codes_in_concurrent_transactions_are_evaluated_at_most_five_times(
    db_url, factory, keyring, policy, counted
):
    """Many server processes on one PostgreSQL: each attempt its own transaction, no writer
    between them. The conditional UPDATE's row lock serializes the claims."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer per database file: the API test above covers it")
    with session_scope(factory) as s:
        person(s, keyring)
        request = submit(s, keyring, policy, "access")
        verification.start_verification(
            s, keyring=keyring, policy=policy, request_id=request.id, now=NOW
        )
        code = last_code(s, keyring)
    wrong = "000000" if code != "000000" else "111111"
    counted.clear()

    def attempt(_: int) -> str:
        try:
            with session_scope(factory) as s:
                verification.confirm(s, keyring=keyring, request_id=request.id, code=wrong, now=NOW)
        except CodeRejected as e:
            return type(e).__name__
        return "accepted"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(CONCURRENT)))
    assert outcomes.count("WrongCode") == verification.MAX_ATTEMPTS
    assert outcomes.count("CodeRejected") == CONCURRENT - verification.MAX_ATTEMPTS
    assert len(counted) == verification.MAX_ATTEMPTS
    with factory() as s:
        assert s.scalars(select(VerificationCode.attempts)).one() == verification.MAX_ATTEMPTS
