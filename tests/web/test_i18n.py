"""Thai first with Buddhist Era dates, English on request (TH-CON-05)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rujai.web.i18n import format_date, format_datetime, translate


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (date(2026, 11, 29), "th", "29 พฤศจิกายน 2569"),
        (date(2026, 11, 29), "en", "29 November 2026"),
        (date(2025, 1, 1), "th", "1 มกราคม 2568"),
        # 20:00 UTC on 31 December is already 1 January in Bangkok (UTC+7).
        (datetime(2025, 12, 31, 20, 0, tzinfo=UTC), "th", "1 มกราคม 2569"),
        (datetime(2025, 12, 31, 20, 0, tzinfo=UTC), "en", "1 January 2026"),
    ],
)
def test_format_date_uses_the_buddhist_era_in_thai(value, lang, expected):
    assert format_date(value, lang) == expected


def test_format_datetime_shows_bangkok_time():
    moment = datetime(2026, 3, 1, 2, 5, tzinfo=UTC)
    assert format_datetime(moment, "th") == "1 มีนาคม 2569 09:05 น."
    assert format_datetime(moment, "en") == "1 March 2026 09:05"


def test_translate_falls_back_to_english_then_the_key():
    assert translate("pc.nav.consents", "th") == "ความยินยอมของฉัน"
    assert translate("pc.nav.consents", "en") == "My consents"
    assert translate("pc.nav.consents", "fr") == "My consents"
    assert translate("no.such.key", "th") == "no.such.key"
    assert translate("pc.data.activity_count", "en", count=3) == "3 times"


def test_pages_are_thai_by_default_and_english_on_request(web_client):
    thai = web_client.get("/privacy/")
    assert '<html lang="th">' in thai.text
    assert "เข้าสู่ศูนย์ความเป็นส่วนตัว" in thai.text
    english = web_client.get("/privacy/?lang=en")
    assert '<html lang="en">' in english.text
    assert "Sign in to the privacy center" in english.text
    assert "rujai_lang=en" in english.headers["set-cookie"]
    remembered = web_client.get("/privacy/")
    assert '<html lang="en">' in remembered.text
    assert 'href="/privacy/?lang=th"' in remembered.text


def test_every_page_shows_the_dpo_contact_and_the_notice_th_dpo_01(web_client, policy):
    page = web_client.get("/privacy/").text
    assert policy.controller.dpo.email in page
    assert "/v1/notice?lang=th&amp;format=html" in page
