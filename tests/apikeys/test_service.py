"""API keys: creation, authentication, revocation and scopes (least privilege, TH-SEC-01)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.apikeys import service as apikeys_service
from rujai.apikeys.models import ApiKey
from rujai.apikeys.schemas import Principal, Scope
from rujai.audit import service as audit_service
from rujai.errors import Invalid, NotFound, Unauthorized

NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def test_create_returns_a_key_in_the_documented_format(session: Session) -> None:
    created = apikeys_service.create(session, name="web shop", scopes=["consent", "track"], now=NOW)
    mark, prefix, secret = created.key[:2], created.key[3:11], created.key[12:]
    assert mark == "rk"
    assert created.key[2] == "_"
    assert created.key[11] == "_"
    assert prefix == created.prefix
    assert prefix.isalnum()
    assert len(prefix) == 8
    assert len(secret) == 43
    assert created.scopes == [Scope.TRACK, Scope.CONSENT]


def test_only_the_sha256_of_the_secret_is_stored(session: Session) -> None:
    created = apikeys_service.create(session, name="web shop", scopes=["track"], now=NOW)
    secret = created.key[12:]
    stored = session.execute(select(ApiKey.secret_hash, ApiKey.prefix)).one()
    assert stored.secret_hash != secret
    assert secret not in stored.secret_hash
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == created.prefix


def test_two_keys_get_different_prefixes_and_secrets(session: Session) -> None:
    a = apikeys_service.create(session, name="a", scopes=["track"], now=NOW)
    b = apikeys_service.create(session, name="b", scopes=["track"], now=NOW)
    assert a.prefix != b.prefix
    assert a.key[12:] != b.key[12:]


def test_authenticate_returns_the_principal_of_a_valid_key(session: Session) -> None:
    created = apikeys_service.create(session, name="crm", scopes=["consent"], now=NOW)
    principal = apikeys_service.authenticate(session, token=created.key, now=LATER)
    assert principal == Principal(key_id=created.id, name="crm", scopes=frozenset({Scope.CONSENT}))
    assert principal.actor == f"key:{created.id}"
    assert principal.has("consent")
    assert not principal.has(Scope.TRACK)


def test_admin_implies_every_scope(session: Session) -> None:
    created = apikeys_service.create(session, name="ops", scopes=["admin"], now=NOW)
    principal = apikeys_service.authenticate(session, token=created.key, now=LATER)
    assert all(principal.has(scope) for scope in Scope)
    assert not principal.has("superuser")


def _wrong_tokens(key: str) -> list[str]:
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    other_prefix = key[:3] + ("Z" if key[3] != "Z" else "Y") + key[4:]
    return ["", "Bearer", key[:-1], key + "x", flipped, other_prefix, key.replace("rk_", "rx_")]


def test_authenticate_refuses_malformed_unknown_and_wrong_keys_alike(session: Session) -> None:
    created = apikeys_service.create(session, name="crm", scopes=["consent"], now=NOW)
    messages = set()
    for token in _wrong_tokens(created.key):
        with pytest.raises(Unauthorized) as caught:
            apikeys_service.authenticate(session, token=token, now=LATER)
        messages.add(caught.value.message)
    assert messages == {apikeys_service.UNAUTHORIZED_MESSAGE}


def test_revoked_key_no_longer_authenticates(session: Session) -> None:
    created = apikeys_service.create(session, name="crm", scopes=["consent"], now=NOW)
    revoked = apikeys_service.revoke(session, key_id=created.id, now=LATER, actor="cli")
    assert revoked.revoked_at == LATER
    with pytest.raises(Unauthorized) as caught:
        apikeys_service.authenticate(session, token=created.key, now=LATER)
    assert caught.value.message == apikeys_service.UNAUTHORIZED_MESSAGE


def test_revoking_twice_keeps_the_first_revocation(session: Session) -> None:
    created = apikeys_service.create(session, name="crm", scopes=["consent"], now=NOW)
    apikeys_service.revoke(session, key_id=created.id, now=LATER, actor="cli")
    again = apikeys_service.revoke(
        session, key_id=created.id, now=LATER + timedelta(days=1), actor="cli"
    )
    assert again.revoked_at == LATER
    assert [e.action for e in audit_service.list_entries(session)] == [
        "api_key.revoke",
        "api_key.create",
    ]


def test_revoke_of_an_unknown_key_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound) as caught:
        apikeys_service.revoke(session, key_id=uuid.uuid4(), now=NOW, actor="cli")
    assert caught.value.field == "key_id"


@pytest.mark.parametrize("scopes", [["superuser"], ["consent", "read"], [], "admin"])
def test_unknown_or_missing_scopes_are_invalid(session: Session, scopes: list[str]) -> None:
    with pytest.raises(Invalid) as caught:
        apikeys_service.create(session, name="x", scopes=scopes, now=NOW)
    assert caught.value.field == "scopes"
    assert session.execute(select(ApiKey.id)).first() is None


def test_blank_name_is_invalid(session: Session) -> None:
    with pytest.raises(Invalid) as caught:
        apikeys_service.create(session, name="  ", scopes=["admin"], now=NOW)
    assert caught.value.field == "name"


def test_scopes_are_deduplicated_and_normalised(session: Session) -> None:
    created = apikeys_service.create(
        session, name="x", scopes=["Track", "track", " decide "], now=NOW
    )
    assert created.scopes == [Scope.DECIDE, Scope.TRACK]


def test_create_and_revoke_are_audited_without_the_secret(session: Session) -> None:
    created = apikeys_service.create(
        session, name="crm", scopes=["consent"], now=NOW, actor="key:x"
    )
    apikeys_service.revoke(session, key_id=created.id, now=LATER, actor="cli")
    revoke_entry, create_entry = audit_service.list_entries(session)
    assert (create_entry.action, create_entry.actor) == ("api_key.create", "key:x")
    assert create_entry.detail == {
        "key_id": str(created.id), "prefix": created.prefix, "scopes": ["consent"]
    }  # fmt: skip
    assert (revoke_entry.action, revoke_entry.detail["key_id"]) == (
        "api_key.revoke",
        str(created.id),
    )
    assert created.key[12:] not in str(create_entry.model_dump())
    assert audit_service.verify(session).ok


def test_list_keys_never_shows_secrets(session: Session) -> None:
    created = apikeys_service.create(session, name="crm", scopes=["consent"], now=NOW)
    apikeys_service.create(session, name="ops", scopes=["admin"], now=LATER)
    keys = apikeys_service.list_keys(session)
    assert [k.name for k in keys] == ["crm", "ops"]
    dumped = str([k.model_dump() for k in keys])
    assert created.key[12:] not in dumped
    assert "secret" not in dumped
    assert "key" not in keys[0].model_dump()
