"""Fixtures of the web tests: an app client with the web UI, and for browser tests the real
server with a seeded shop and a Chromium page that records every request it makes.

Browser tests are marked ``browser``. Without ``/usr/bin/chromium`` they are skipped with that
reason, except under CI (``CI`` set), where that is a failure. A failing browser test leaves a
screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from rujai.config import Settings
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.profiles import identities, service as profiles_service, traits as profiles_traits
from rujai.staff import service as staff_service
from rujai.writer import session_scope
from tests.web import live, seeding

ARTIFACTS = live.ROOT / "test-artifacts"
PASSWORDS = {
    "marketer": "marketer-pass-0001",
    "dpo": "dpo-pass-000001",
    "admin": "admin-pass-00001",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the CSRF token a page embeds in its forms."""
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml lists it (the lead adds it there).
    config.addinivalue_line("markers", "browser: drives a real Chromium")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small parameters, so that the suite stays fast on two cores."""
    monkeypatch.setattr(
        staff_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def team(factory: sessionmaker[Session], cheap_hashing: None) -> None:
    """One staff user per role."""
    with session_scope(factory) as s:
        for role, password in PASSWORDS.items():
            body = staff_service.StaffCreate.model_validate(
                {
                    "username": role,
                    "display_name": f"{role} (test)",
                    "role": role,
                    "password": password,
                }
            )
            staff_service.create(s, body=body, now=datetime.now(UTC), actor="test")


@pytest.fixture
def web_client(settings: Settings) -> Iterator[TestClient]:
    """A client on the app with the web UI mounted (SQLite and PostgreSQL)."""
    with TestClient(live.web_app(settings), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def customer(factory: sessionmaker[Session], keyring: Keyring, policy: Policy) -> Any:
    """A customer with a verified e-mail and a name on file, no consents yet."""
    now = datetime.now(UTC)
    with session_scope(factory) as s:
        subject = profiles_service.get_or_create(
            s, keyring=keyring, customer_id=seeding.SIGNED_IN, now=now
        )
        profiles_traits.set_traits(
            s, keyring=keyring, policy=policy, subject_id=subject.id, source="api", now=now,
            traits={"email": seeding.SIGNED_IN_EMAIL, "first_name": "สมชาย"},
        )  # fmt: skip
        identities.add_identity(
            s, keyring=keyring, subject_id=subject.id, kind="email",
            value=seeding.SIGNED_IN_EMAIL, verified=True, now=now,
        )  # fmt: skip
    return subject


def sign_in(client: TestClient, factory: Any, keyring: Keyring, identifier: str) -> None:
    """Sign in through the forms with the code from the outbox."""
    token = csrf_of(client.get("/privacy/").text)
    sent = client.post("/privacy/sign-in", data={"identifier": identifier, "csrf_token": token})
    assert sent.status_code == 200, sent.text
    code = seeding.latest_code(factory, keyring=keyring)
    done = client.post(
        "/privacy/sign-in/code", data={"code": code, "csrf_token": csrf_of(sent.text)}
    )
    assert done.status_code == 200, done.text
    assert done.url.path == "/privacy/consents"


@pytest.fixture
def signed_in(web_client: TestClient, customer: Any, factory: Any, keyring: Keyring) -> Any:
    """``web_client`` signed in as ``customer``."""
    sign_in(web_client, factory, keyring, seeding.SIGNED_IN)
    return web_client


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real server on 127.0.0.1 with a seeded shop and a trained recommender."""
    with live.live_server(tmp_path_factory.mktemp("web") / "rujai.db") as server:
        key = seeding.seed_shop(server.factory, keyring=server.keyring, policy=server.policy)
        yield {"server": server, "auth": {"Authorization": f"Bearer {key}"}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = live.chromium_missing_reason()
    if reason is not None:
        if live.in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = live.launch(playwright)
        yield chromium
        chromium.close()


class Recorder:
    """Every URL the page requested, and console errors (CSP violations show up there)."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.console_errors: list[str] = []

    def foreign(self, origin: str) -> list[str]:
        return [u for u in self.urls if not u.startswith(origin + "/") and u != origin]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def page(browser: Any, recorder: Recorder, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context and page (mobile width); screenshot on failure."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("request", lambda r: recorder.urls.append(r.url))
    tab.on("console", lambda m: m.type == "error" and recorder.console_errors.append(m.text))
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
