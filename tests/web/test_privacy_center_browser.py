"""The privacy center in a real Chromium against the real server on 127.0.0.1.

One customer signs in with a code from the outbox, turns recommendations on, gets a personalized
decision, sees it explained, turns the purpose off right there and gets the fallback next time
(TH-CON-01, TH-CON-03). Pages are Thai by default with Buddhist Era dates and switch to English
(TH-CON-05). Nothing is loaded from any other host, and the CSP reports no violation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.web import seeding

pytestmark = pytest.mark.browser


def _sign_in(page: Any, shop: dict[str, Any], identifier: str = seeding.SIGNED_IN) -> None:
    server = shop["server"]
    page.goto(f"{server.url}/privacy/")
    page.get_by_label("รหัสลูกค้าหรืออีเมล").fill(identifier)
    page.get_by_role("button", name="ส่งรหัส").click()
    page.wait_for_url("**/privacy/sign-in/code")
    code = seeding.latest_code(server.factory, keyring=server.keyring)
    page.get_by_label("รหัส 6 หลัก").fill(code)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_url("**/privacy/consents")


def _decide(shop: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{shop['server'].url}/v1/decide",
        json={"customer_id": seeding.SIGNED_IN, "placement": "home_for_you", "k": 4},
        headers=shop["auth"],
        timeout=10,
    )
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()
    return decision


def _switch(page: Any, purpose: str) -> Any:
    return page.locator(f'[data-testid="switch-{purpose}"]')


def _say_adult(page: Any, purpose: str) -> None:
    """Pick the age band where the form asks it (TH-MIN-01: an unknown age is never assumed)."""
    ask = page.locator(f'[data-testid="age-{purpose}"]')
    if ask.count():
        ask.select_option("adult")


def _assert_local_only(page: Any, recorder: Any, shop: dict[str, Any]) -> None:
    assert recorder.urls, "the page made no requests at all"
    assert recorder.foreign(shop["server"].url) == []
    assert [e for e in recorder.console_errors if "Content Security Policy" in e] == []


def test_grant_decide_explain_withdraw_and_fallback_th_con_03(page, recorder, shop):
    _sign_in(page, shop)
    assert page.locator("html").get_attribute("lang") == "th"
    switches = page.locator('button[role="switch"]')
    assert switches.count() >= 4
    assert {switches.nth(i).get_attribute("aria-checked") for i in range(switches.count())} == {
        "false"
    }, "TH-CON-01: every purpose is off until the customer turns it on"

    _say_adult(page, "recommendations")
    _switch(page, "recommendations").click()
    page.wait_for_selector('[data-testid="switch-recommendations"][aria-checked="true"]')
    assert _decide(shop)["personalized"] is True

    page.get_by_role("link", name="ทำไมฉันเห็นสิ่งนี้").click()
    page.wait_for_url("**/privacy/why")
    newest = page.locator("article.decision").first
    assert newest.locator("[data-personalized]").get_attribute("data-personalized") == "true"
    assert "แนะนำสินค้าที่เหมาะกับคุณ" in newest.inner_text()
    newest.locator('[data-testid="turn-off-recommendations"]').click()
    page.wait_for_selector("text=ปิดอยู่")

    fallback = _decide(shop)
    assert fallback["personalized"] is False
    page.reload()
    newest = page.locator("article.decision").first
    assert newest.locator("[data-personalized]").get_attribute("data-personalized") == "false"
    page.get_by_role("link", name="ความยินยอมของฉัน").click()
    assert _switch(page, "recommendations").get_attribute("aria-checked") == "false"
    _assert_local_only(page, recorder, shop)


def test_pages_are_thai_with_buddhist_era_then_english_th_con_05(page, recorder, shop):
    _sign_in(page, shop)
    _switch(page, "analytics").click()
    page.wait_for_selector('[data-testid="switch-analytics"][aria-checked="true"]')
    page.reload()
    year = datetime.now(UTC).year
    history = page.locator("#history-heading").locator("xpath=..").inner_text()
    assert str(year + 543) in history, "TH-CON-05: Thai readers get Buddhist Era dates"
    assert page.get_by_role("heading", name="ความยินยอมของฉัน").is_visible()

    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="My consents").is_visible()
    history = page.locator("#history-heading").locator("xpath=..").inner_text()
    assert str(year) in history
    assert str(year + 543) not in history
    page.get_by_role("link", name="My data").click()  # the choice is remembered
    assert page.get_by_role("heading", name="My data").is_visible()
    assert "somchai.jaidee@example.com" in page.content()
    _assert_local_only(page, recorder, shop)


def test_consent_switch_works_without_javascript(browser, shop, recorder):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.on("request", lambda r: recorder.urls.append(r.url))
    try:
        _sign_in(page, shop)
        before = _switch(page, "email_marketing").get_attribute("aria-checked")
        _say_adult(page, "email_marketing")
        _switch(page, "email_marketing").click()
        page.wait_for_url("**/privacy/consents**")
        after = _switch(page, "email_marketing").get_attribute("aria-checked")
        assert (before, after) == ("false", "true")
        _switch(page, "email_marketing").click()  # withdrawing: the same one step
        page.wait_for_url("**/privacy/consents**")
        assert _switch(page, "email_marketing").get_attribute("aria-checked") == "false"
    finally:
        context.close()
    assert recorder.foreign(shop["server"].url) == []


def test_a_wrong_code_does_not_sign_in(page, shop):
    server = shop["server"]
    page.goto(f"{server.url}/privacy/")
    page.get_by_label("รหัสลูกค้าหรืออีเมล").fill(seeding.SIGNED_IN_EMAIL)
    page.get_by_role("button", name="ส่งรหัส").click()
    page.wait_for_url("**/privacy/sign-in/code")
    page.get_by_label("รหัส 6 หลัก").fill("000000")
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    assert page.get_by_role("alert").is_visible()
    page.goto(f"{server.url}/privacy/consents")
    assert page.url.endswith("/privacy/")
