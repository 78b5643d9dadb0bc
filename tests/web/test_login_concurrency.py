"""The console's lock-out holds under concurrent requests (issue 12): forty wrong passwords at
once are compared at most five times, then the account is locked; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from rujai.audit import service as audit_service
from rujai.staff import login as staff_login, service as staff
from rujai.writer import session_scope
from tests.web.test_console import csrf_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")
CONCURRENT = 40


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password comparison against a real account's hash."""
    calls: list[str] = []
    real = staff.verify_password
    dummy = staff.dummy_hash

    def counting(password_hash: str, password: str) -> bool:
        if password_hash != dummy():
            calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(staff, "verify_password", counting)
    return calls


def _locked(factory) -> datetime | None:
    with session_scope(factory) as s:
        (row,) = [u for u in staff.list_staff(s) if u.username == "dpo"]
    return row.locked_until


def test_forty_concurrent_wrong_passwords_are_compared_at_most_five_times(
    web_client, team, factory, compared
):
    web_client.app.state.console_login_throttle = staff_login.LoginThrottle(max_attempts=1000)
    token = csrf_of(web_client)
    form = {"username": "dpo", "password": "wrong-password-x", "csrf_token": token}

    def attempt(_: int) -> int:
        return web_client.post("/console/login", data=form, follow_redirects=False).status_code

    with ThreadPoolExecutor(CONCURRENT) as pool:
        statuses = list(pool.map(attempt, range(CONCURRENT)))
    assert set(statuses) == {401}
    assert len(compared) <= staff_login.MAX_FAILURES
    assert _locked(factory) is not None
    with session_scope(factory) as s:
        outcomes = [e.outcome for e in audit_service.list_entries(s, action="staff.login")]
    assert outcomes.count("failed") + outcomes.count("locked") == len(compared)
    right = {**form, "password": "dpo-pass-000001"}
    locked = web_client.post("/console/login", data=right, follow_redirects=False)
    assert locked.status_code == 401
    assert "locked" in locked.text


def test_wrong_passwords_in_concurrent_transactions_are_compared_at_most_five_times(
    db_url, team, factory, compared
):
    """Many server processes on one PostgreSQL: the claim's row lock serializes the attempts."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer per database file: the HTTP test above covers it")
    now = datetime.now(UTC)

    def attempt(_: int) -> str:
        try:
            with session_scope(factory) as s:
                staff_login.authenticate(s, username="dpo", password="wrong-pass", now=now)
        except (staff_login.LoginFailed, staff_login.AccountLocked) as e:
            return type(e).__name__
        return "signed in"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(CONCURRENT)))
    assert len(compared) == staff_login.MAX_FAILURES
    assert outcomes.count("WrongPassword") == staff_login.MAX_FAILURES - 1
    assert outcomes.count("LockedNow") == 1
    assert _locked(factory) is not None


def test_the_address_throttle_counts_concurrent_attempts_exactly():
    throttle = staff_login.LoginThrottle(max_attempts=5)
    now = datetime.now(UTC)
    passed: list[int] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            throttle.attempt("192.0.2.7", now)
        except staff_login.TooManyAttempts:
            return
        with lock:
            passed.append(i)

    with ThreadPoolExecutor(CONCURRENT) as pool:
        list(pool.map(attempt, range(CONCURRENT)))
    assert len(passed) == 5
