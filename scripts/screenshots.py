"""Take the documentation screenshots of the privacy center (not a test).

Starts the real server on 127.0.0.1 with a temporary SQLite database, seeds the small fictional
shop of the web tests, signs in as a seeded customer with a code from the outbox, turns two
purposes on and saves the Thai consents page at mobile width:

    .venv/bin/python scripts/screenshots.py      # writes docs/privacy-center-th-mobile.png

Needs Chromium at /usr/bin/chromium (Playwright's own browser download is not used).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.web import live, seeding  # noqa: E402

OUT = ROOT / "docs" / "privacy-center-th-mobile.png"
MOBILE = {"width": 390, "height": 844}


def main() -> int:
    """Write the screenshot; return the process exit code."""
    reason = live.chromium_missing_reason()
    if reason is not None:
        sys.stderr.write(reason + "\n")
        return 1
    with tempfile.TemporaryDirectory() as tmp, live.live_server(Path(tmp) / "rujai.db") as server:
        seeding.seed_shop(server.factory, keyring=server.keyring, policy=server.policy)
        with sync_playwright() as playwright:
            browser = live.launch(playwright)
            page = browser.new_context(viewport=MOBILE, device_scale_factor=2).new_page()
            page.goto(f"{server.url}/privacy/?lang=th")
            page.get_by_label("รหัสลูกค้าหรืออีเมล").fill(seeding.SIGNED_IN)
            page.get_by_role("button", name="ส่งรหัส").click()
            page.wait_for_url("**/privacy/sign-in/code")
            code = seeding.latest_code(server.factory, keyring=server.keyring)
            page.get_by_label("รหัส 6 หลัก").fill(code)
            page.get_by_role("button", name="เข้าสู่ระบบ").click()
            page.wait_for_url("**/privacy/consents")
            for purpose in ("recommendations", "analytics"):
                page.locator(f'[data-testid="switch-{purpose}"]').click()
                page.wait_for_selector(f'[data-testid="switch-{purpose}"][aria-checked="true"]')
            page.goto(f"{server.url}/privacy/consents")
            page.screenshot(path=str(OUT))
            browser.close()
    sys.stdout.write(f"wrote {OUT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
