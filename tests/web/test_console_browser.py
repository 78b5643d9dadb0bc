"""The staff console in a real Chromium against the real server on 127.0.0.1.

A marketer cannot open the audit log (TH-SEC-01 least privilege). A customer asks in the privacy
center to have their data erased and confirms it with the code sent to them; a DPO processes the
request in the console, and a scan of every table finds nothing left of the customer (TH-DSR-04).
Console pages are Thai by default and switch to English (TH-CON-05). Nothing is loaded from any
other host, and the Content-Security-Policy reports no violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher

from rujai.rights import notifier, verify as rights_verify
from rujai.staff import service as staff
from rujai.writer import session_scope
from tests.web import live, seeding

pytestmark = pytest.mark.browser

ARTIFACTS = live.ROOT / "test-artifacts"
PASSWORDS = {"marketer": "marketer-browser-1", "dpo": "dpo-browser-pass-1"}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def console(shop: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shop's server with a marketer and a DPO (argon2id with small test parameters)."""
    server = shop["server"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            staff, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        with session_scope(server.factory) as s:
            for role, password in PASSWORDS.items():
                body = staff.StaffCreate.model_validate(
                    {"username": role, "display_name": f"{role} (browser)", "role": role,
                     "password": password}
                )  # fmt: skip
                staff.create(s, body=body, now=datetime.now(UTC), actor="test")
        yield shop


class Tab:
    """A desktop page that records every URL it requests and every console error."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport=DESKTOP, locale="th-TH")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.urls: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.urls.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))

    def local_only(self, origin: str) -> None:
        assert self.urls, "the page made no requests at all"
        assert [u for u in self.urls if not u.startswith(origin + "/")] == []
        assert [e for e in self.errors if "Content Security Policy" in e] == []


@pytest.fixture
def staff_tab(browser: Any, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A staff member's desktop tab; a screenshot in test-artifacts/ when the test fails."""
    tab = Tab(browser)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        tab.page.screenshot(path=str(ARTIFACTS / f"{name}-staff.png"), full_page=True)
    tab.context.close()


def sign_in(tab: Tab, url: str, username: str, *, lang: str = "th") -> None:
    tab.page.goto(f"{url}/console/login?lang={lang}")
    tab.page.locator("#username").fill(username)
    tab.page.locator("#password").fill(PASSWORDS[username])
    tab.page.locator("#login-form button[type=submit]").click()
    tab.page.wait_for_url("**/console/")


def newest_code(server: Any) -> str:
    """The code of the newest code message in the outbox (the demo's stand-in for e-mail)."""
    with session_scope(server.factory) as s:
        messages = notifier.list_outbox(
            s, keyring=server.keyring, limit=10, now=datetime.now(UTC), actor="test"
        )
    for message in messages:
        found = re.search(r"\b(\d{6})\b", message.body or "")
        if message.template.endswith("_code") and found:
            return found.group(1)
    raise AssertionError("no code in the outbox")


def test_marketer_cannot_open_the_audit_log_th_sec_01(console, staff_tab):
    url = console["server"].url
    sign_in(staff_tab, url, "marketer")
    menu = staff_tab.page.locator("nav .tabs a")
    assert "/console/audit" not in [menu.nth(i).get_attribute("href") for i in range(menu.count())]
    response = staff_tab.page.goto(f"{url}/console/audit")
    assert response is not None
    assert response.status == 403
    assert staff_tab.page.locator(".notice--error").is_visible()
    assert "audit" in staff_tab.page.locator(".notice--error").inner_text()
    staff_tab.local_only(url)


def test_dpo_processes_an_erasure_the_customer_asked_for_and_the_data_is_gone_th_dsr_04(
    console, page, recorder, staff_tab
):
    server = console["server"]
    # The customer signs in to the privacy center, asks for erasure and confirms with the code.
    page.goto(f"{server.url}/privacy/")
    page.get_by_label("รหัสลูกค้าหรืออีเมล").fill(seeding.SIGNED_IN)
    page.get_by_role("button", name="ส่งรหัส").click()
    page.wait_for_url("**/privacy/sign-in/code")
    page.get_by_label("รหัส 6 หลัก").fill(newest_code(server))
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_url("**/privacy/consents")
    page.goto(f"{server.url}/privacy/data")
    page.locator("form:has(input[name=kind][value=erasure]) button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/privacy/requests/[0-9a-f-]{36}$"))
    request_id = page.url.rsplit("/", 1)[1]
    page.locator("#code").fill(newest_code(server))
    page.get_by_role("button", name="ยืนยันคำขอ").click()
    page.wait_for_url(f"**/privacy/requests/{request_id}")

    # The DPO finds it in the queue and processes it.
    sign_in(staff_tab, server.url, "dpo")
    staff_tab.page.goto(f"{server.url}/console/requests")
    row = staff_tab.page.locator(f"#request-{request_id}")
    assert row.get_attribute("data-status") == "verified"
    assert row.get_attribute("data-kind") == "erasure"
    staff_tab.page.once("dialog", lambda dialog: dialog.accept())  # "Erase all? Cannot be undone"
    row.get_by_test_id("process").click()
    staff_tab.page.wait_for_selector(f'#request-{request_id}[data-status="completed"]')

    # Nothing of the customer is left anywhere, and the console's lookup finds no one.
    with session_scope(server.factory) as s:
        report = rights_verify.scan(s, keyring=server.keyring, customer_id=seeding.SIGNED_IN)
    assert report.leftovers == []
    staff_tab.page.goto(f"{server.url}/console/customers")
    staff_tab.page.locator("#customer-id").fill(seeding.SIGNED_IN)
    staff_tab.page.locator("#purpose").select_option("rights_requests")
    staff_tab.page.locator("#reason").select_option("rights_request")
    staff_tab.page.locator("form[action='/console/customers'] button[type=submit]").click()
    staff_tab.page.get_by_test_id("lookup-none").wait_for()
    staff_tab.local_only(server.url)
    assert recorder.foreign(server.url) == []


def test_console_pages_are_thai_by_default_and_switch_to_english_th_con_05(console, staff_tab):
    url = console["server"].url
    tab = staff_tab.page
    tab.goto(f"{url}/console/login")
    assert tab.locator("html").get_attribute("lang") == "th"
    assert tab.locator("h1").inner_text() == "เข้าสู่คอนโซลเจ้าหน้าที่"
    sign_in(staff_tab, url, "dpo")
    assert tab.locator("#consent-heading").inner_text() == "อัตราการให้ความยินยอมรายวัตถุประสงค์"
    assert tab.locator("svg#chart-consent title").first.text_content() == (
        "อัตราการให้ความยินยอมรายวัตถุประสงค์"
    )
    tab.locator("a.lang-switch").click()
    tab.wait_for_url("**/console/?lang=en")
    assert tab.locator("html").get_attribute("lang") == "en"
    assert tab.locator("#consent-heading").inner_text() == "Consent rate per purpose"
    tab.goto(f"{url}/console/audit")  # English is remembered
    assert tab.locator("h1").inner_text() == "Audit log"
    tab.get_by_test_id("verify").click()
    assert "The chain is intact" in tab.get_by_test_id("verify-ok").inner_text()
    staff_tab.local_only(url)
