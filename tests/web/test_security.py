"""Sessions, CSRF and security headers of the web UI (TH-SEC-01), without a browser."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from rujai.kit.crypto import Keyring
from rujai.web.security import (
    CONTENT_SECURITY_POLICY,
    SESSION_COOKIE,
    CookieSettings,
    WebMiddleware,
    WebSession,
    cookie_settings,
    decode_session,
    encode_session,
    session_key,
)
from tests.web.conftest import csrf_of

KEY = session_key(Keyring(bytes(range(32))))


def test_post_without_csrf_token_is_refused_with_403(web_client):
    web_client.get("/privacy/")
    response = web_client.post("/privacy/sign-in", data={"identifier": "C-100"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "csrf_token" in response.text


def test_post_with_another_sessions_token_is_refused(web_client):
    stolen = csrf_of(web_client.get("/privacy/").text)
    web_client.cookies.clear()
    response = web_client.post(
        "/privacy/sign-in", data={"identifier": "C-100", "csrf_token": stolen}
    )
    assert response.status_code == 403


def test_htmx_sends_the_token_in_a_header(web_client):
    page = web_client.get("/privacy/").text
    token = csrf_of(page)
    assert f'"X-CSRF-Token": "{token}"' in page  # hx-headers on <body>
    response = web_client.post(
        "/privacy/sign-in",
        data={"identifier": "nobody@example.com"},
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_pages_carry_the_content_security_policy_and_friends(web_client):
    response = web_client.get("/privacy/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert web_client.get("/static/rujai.css").headers["x-content-type-options"] == "nosniff"


def test_pages_have_no_inline_script_or_style(web_client):
    page = web_client.get("/privacy/").text
    assert "<style" not in page
    assert "style=" not in page
    assert page.count("<script") == 1
    assert 'src="/static/htmx.min.js"' in page


def test_session_cookie_is_httponly_and_samesite(web_client):
    response = web_client.get("/privacy/")
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # web.cookie_secure defaults to False (http on loopback)


def test_session_cookie_is_secure_when_configured():
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/privacy/", hello)])
    app.add_middleware(
        WebMiddleware, keyring=Keyring(bytes(range(32))), cookies=CookieSettings(secure=True)
    )
    with TestClient(app) as client:
        cookie = client.get("/privacy/").headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_cookie_settings_come_from_the_web_settings_group():
    class Web:
        cookie_secure = True
        session_ttl_minutes = 5

    class Settings:
        web = Web()

    assert cookie_settings(Settings()) == CookieSettings(secure=True, ttl_minutes=5)
    assert cookie_settings(object()) == CookieSettings(secure=False, ttl_minutes=30)


def test_a_tampered_session_is_ignored():
    session = WebSession(csrf="t", expires_at=int(time.time()) + 60, data={"subject": "x"})
    value = encode_session(KEY, session)
    assert decode_session(KEY, value, now=time.time()) == session
    body, mac = value.split(".")
    forged = encode_session(KEY, WebSession(csrf="t", expires_at=session.expires_at)).split(".")[0]
    assert decode_session(KEY, f"{forged}.{mac}", now=time.time()) is None
    assert decode_session(KEY, f"{body}.{mac[:-2]}AA", now=time.time()) is None
    assert decode_session(KEY, "garbage", now=time.time()) is None


def test_an_expired_session_is_ignored():
    session = WebSession(csrf="t", expires_at=int(time.time()) + 60)
    value = encode_session(KEY, session)
    assert decode_session(KEY, value, now=time.time() + 61) is None


def test_a_session_signed_with_another_key_is_ignored():
    other = session_key(Keyring(bytes(32)))
    value = encode_session(other, WebSession(csrf="t", expires_at=int(time.time()) + 60))
    assert decode_session(KEY, value, now=time.time()) is None


def test_api_errors_stay_problem_json_and_the_notice_keeps_its_styles(web_client):
    response = web_client.get("/v1/no-such-thing")
    assert response.headers["content-type"] == "application/problem+json"
    notice = web_client.get("/v1/notice?lang=th&format=html")
    assert "content-security-policy" not in notice.headers  # its inline CSS must still apply


def test_unknown_web_page_renders_the_html_error(web_client):
    response = web_client.get("/privacy/no-such-page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#flash"
    assert 'role="alert"' in response.text
    assert "<html" not in response.text
