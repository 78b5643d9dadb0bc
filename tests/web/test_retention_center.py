"""The privacy center's data page shows how long each category is kept for the subject
(TH-RET-01), Thai first with Buddhist Era dates, and a withdrawal shortens it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from rujai.consent import service as consent_service
from rujai.consent.schemas import ConsentCreate
from rujai.web.i18n import format_date
from rujai.writer import session_scope
from tests.web import seeding


def _consent(factory, keyring, policy, action):
    change = ConsentCreate(
        purpose="recommendations", action=action, language="th", channel="web",
        notice_version=policy.purposes["recommendations"].notice.version,
        age_band="adult" if action == "grant" else None,  # profiling asks the age (TH-MIN-01)
    )  # fmt: skip
    with session_scope(factory) as s:
        consent_service.record(
            s, keyring=keyring, policy=policy, customer_id=seeding.SIGNED_IN, change=change,
            now=datetime.now(UTC), evidence_ip=None, evidence_user_agent=None,
        )  # fmt: skip


def _row(html: str, title: str) -> str:
    found = re.search(rf"<dt>{re.escape(title)}</dt>\s*<dd>([^<]*)</dd>", html)
    assert found, title
    return found.group(1)


def test_data_page_shows_the_effective_retention_and_a_withdrawal_shortens_it(
    signed_in, factory, keyring, policy
):
    """TH-RET-01: browsing kept 365 days for recommendations while granted; none after."""
    _consent(factory, keyring, policy, "grant")
    page = signed_in.get("/privacy/data")
    assert page.status_code == 200
    assert "เราเก็บข้อมูลของคุณนานเท่าใด" in page.text
    browsing = policy.categories["browsing"].title.get("th")
    assert "365 วัน" in _row(page.text, browsing)
    purge_after = format_date(datetime.now(UTC) + timedelta(days=365), "th")  # B.E. year
    assert purge_after in page.text
    assert str(datetime.now(UTC).year + 1 + 543) in purge_after
    _consent(factory, keyring, policy, "withdraw")
    after = signed_in.get("/privacy/data")
    assert "จะถูกลบในรอบการลบถัดไป" in _row(after.text, browsing)
    english = signed_in.get("/privacy/data?lang=en")
    assert "How long we keep your data" in english.text
