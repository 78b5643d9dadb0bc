"""Take the documentation screenshot of the staff console's dashboard (not a test).

Starts the real server on 127.0.0.1 with a temporary SQLite database, prepares the demo brand as
``rujai demo`` does (a smaller number of customers), then plays 30 days of traffic so that every
chart has something to show: ``app_offer`` decisions with offers shown and some converted (a
larger holdout than the default, so the lift has a readable interval), and privacy requests,
some of them overdue. Signs in as the demo admin and saves the Thai dashboard:

    .venv/bin/python scripts/console_screenshot.py    # writes docs/console-dashboard.png

Needs Chromium at /usr/bin/chromium (Playwright's own browser download is not used).
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from rujai.config import PersonalizeSettings  # noqa: E402
from rujai.db import session_scope  # noqa: E402
from rujai.demo import names, setup as demo_setup  # noqa: E402
from rujai.personalize import decide, offers  # noqa: E402
from rujai.personalize.decision_schemas import DecideCreate  # noqa: E402
from rujai.rights import intake  # noqa: E402
from rujai.rights.schemas import RequestCreate  # noqa: E402
from rujai.web import staff  # noqa: E402
from tests.web import live  # noqa: E402

OUT = ROOT / "docs" / "console-dashboard.png"
CUSTOMERS = 300
DAYS = 30
DECISIONS_PER_DAY = 40
DESKTOP = {"width": 1100, "height": 900}
TRAFFIC = PersonalizeSettings(holdout_share=0.2)


def play_traffic(server: live.Live, now: datetime) -> None:
    """Thirty days of offer decisions and outcomes, and a few privacy requests."""
    rng = random.Random(7)  # noqa: S311 - simulated traffic, not security
    with session_scope(server.factory) as s:
        for day in range(DAYS, -1, -1):
            for _ in range(DECISIONS_PER_DAY):
                at = now - timedelta(days=day, minutes=rng.randrange(600))
                body = DecideCreate(
                    customer_id=names.customer_id(rng.randrange(1, CUSTOMERS + 1)),
                    placement="app_offer",
                )
                made = decide.decide(
                    s, policy=server.policy, keyring=server.keyring, settings=TRAFFIC,
                    body=body, now=at, actor="demo",
                )  # fmt: skip
                s.flush()
                if made.offers:
                    rate = 0.12 if made.personalized else 0.07
                    kind = "converted" if rng.random() < rate else "shown"
                    offers.record_outcome(s, decision_id=made.id, kind=kind, now=at)
        for n, days_ago in enumerate((41, 35, 26, 24, 12, 5, 2, 1)):
            request = RequestCreate(
                kind=("erasure", "access", "portability")[n % 3],
                channel="privacy_center",
                customer_id=names.customer_id(n + 1),
            )
            intake.submit(
                s, keyring=server.keyring, policy=server.policy, body=request,
                now=now - timedelta(days=days_ago), actor="subject", staff=False,
            )  # fmt: skip


def say(line: str) -> None:
    """Print a progress line of the demo preparation."""
    sys.stdout.write(f"demo: {line}\n")


def main() -> int:
    """Write the screenshot; return the process exit code."""
    reason = live.chromium_missing_reason()
    if reason is not None:
        sys.stderr.write(reason + "\n")
        return 1
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp, live.live_server(Path(tmp) / "rujai.db") as server:
        demo_setup.prepare(
            server.factory, keyring=server.keyring, policy=server.policy, customers=CUSTOMERS,
            now=now, say=say,
        )  # fmt: skip
        with session_scope(server.factory) as s:
            logins = staff.ensure_demo_staff(s, now=now)
        play_traffic(server, now)
        username, _role, password = next(login for login in logins if login[1] == "admin")
        with sync_playwright() as playwright:
            browser = live.launch(playwright)
            page = browser.new_context(viewport=DESKTOP, device_scale_factor=1).new_page()
            page.goto(f"{server.url}/console/login?lang=th")
            page.locator("#username").fill(username)
            page.locator("#password").fill(password)
            page.locator("#login-form button[type=submit]").click()
            page.wait_for_url("**/console/")
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
    sys.stdout.write(f"wrote {OUT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
