"""``POST /v1/identify`` and the admin merge routes: scopes, fields named in errors, no leaks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.audit import service as audit_service
from rujai.config import Settings
from rujai.db import Base
from rujai.profiles import identities, service as profiles_service
from rujai.profiles.router import router as profiles_router
from tests.factories import NOW, make_anonymous_subject

CUSTOMER = "C-API-7001"
EMAIL = "Kanya.W@Example.com"


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The app, with the profiles router mounted under /v1 if ``create_app`` does not yet."""
    from rujai.main import create_app

    app = create_app(settings)
    if not any(getattr(route, "path", "") == "/v1/identify" for route in app.routes):
        app.include_router(profiles_router, prefix="/v1")
    with TestClient(app) as client:
        yield client


def _key(factory: sessionmaker[Session], *scopes: str) -> dict[str, str]:
    with factory() as s, s.begin():
        created = apikeys_service.create(s, name="test shop", scopes=list(scopes), now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def _counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_identify_creates_the_profile_and_reports_traits(api, factory, keyring):
    body = {
        "customer_id": CUSTOMER,
        "traits": {"email": EMAIL, "first_name": "กัญญา", "favourite_colour": "เขียว"},
    }
    response = api.post("/v1/identify", json=body, headers=_key(factory, "track"))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["stored"] == ["email", "first_name"]
    assert data["dropped"] == {"favourite_colour": "undeclared"}
    assert (data["merged"], data["merge_id"], data["anonymous_id_linked"]) == (False, None, False)
    for secret in (CUSTOMER, EMAIL.lower(), "กัญญา"):
        assert secret not in response.text
    with factory() as s:
        assert profiles_service.find_id(s, keyring=keyring, customer_id=CUSTOMER) == (
            uuid.UUID(data["subject_id"])
        )
        found = identities.find_by_identity(s, keyring=keyring, kind="email", value=EMAIL)
        assert str(found) == data["subject_id"]


def test_identify_merges_the_anonymous_profile_once(api, factory, keyring):
    with factory() as s, s.begin():
        anon = make_anonymous_subject(s, keyring, "anon-api-1")
    headers = _key(factory, "track")
    body = {"customer_id": CUSTOMER, "anonymous_id": "anon-api-1"}
    first = api.post("/v1/identify", json=body, headers=headers).json()
    assert first["merged"] is True
    assert first["anonymous_id_linked"] is True
    again = api.post("/v1/identify", json=body, headers=headers).json()
    assert (again["merged"], again["subject_id"]) == (False, first["subject_id"])
    admin = _key(factory, "admin")
    listed = api.get("/v1/admin/merges", params={"subject_id": str(anon.id)}, headers=admin)
    assert [m["id"] for m in listed.json()] == [first["merge_id"]]


def test_identify_links_a_new_anonymous_id_without_merging(api, factory, keyring):
    body = {"customer_id": CUSTOMER, "anonymous_id": "anon-api-2"}
    data = api.post("/v1/identify", json=body, headers=_key(factory, "track")).json()
    assert (data["merged"], data["anonymous_id_linked"]) == (False, True)
    with factory() as s:
        found = identities.find_by_identity(
            s, keyring=keyring, kind="anonymous", value="anon-api-2"
        )
    assert str(found) == data["subject_id"]


def _answer(response) -> tuple[int, dict]:
    """What a caller learns from an identify answer (the subject's id is its own, always new)."""
    data = response.json()
    return response.status_code, {k: v for k, v in data.items() if k != "subject_id"}


@pytest.mark.parametrize("field", ["email", "phone"])
def test_identify_answers_the_same_whether_or_not_another_customer_holds_the_identifier(
    api, factory, keyring, field
):
    """Issue 12: a track key is no e-mail or phone oracle. A known identifier is queued for
    review (audited, pseudonymous ids only), never linked to the second customer; an unknown
    one is linked; the caller cannot tell which happened."""
    value = {"email": EMAIL, "phone": "081 234 5678"}[field]
    other = {"email": "nobody.known@example.com", "phone": "089 999 0000"}[field]
    headers = _key(factory, "track")
    holder = api.post("/v1/identify", json={"customer_id": "C-1", "traits": {field: value}},
                      headers=headers).json()["subject_id"]  # fmt: skip
    known = api.post(
        "/v1/identify", json={"customer_id": "C-2", "traits": {field: value.upper()}},
        headers=headers,
    )  # fmt: skip
    unknown = api.post(
        "/v1/identify", json={"customer_id": "C-3", "traits": {field: other}}, headers=headers
    )
    assert _answer(known) == _answer(unknown)
    assert _answer(known)[0] == 200
    assert known.headers.get("content-length") == unknown.headers.get("content-length")
    assert "another" not in known.text
    with factory() as s:
        assert str(identities.find_by_identity(s, keyring=keyring, kind=field, value=value)) == (
            holder
        )
        assert (
            str(identities.find_by_identity(s, keyring=keyring, kind=field, value=other))
            == (unknown.json()["subject_id"])
        )
        [queued] = audit_service.list_entries(s, action=identities.CONFLICT_ACTION)
    assert (str(queued.subject_id), queued.outcome) == (known.json()["subject_id"], "queued")
    assert queued.detail == {"kind": field, "held_by": holder}


def test_identify_answers_the_same_for_another_customers_anonymous_id(api, factory, keyring):
    headers = _key(factory, "track")
    first = api.post("/v1/identify", json={"customer_id": "C-1", "anonymous_id": "dev-1"},
                     headers=headers).json()  # fmt: skip
    held = api.post(
        "/v1/identify", json={"customer_id": "C-2", "anonymous_id": "dev-1"}, headers=headers
    )
    new = api.post(
        "/v1/identify", json={"customer_id": "C-3", "anonymous_id": "dev-2"}, headers=headers
    )
    assert _answer(held) == _answer(new)
    assert _answer(held)[1]["merged"] is False
    with factory() as s:
        owner = identities.find_by_identity(s, keyring=keyring, kind="anonymous", value="dev-1")
        [queued] = audit_service.list_entries(s, action=identities.CONFLICT_ACTION)
    assert str(owner) == first["subject_id"]
    assert queued.detail == {"kind": "anonymous", "held_by": first["subject_id"]}


def test_identify_needs_a_key_with_the_track_scope(api, factory):
    body = {"customer_id": CUSTOMER}
    assert api.post("/v1/identify", json=body).status_code == 401
    response = api.post("/v1/identify", json=body, headers=_key(factory, "consent"))
    assert response.status_code == 403
    assert response.json()["required_scope"] == "track"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "customer_id"),
        ({"customer_id": ""}, "customer_id"),
        ({"customer_id": CUSTOMER, "anonymous_id": ""}, "anonymous_id"),
        ({"customer_id": CUSTOMER, "traits": ["email"]}, "traits"),
        ({"customer_id": CUSTOMER, "traits": {"birth_date": "1/2/2533"}}, "traits.birth_date"),
        ({"customer_id": CUSTOMER, "traits": {"email": "kanya"}}, "traits.email"),
        ({"customer_id": CUSTOMER, "timestamp": "2026-12-01T09:00:00"}, "timestamp"),
        ({"customer_id": CUSTOMER, "user_id": "u1"}, "user_id"),
    ],
)
def test_identify_rejects_bad_input_naming_the_field_and_changes_nothing(api, factory, body, field):
    headers = _key(factory, "track")
    before = _counts(factory)
    response = api.post(
        "/v1/identify", json={**body, "anonymous_id": body.get("anonymous_id", "anon-9")},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert _counts(factory) == before


def test_undo_merge_route_needs_admin_and_refuses_a_second_undo(api, factory, keyring):
    with factory() as s, s.begin():
        make_anonymous_subject(s, keyring, "anon-api-3")
    body = {"customer_id": CUSTOMER, "anonymous_id": "anon-api-3"}
    merge_id = api.post("/v1/identify", json=body, headers=_key(factory, "track")).json()[
        "merge_id"
    ]
    url = f"/v1/admin/merges/{merge_id}/undo"
    assert api.post(url, headers=_key(factory, "track")).status_code == 403
    admin = _key(factory, "admin")
    response = api.post(url, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["undone_at"] is not None
    assert api.post(url, headers=admin).status_code == 409
    missing = api.post(f"/v1/admin/merges/{uuid.uuid4()}/undo", headers=admin)
    assert missing.status_code == 404
    assert api.get("/v1/admin/merges", headers=_key(factory, "track")).status_code == 403
