"""Web security: signed cookie sessions, CSRF tokens and security headers (TH-SEC-01).

A session is a small JSON payload (``data``, ``csrf``, ``exp``) in one cookie, signed with
HMAC-SHA256 under a key derived from the keyring's master key, so it cannot be forged or extended.
It never holds personal data: a signed-in browser keeps only the id of its server-side session
record (``web.signin``), which sign-out and the timeouts end.

Every unsafe request (POST, PUT, PATCH, DELETE) to a web router must carry the session's CSRF token,
either as the ``csrf_token`` form field (plain forms) or the ``X-CSRF-Token`` header (htmx sends it
through ``hx-headers`` on ``<body>``). ``WebMiddleware`` loads the session, writes it back when it
changed and adds the Content-Security-Policy and friends to every web response.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Annotated, Any, TypeGuard

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rujai.errors import Forbidden, Unauthorized
from rujai.kit.crypto import Keyring

SESSION_COOKIE = "rujai_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATIC_PREFIX = "/static/"
WEB_PREFIXES: tuple[str, ...] = ("/privacy", "/console", "/static")
DEFAULT_TTL_MINUTES = 30
DEFAULT_MAX_HOURS = 8

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
_STATE_KEY = "web_session"


class SignInRequired(Unauthorized):
    """Nobody is signed in: a page redirects to ``sign_in_url`` instead of showing an error."""

    def __init__(self, message: str, *, sign_in_url: str) -> None:
        super().__init__(message, field="session")
        self.sign_in_url = sign_in_url


@dataclass
class CookieSettings:
    """How session cookies are issued; read from ``settings.web`` when the app has it."""

    secure: bool = False
    ttl_minutes: int = DEFAULT_TTL_MINUTES  # also the idle timeout of a sign-in
    same_site: str = "lax"
    max_hours: int = DEFAULT_MAX_HOURS  # the absolute timeout of a sign-in


@dataclass
class WebSession:
    """One browser session: string data, its CSRF token and its expiry (Unix seconds)."""

    csrf: str
    expires_at: int
    data: dict[str, str] = field(default_factory=dict)
    dirty: bool = False

    def get(self, key: str) -> str | None:
        """Return the value stored under ``key``, if any."""
        return self.data.get(key)


def session_key(keyring: Keyring) -> bytes:
    """Derive the session-signing key from the master key (HKDF, its own label)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"rujai/web-session/v1")
    return hkdf.derive(keyring.master)


def encode_session(key: bytes, session: WebSession) -> str:
    """Serialise and sign ``session`` as a cookie value."""
    payload = {"csrf": session.csrf, "data": session.data, "exp": session.expires_at}
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{body}.{_mac(key, body)}"


def decode_session(key: bytes, value: str, *, now: float) -> WebSession | None:
    """Return the session in a cookie value, or None if it is forged, malformed or expired."""
    body, _, mac = value.partition(".")
    if not body or not hmac.compare_digest(_mac(key, body), mac):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict) or int(payload.get("exp", 0)) <= now:
        return None
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(payload.get("csrf"), str):
        return None
    return WebSession(
        csrf=payload["csrf"],
        expires_at=int(payload["exp"]),
        data={str(k): str(v) for k, v in data.items()},
    )


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_session(ttl_minutes: int, *, now: float) -> WebSession:
    """Return a fresh anonymous session with a new CSRF token."""
    return WebSession(
        csrf=secrets.token_urlsafe(32), expires_at=int(now) + ttl_minutes * 60, dirty=True
    )


def cookie_settings(settings: Any) -> CookieSettings:
    """Read cookie settings from ``settings.web`` (if the app has that group), safe defaults."""
    web = getattr(settings, "web", None)
    return CookieSettings(
        secure=bool(getattr(web, "cookie_secure", False)),
        ttl_minutes=int(getattr(web, "session_ttl_minutes", DEFAULT_TTL_MINUTES)),
        max_hours=int(getattr(web, "session_max_hours", DEFAULT_MAX_HOURS)),
    )


def web_cookie_settings(request: Request) -> CookieSettings:
    """Return the cookie settings ``mount_web`` stored on the app."""
    cookies = getattr(request.app.state, "web_cookies", None)
    return cookies if isinstance(cookies, CookieSettings) else CookieSettings()


def get_web_session(request: Request) -> WebSession:
    """Return the request's session (loaded by ``WebMiddleware``)."""
    session = request.scope.get("state", {}).get(_STATE_KEY)
    if not isinstance(session, WebSession):
        raise Forbidden("no web session; is WebMiddleware installed?", field="session")
    return session


WebSessionDep = Annotated[WebSession, Depends(get_web_session)]


def start_session(request: Request, data: dict[str, str]) -> WebSession:
    """Sign in: replace the session with a new one (new CSRF token, new expiry) holding ``data``."""
    ttl = web_cookie_settings(request).ttl_minutes
    session = new_session(ttl, now=time.time())
    session.data = dict(data)
    request.scope.setdefault("state", {})[_STATE_KEY] = session
    return session


def end_session(request: Request) -> WebSession:
    """Sign out: drop everything in the session and issue a new CSRF token."""
    return start_session(request, {})


def csrf_token(request: Request) -> str:
    """Return the CSRF token to embed in this page's forms and ``hx-headers``."""
    return get_web_session(request).csrf


async def require_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token does not match the session's (403)."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = get_web_session(request).csrf
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden("CSRF token missing or invalid; reload the page", field=CSRF_FIELD)


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def is_web_path(path: str) -> bool:
    """Return True for paths served by the web UI (not the JSON API)."""
    return any(path == p or path.startswith(p + "/") for p in WEB_PREFIXES)


class WebMiddleware:
    """Load the signed session for web paths, write it back when changed, add security headers."""

    def __init__(self, app: ASGIApp, keyring: Keyring, cookies: CookieSettings) -> None:
        self.app = app
        self.key = session_key(keyring)
        self.cookies = cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        settings = self.cookies
        loaded = self._load(scope, settings)
        scope.setdefault("state", {})[_STATE_KEY] = loaded
        writes_cookie = not scope["path"].startswith(STATIC_PREFIX)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                current = scope["state"].get(_STATE_KEY)
                if writes_cookie and _changed(current, loaded):
                    headers.append("set-cookie", self._cookie(current, settings))
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _load(self, scope: Scope, settings: CookieSettings) -> WebSession:
        now = time.time()
        raw = _read_cookie(scope, SESSION_COOKIE)
        session = decode_session(self.key, raw, now=now) if raw else None
        if session is None:
            return new_session(settings.ttl_minutes, now=now)
        if session.expires_at - now < settings.ttl_minutes * 30:
            # Sliding expiry: renew once half of the time has passed.
            session.expires_at = int(now) + settings.ttl_minutes * 60
            session.dirty = True
        return session

    def _cookie(self, session: WebSession, settings: CookieSettings) -> str:
        cookie: SimpleCookie = SimpleCookie()
        cookie[SESSION_COOKIE] = encode_session(self.key, session)
        morsel = cookie[SESSION_COOKIE]
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = settings.same_site.capitalize()
        morsel["max-age"] = str(settings.ttl_minutes * 60)
        if settings.secure:
            morsel["secure"] = True
        return morsel.OutputString()


def _changed(current: object, loaded: WebSession) -> TypeGuard[WebSession]:
    """True when the session must be written back: new, renewed, or replaced by sign-in/out."""
    return isinstance(current, WebSession) and (current.dirty or current is not loaded)


def _read_cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(value.decode("latin-1"))
            if name in jar:
                return jar[name].value
    return None
