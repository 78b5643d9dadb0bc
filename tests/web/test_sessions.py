"""Sessions that end (issue 12): a server-side record behind every sign-in.

Sign-out ends it at once: replaying the cookie saved before signing out is sent to sign-in, in
the privacy center and in the console. A staff member's password change, role change and removal
end their sessions at once; idle and absolute timeouts end them on the server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from rujai.kit.time import utcnow
from rujai.sessions import service as sessions_service
from rujai.staff import service as staff
from rujai.web import signin
from rujai.writer import session_scope
from tests.web import seeding
from tests.web.conftest import csrf_of, sign_in as privacy_sign_in
from tests.web.test_console import post, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

COOKIE = "rujai_session"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
IDLE, ABSOLUTE = timedelta(minutes=30), timedelta(hours=8)


def _replay(client, cookie: str, path: str):
    """A request carrying only the saved cookie (an attacker's copy of it)."""
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    return client.get(path, follow_redirects=False)


def test_signing_out_of_the_privacy_center_ends_the_session_and_a_replayed_cookie_is_refused(
    signed_in,
):
    saved = signed_in.cookies[COOKIE]
    assert _replay(signed_in, saved, "/privacy/consents").status_code == 200
    token = csrf_of(signed_in.get("/privacy/consents").text)
    out = signed_in.post("/privacy/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    replayed = _replay(signed_in, saved, "/privacy/consents")
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/privacy/")
    htmx = signed_in.get("/privacy/why", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, "/privacy/")


def test_signing_out_of_the_console_ends_the_session_and_a_replayed_cookie_is_refused(
    web_client, team
):
    assert sign_in(web_client, "admin").status_code == 303
    saved = web_client.cookies[COOKIE]
    assert web_client.get("/console/").status_code == 200
    assert post(web_client, "/console/logout", htmx=False).status_code == 303
    replayed = _replay(web_client, saved, "/console/audit")
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/console/login?next=%2Fconsole%2Faudit"


def test_signing_in_again_ends_the_previous_session_of_the_browser(web_client, team):
    sign_in(web_client, "dpo")
    first = web_client.cookies[COOKIE]
    sign_in(web_client, "admin")
    assert _replay(web_client, first, "/console/").status_code == 303


@pytest.mark.parametrize(
    "change",
    [
        lambda s: staff.set_password(
            s,
            username="dpo",
            change=staff.PasswordChange(password=SecretStr("a-new-pass-0001")),
            now=utcnow(),
            actor="test",
        ),
        lambda s: staff.set_role(s, username="dpo", role="marketer", now=utcnow(), actor="test"),
        lambda s: staff.remove(s, username="dpo", now=utcnow(), actor="test"),
    ],
    ids=["password", "role", "removal"],
)
def test_a_staff_change_ends_every_console_session_of_that_person_at_once(
    web_client, team, factory, change
):
    sign_in(web_client, "dpo")
    saved = web_client.cookies[COOKIE]
    assert web_client.get("/console/").status_code == 200
    with session_scope(factory) as s:
        change(s)
    assert _replay(web_client, saved, "/console/").status_code == 303


def test_a_staff_change_leaves_other_peoples_sessions_alone(web_client, team, factory):
    sign_in(web_client, "admin")
    with session_scope(factory) as s:
        staff.set_role(s, username="dpo", role="marketer", now=utcnow(), actor="test")
    assert web_client.get("/console/").status_code == 200


def test_an_idle_session_ends_on_the_server(signed_in, monkeypatch):
    later = utcnow() + timedelta(minutes=31)  # RUJAI_WEB__SESSION_TTL_MINUTES is 30
    monkeypatch.setattr(signin, "utcnow", lambda: later)
    assert signed_in.get("/privacy/consents", follow_redirects=False).status_code == 303


def _record(factory, **who) -> uuid.UUID:
    with session_scope(factory) as s:
        return sessions_service.start(s, now=NOW, **who)


def _active(factory, session_id: uuid.UUID, now: datetime):
    with session_scope(factory) as s:
        return sessions_service.find_active(
            s, session_id=session_id, now=now, idle=IDLE, absolute=ABSOLUTE
        )


def test_activity_keeps_a_session_alive_until_its_absolute_timeout(factory, customer):
    session_id = _record(factory, kind="subject", subject_id=customer.id)
    now = NOW
    while now - NOW < ABSOLUTE - IDLE:  # a request every 20 minutes: never idle
        now += timedelta(minutes=20)
        assert _active(factory, session_id, now) is not None
    assert _active(factory, session_id, NOW + ABSOLUTE) is None


def test_without_activity_a_session_ends_after_the_idle_timeout(factory, customer):
    session_id = _record(factory, kind="subject", subject_id=customer.id)
    assert _active(factory, session_id, NOW + IDLE - timedelta(seconds=1)) is not None
    assert _active(factory, session_id, NOW + 2 * IDLE) is None


def test_an_erased_subjects_sessions_go_with_it(factory, customer):
    session_id = _record(factory, kind="subject", subject_id=customer.id)
    with session_scope(factory) as s:
        assert sessions_service.erase_subject(s, subject_id=customer.id) == 1
    assert _active(factory, session_id, NOW) is None


def test_a_session_names_exactly_one_kind_of_person(factory, customer):
    from rujai.errors import Invalid

    with pytest.raises(Invalid), session_scope(factory) as s:
        sessions_service.start(s, kind="staff", subject_id=customer.id, now=NOW)


def test_privacy_center_sign_in_after_sign_out_works_again(signed_in, factory, keyring):
    token = csrf_of(signed_in.get("/privacy/consents").text)
    signed_in.post("/privacy/sign-out", data={"csrf_token": token})
    privacy_sign_in(signed_in, factory, keyring, seeding.SIGNED_IN)
    assert signed_in.get("/privacy/consents").status_code == 200


def test_erasure_ends_the_subjects_privacy_center_sessions(signed_in, factory, keyring, policy):
    from rujai.rights import erasure

    saved = signed_in.cookies[COOKIE]
    with session_scope(factory) as s:
        _, report = erasure.erase_customer(
            s, keyring=keyring, policy=policy, customer_id=seeding.SIGNED_IN, now=utcnow(),
            actor="test",
        )  # fmt: skip
    assert report.is_complete
    assert _replay(signed_in, saved, "/privacy/consents").status_code == 303


def test_staff_cli_changes_a_password_and_a_role_and_removes_an_account(
    db_url, web_client, team, factory, monkeypatch
):
    from typer.testing import CliRunner

    from rujai.cli.staff import app as staff_cli
    from rujai.config import get_settings

    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    sign_in(web_client, "dpo")
    saved = web_client.cookies[COOKIE]
    changed = runner.invoke(
        staff_cli, ["set-password", "--username", "dpo", "--password-stdin"],
        input="another-long-password\n",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert _replay(web_client, saved, "/console/").status_code == 303
    short = runner.invoke(
        staff_cli, ["set-password", "--username", "dpo", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1
    role = runner.invoke(staff_cli, ["set-role", "--username", "dpo", "--role", "marketer"])
    assert role.exit_code == 0, role.output
    assert runner.invoke(staff_cli, ["set-role", "--username", "dpo", "--role", "x"]).exit_code == 1
    removed = runner.invoke(staff_cli, ["remove", "--username", "dpo"])
    assert removed.exit_code == 0, removed.output
    assert runner.invoke(staff_cli, ["remove", "--username", "dpo"]).exit_code == 1
    with session_scope(factory) as s:
        assert "dpo" not in {u.username for u in staff.list_staff(s)}
    get_settings.cache_clear()
