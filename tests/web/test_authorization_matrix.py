"""The authorization matrix (issue 12): every route of the app, API and web, answered for every
kind of caller, against ONE table of expected answers.

The routes come from the app's own route table, so a route added without a row in ``MATRIX`` fails
the build (``test_every_route_has_a_row``), and a row whose route no longer exists fails too. The
callers (``CALLERS``): nobody, a revoked key, a key of each single scope, a console session of each
staff role, and another subject's privacy-center session (path ids name subject A's objects; the
caller is subject B). Each request carries a valid CSRF token, so what is tested is who may call,
not the CSRF check. Bodies are left empty: a refused caller must be refused (401, 403, or sent to
sign-in) before any body is read; an allowed one gets anything but 401/403/sign-in (usually 422
for the missing body), and never a 5xx.

Answers: ``ALLOW`` (not 401/403/sign-in, not 5xx), ``E401``, ``E403``, ``SIGN_IN`` (a redirect to
the console's or the privacy center's sign-in page), ``E404`` (another subject's object).
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from rujai.apikeys import service as apikeys_service
from rujai.consent import history as consent_history
from rujai.kit.time import utcnow
from rujai.rights import intake
from rujai.rights.schemas import RequestCreate
from rujai.sessions import service as sessions_service
from rujai.staff import service as staff_service
from rujai.web.security import SESSION_COOKIE, WebSession, encode_session, session_key
from rujai.writer import session_scope
from tests.factories import make_consent, make_subject
from tests.web import live

pytestmark = pytest.mark.usefixtures("cheap_hashing")

ALLOW, E401, E403, E404, SIGN_IN = "allowed", "401", "403", "404", "sign-in"
KEYS = ("admin", "decide", "track", "consent", "dpo_key")
KEY_SCOPE = {key: key.removesuffix("_key") for key in KEYS}  # the caller "dpo_key" holds "dpo"
ROLES = ("marketer", "dpo", "staff_admin")
CALLERS = ("nobody", "revoked_key", *KEYS, *ROLES, "other_subject")


def everyone(answer: str) -> dict[str, str]:
    return dict.fromkeys(CALLERS, answer)


def api(scope: str) -> dict[str, str]:
    """An API route for keys with ``scope`` (``admin`` implies every scope)."""
    row = everyone(E401)
    row.update({key: ALLOW if KEY_SCOPE[key] in (scope, "admin") else E403 for key in KEYS})
    return row


def partner_only() -> dict[str, str]:
    """An API route for keys bound to a recipient (``partner:<id>``): no key of ``KEYS`` is one,
    admin included (tests/disclosures/test_router.py calls them with a partner key)."""
    row = everyone(E401)
    row.update(dict.fromkeys(KEYS, E403))
    return row


def console(*roles: str) -> dict[str, str]:
    """A console page for these staff roles; everyone else is sent to the console's sign-in."""
    row = everyone(SIGN_IN)
    row.update({role: ALLOW if role in roles else E403 for role in ROLES})
    return row


def privacy(*, others_object: bool = False) -> dict[str, str]:
    """A privacy-center page of the signed-in subject; ``others_object``: it names one of subject
    A's objects, which subject B's session must not find."""
    row = everyone(SIGN_IN)
    row["other_subject"] = E404 if others_object else ALLOW
    return row


PUBLIC = everyone(ALLOW)
ALL_STAFF = ("marketer", "dpo", "staff_admin")
MARKETING = ("marketer", "staff_admin")
DPO = ("dpo", "staff_admin")

# THE table: (method, path as the route declares it) -> the expected answer for each caller.
MATRIX: dict[tuple[str, str], dict[str, str]] = {
    # framework and health
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    # policy
    ("GET", "/v1/purposes"): PUBLIC,
    ("GET", "/v1/notice"): PUBLIC,
    ("POST", "/v1/check"): api("decide"),
    # consent
    ("GET", "/v1/subjects/{customer_id}/consents"): api("consent"),
    ("POST", "/v1/subjects/{customer_id}/consents"): api("consent"),
    ("GET", "/v1/consents"): api("consent"),
    ("POST", "/v1/consents"): api("consent"),
    # audit
    ("GET", "/v1/audit"): api("admin"),
    ("GET", "/v1/audit/verify"): api("admin"),
    # events
    ("POST", "/v1/track"): api("track"),
    ("POST", "/v1/batch"): api("track"),
    ("GET", "/v1/events/drops"): api("admin"),
    # profiles
    ("POST", "/v1/identify"): api("track"),
    ("POST", "/v1/admin/merges/{merge_id}/undo"): api("admin"),
    ("GET", "/v1/admin/merges"): api("admin"),
    ("POST", "/v1/subjects/{customer_id}/identities/verified"): api("admin"),
    ("POST", "/v1/identities/verified"): api("admin"),
    # catalog
    ("GET", "/v1/items"): api("decide"),
    ("GET", "/v1/items/{item_id}"): api("decide"),
    ("POST", "/v1/items"): api("admin"),
    ("PATCH", "/v1/items/{item_id}"): api("admin"),
    # personalize
    ("POST", "/v1/decide"): api("decide"),
    ("GET", "/v1/offers"): api("decide"),
    ("GET", "/v1/offers/{offer_id}"): api("decide"),
    ("POST", "/v1/offers"): api("admin"),
    ("PATCH", "/v1/offers/{offer_id}"): api("admin"),
    ("DELETE", "/v1/offers/{offer_id}"): api("admin"),
    ("POST", "/v1/decisions/{decision_id}/outcome"): api("decide"),
    # rights
    ("POST", "/v1/requests"): api("consent"),
    ("GET", "/v1/requests"): api("admin"),
    ("GET", "/v1/requests/{request_id}"): api("consent"),
    ("POST", "/v1/requests/{request_id}/verification"): api("consent"),
    ("POST", "/v1/requests/{request_id}/verification/confirm"): api("consent"),
    ("POST", "/v1/requests/{request_id}/process"): api("admin"),
    ("POST", "/v1/requests/{request_id}/refuse"): api("admin"),
    ("POST", "/v1/requests/{request_id}/extend"): api("admin"),
    ("POST", "/v1/requests/{request_id}/compelling-grounds"): api("admin"),
    ("GET", "/v1/requests/{request_id}/export"): api("consent"),
    # disclosures: the processor outbox (TH-PRC-01); a processor's own key acks too (a
    # processor:<recipient> scope, tested in tests/disclosures/test_outbox_router.py); the DPO
    # reads it in the console and cannot ack (no key: 401)
    ("GET", "/v1/processor-notices"): api("admin"),
    ("POST", "/v1/processor-notices/{notice_id}/ack"): api("admin"),
    # disclosures (TH-USE-01): admin exports and the DPO's log; partner keys read what they got
    ("POST", "/v1/disclosures/exports"): api("admin"),
    ("GET", "/v1/disclosures"): api("admin"),
    ("GET", "/v1/partner/subjects/{subject_ref}"): partner_only(),
    ("GET", "/v1/partner/audiences/{batch_id}"): partner_only(),
    # incidents: the DPO's key reads, admin writes (TH-BRE-01, TH-DPO-01)
    ("POST", "/v1/incidents"): api("admin"),
    ("GET", "/v1/incidents"): api("dpo"),
    ("GET", "/v1/incidents/export"): api("dpo"),
    ("GET", "/v1/incidents/{incident_id}"): api("dpo"),
    ("POST", "/v1/incidents/{incident_id}/assessments"): api("admin"),
    ("GET", "/v1/incidents/{incident_id}/blast-radius"): api("dpo"),
    ("GET", "/v1/incidents/{incident_id}/notices/drafts"): api("dpo"),
    ("POST", "/v1/incidents/{incident_id}/notify"): api("admin"),
    # privacy center
    ("GET", "/privacy/"): PUBLIC,
    ("POST", "/privacy/sign-in"): PUBLIC,
    ("GET", "/privacy/sign-in/code"): PUBLIC,
    ("POST", "/privacy/sign-in/code"): PUBLIC,
    ("POST", "/privacy/sign-out"): everyone(SIGN_IN),  # anyone may sign out: back to sign-in
    ("GET", "/privacy/consents"): privacy(),
    ("POST", "/privacy/consents/{purpose}"): privacy(),
    ("GET", "/privacy/consents/receipts/{record_id}"): privacy(others_object=True),
    ("GET", "/privacy/why"): privacy(),
    ("GET", "/privacy/data"): privacy(),
    ("POST", "/privacy/data/copy"): privacy(),
    ("POST", "/privacy/requests"): privacy(),
    ("GET", "/privacy/requests/{request_id}"): privacy(others_object=True),
    ("POST", "/privacy/requests/{request_id}/code"): privacy(others_object=True),
    # staff console
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): PUBLIC,
    ("POST", "/console/logout"): everyone(SIGN_IN),  # anyone may sign out: back to sign-in
    ("GET", "/console/"): console(*ALL_STAFF),
    ("GET", "/console/offers"): console(*MARKETING),
    ("GET", "/console/offers/new"): console(*MARKETING),
    ("POST", "/console/offers/new"): console(*MARKETING),
    ("GET", "/console/offers/{offer_id}"): console(*MARKETING),
    ("POST", "/console/offers/{offer_id}"): console(*MARKETING),
    ("GET", "/console/preview"): console(*MARKETING),
    ("POST", "/console/preview"): console(*MARKETING),
    ("GET", "/console/customers"): console(*DPO),
    ("POST", "/console/customers"): console(*DPO),
    ("GET", "/console/requests"): console(*DPO),
    ("POST", "/console/requests/{request_id}/verification"): console(*DPO),
    ("POST", "/console/requests/{request_id}/confirm"): console(*DPO),
    ("POST", "/console/requests/{request_id}/process"): console(*DPO),
    ("POST", "/console/requests/{request_id}/refuse"): console(*DPO),
    ("POST", "/console/requests/{request_id}/grounds"): console(*DPO),
    ("GET", "/console/requests/outbox"): console(*DPO),
    ("GET", "/console/processors"): console(*DPO),
    ("GET", "/console/policy"): console(*DPO),
    ("GET", "/console/policy/ropa.{fmt}"): console(*DPO),
    ("GET", "/console/audit"): console(*DPO),
    ("POST", "/console/audit/verify"): console(*DPO),
    ("GET", "/console/incidents"): console(*DPO),
    ("POST", "/console/incidents"): console("staff_admin"),  # the DPO reads only (TH-DPO-01)
    ("GET", "/console/incidents/{incident_id}"): console(*DPO),
    ("POST", "/console/incidents/{incident_id}/assessments"): console("staff_admin"),
    ("POST", "/console/incidents/{incident_id}/notify"): console("staff_admin"),
}

MOUNT_SAMPLES = {"/static": "/static/rujai.css"}  # a mount is called through one of its files
# A form for the rows whose ownership check comes after the form is read: without it, subject B
# would get 422 for the missing code (harmless, but not the 404 the row is about).
FORMS = {("POST", "/privacy/requests/{request_id}/code"): {"code": "123456"}}


# --- the route table ------------------------------------------------------------------------------


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, from its own route table (HEAD goes with GET)."""
    from fastapi.routing import iter_route_contexts

    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            found.add(("GET", str(route.path)))
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, str(route.path)))
    return sorted(found, key=lambda key: (key[1], key[0]))


def unlisted(app: FastAPI, matrix: dict[tuple[str, str], Any]) -> list[str]:
    """The routes without a row, and the rows without a route."""
    routes = set(route_table(app))
    missing = [f"no row for {m} {p}" for m, p in sorted(routes - set(matrix))]
    stale = [f"no route for the row {m} {p}" for m, p in sorted(set(matrix) - routes)]
    return missing + stale


# --- callers -------------------------------------------------------------------------------------


@dataclass
class World:
    """What the callers need: keys, staff, subject A's objects and subject B to sign in as."""

    keys: dict[str, str]
    staff_ids: dict[str, uuid.UUID]
    other_subject: uuid.UUID
    path_values: dict[str, str]


def build_world(factory, keyring, policy) -> World:
    now = utcnow()
    with session_scope(factory) as s:
        keys = {
            key: apikeys_service.create(
                s, name=f"matrix {key}", scopes=[KEY_SCOPE[key]], now=now
            ).key
            for key in KEYS
        }
        revoked = apikeys_service.create(s, name="matrix revoked", scopes=["admin"], now=now)
        apikeys_service.revoke(s, key_id=revoked.id, now=now, actor="test")
        keys["revoked_key"] = revoked.key
        a = make_subject(s, keyring, "C-MATRIX-A")
        make_consent(s, keyring, policy, customer_id="C-MATRIX-A")
        record = consent_history.history(s, subject_id=a.id)[0]
        body = RequestCreate(kind="access", channel="privacy_center", customer_id="C-MATRIX-A")
        request = intake.submit(
            s, keyring=keyring, policy=policy, body=body, now=now, actor="test", staff=False
        )
        b = make_subject(s, keyring, "C-MATRIX-B")
    with session_scope(factory) as s:
        staff_ids = {u.username: u.id for u in staff_service.list_staff(s)}
    values = {
        "customer_id": "C-MATRIX-A", "merge_id": str(uuid.uuid4()), "item_id": "SKU-MATRIX",
        "offer_id": "matrix-offer", "decision_id": str(uuid.uuid4()),
        "request_id": str(request.id), "purpose": "recommendations", "record_id": str(record.id),
        "fmt": "json", "notice_id": str(uuid.uuid4()), "subject_ref": "0" * 32,
        "batch_id": str(uuid.uuid4()), "incident_id": str(uuid.uuid4()),
    }  # fmt: skip
    return World(keys, staff_ids, b.id, values)


def _cookie(app: FastAPI, data: dict[str, str], csrf: str) -> str:
    web = WebSession(csrf=csrf, expires_at=int(time.time()) + 3600, data=data)
    return encode_session(session_key(app.state.keyring), web)


def credentials(app: FastAPI, factory, world: World, caller: str) -> tuple[dict[str, str], str]:
    """Headers and the session cookie of ``caller``: a fresh session record for each request
    (sign-out routes end the one they were given)."""
    csrf = secrets.token_urlsafe(16)
    headers = {"X-CSRF-Token": csrf}
    data: dict[str, str] = {}
    if caller in world.keys:
        headers["Authorization"] = f"Bearer {world.keys[caller]}"
    who: dict[str, Any] = {}
    if caller in ROLES:
        who = {"kind": "staff", "staff_id": world.staff_ids[caller.removeprefix("staff_")]}
    if caller == "other_subject":
        who = {"kind": "subject", "subject_id": world.other_subject}
    if who:
        with session_scope(factory) as s:
            data = {"sid": str(sessions_service.start(s, now=utcnow(), **who))}
    return headers, _cookie(app, data, csrf)


# --- asking ---------------------------------------------------------------------------------------


def answer_of(response: Any) -> str:
    """Classify a response as one of the matrix's answers (a 5xx is never an answer)."""
    status = response.status_code
    target = response.headers.get("location") or response.headers.get("hx-redirect") or ""
    if status in (302, 303, 307, 401) and (
        target.startswith("/console/login") or target == "/privacy/"
    ):
        return SIGN_IN
    if status >= 500:
        return f"server error {status}"
    return {401: E401, 403: E403, 404: E404}.get(status, ALLOW)


def _matches(expected: str, got: str) -> bool:
    if expected == ALLOW:
        return got in (ALLOW, E404)  # allowed to ask; the object may simply not exist
    return got == expected


def concrete(path: str, values: dict[str, str]) -> str:
    if path in MOUNT_SAMPLES:
        return MOUNT_SAMPLES[path]

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"no sample value for the path parameter {{{name}}}"
        return values[name]

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, path)


def mismatches(
    client: TestClient,
    app: FastAPI,
    rows: Iterable[tuple[tuple[str, str], dict[str, str]]],
    credentials_of: Callable[[str], tuple[dict[str, str], str]],
    values: dict[str, str],
) -> Iterator[str]:
    """Ask every route as every caller; yield ``METHOD path as caller: expected X, got Y``."""
    for (method, path), expected in rows:
        url = concrete(path, values)
        for caller in CALLERS:
            headers, cookie = credentials_of(caller)
            client.cookies.clear()
            client.cookies.set(SESSION_COOKIE, cookie)
            form = FORMS.get((method, path))
            response = client.request(
                method, url, headers=headers, data=form, follow_redirects=False
            )
            got = answer_of(response)
            if not _matches(expected[caller], got):
                yield f"{method} {path} as {caller}: expected {expected[caller]}, got {got}"


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture
def matrix_app(settings) -> Iterator[tuple[FastAPI, TestClient]]:
    app = live.web_app(settings)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield app, client


def test_every_route_has_a_row(matrix_app):
    app, _ = matrix_app
    assert unlisted(app, MATRIX) == []


def test_every_route_answers_every_caller_as_the_matrix_says(
    matrix_app, team, factory, keyring, policy
):
    app, client = matrix_app
    world = build_world(factory, keyring, policy)
    found = list(
        mismatches(
            client, app, MATRIX.items(),
            lambda caller: credentials(app, factory, world, caller), world.path_values,
        )
    )  # fmt: skip
    assert found == []


def test_a_planted_route_without_a_row_fails_the_build(matrix_app):
    app, _ = matrix_app

    @app.get("/v1/planted")
    def planted() -> dict[str, str]:
        return {"secret": "everyone sees this"}

    assert unlisted(app, MATRIX) == ["no row for GET /v1/planted"]


def test_a_planted_unprotected_route_is_caught_by_its_row(
    matrix_app, team, factory, keyring, policy
):
    """Given the row an admin route would have, a planted route without the scope check is found
    answering the callers who should be refused."""
    app, client = matrix_app

    @app.get("/v1/planted")
    def planted() -> dict[str, str]:
        return {"secret": "everyone sees this"}

    world = build_world(factory, keyring, policy)
    rows = [(("GET", "/v1/planted"), api("admin"))]
    found = list(
        mismatches(
            client, app, rows, lambda caller: credentials(app, factory, world, caller),
            world.path_values,
        )
    )  # fmt: skip
    refused = [c for c in CALLERS if c != "admin"]
    assert found == [
        f"GET /v1/planted as {c}: expected {api('admin')[c]}, got allowed" for c in refused
    ]
