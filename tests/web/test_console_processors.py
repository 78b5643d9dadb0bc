"""The console's processor outbox page: per recipient, by status, Thai first (TH-PRC-01).

Read-only for the DPO (TH-DPO-01); a marketer may not open it. Real SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from rujai.disclosures import outbox
from rujai.writer import session_scope
from tests.disclosures.factories import make_disclosure
from tests.factories import make_subject
from tests.web.conftest import PASSWORDS

pytestmark = pytest.mark.usefixtures("cheap_hashing")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NOW = datetime.now(UTC).replace(microsecond=0)


def _sign_in(client, username: str) -> None:
    token = CSRF.search(client.get("/console/login").text).group(1)
    data = {"username": username, "password": PASSWORDS[username], "csrf_token": token}
    assert client.post("/console/login", data=data, follow_redirects=False).status_code == 303


def _queue(factory, keyring) -> None:
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, "C-CONSOLE-PRC", now=NOW).id
        make_disclosure(
            s, keyring, subject_id=sid, recipient="swift_delivery", purpose="order_fulfilment"
        )
        old, young = (
            outbox.enqueue(s, subject_id=sid, kind="restrict", now=NOW - timedelta(days=30))[0],
            outbox.enqueue(s, subject_id=sid, kind="erase", now=NOW)[0],
        )
        outbox.acknowledge(
            s,
            notice_id=young,
            reference="SW-88",
            recipients=None,
            actor="test",
            now=NOW,
            overdue_days=14,
        )
        assert old


def test_the_dpo_sees_each_recipient_by_status_in_thai(web_client, team, factory, keyring):
    _queue(factory, keyring)
    _sign_in(web_client, "dpo")
    page = web_client.get("/console/processors")
    assert page.status_code == 200
    html = page.text
    assert "การแจ้งผู้ประมวลผลข้อมูล" in html
    assert "Siam Swift Delivery Co., Ltd." in html
    assert 'data-status="overdue">เกินกำหนด: 1' in html
    assert 'data-status="acknowledged">ตอบรับแล้ว: 1' in html
    assert "SW-88" in html
    assert str(NOW.year + 543) in html  # Buddhist Era for Thai readers
    assert 'action="/console/processors' not in html  # read-only: no form to acknowledge


def test_the_page_is_in_english_on_request(web_client, team, factory, keyring):
    _queue(factory, keyring)
    _sign_in(web_client, "dpo")
    html = web_client.get("/console/processors", params={"lang": "en"}).text
    assert "Processor notices" in html
    assert 'data-status="overdue">Overdue: 1' in html


def test_the_processors_contact_from_the_policy_is_shown(settings, team, factory, keyring):
    from fastapi.testclient import TestClient

    from rujai.policy.schemas import RecipientNotify
    from tests.web import live

    app = live.web_app(settings)
    swift = app.state.policy.recipients["swift_delivery"]
    notify = RecipientNotify(email="dpa@swift-delivery.example.com")
    recipients = {
        **app.state.policy.recipients,
        "swift_delivery": swift.model_copy(update={"notify": notify}),
    }
    app.state.policy = app.state.policy.model_copy(update={"recipients": recipients})
    with TestClient(app, base_url="http://127.0.0.1") as client:
        _sign_in(client, "dpo")
        html = client.get("/console/processors").text
    assert 'href="mailto:dpa@swift-delivery.example.com"' in html


def test_a_marketer_may_not_open_it(web_client, team):
    _sign_in(web_client, "marketer")
    assert web_client.get("/console/processors").status_code == 403
