"""The breach register API: the DPO's key reads, only admin writes (TH-DPO-01, TH-BRE-01, EU-04)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.errors import PROBLEM_JSON
from rujai.writer import session_scope


def _key(factory: sessionmaker[Session], *scopes: str) -> dict[str, str]:
    with session_scope(factory) as s:
        created = apikeys_service.create(
            s, name="incident desk", scopes=list(scopes), now=datetime.now(UTC)
        )
    return {"Authorization": f"Bearer {created.key}"}


def _body(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    body: dict[str, object] = {
        "title": "Lost laptop",
        "description": "A staff laptop with an export was lost.",
        "aware_at": (now - timedelta(hours=80)).isoformat(),
        "occurred_from": (now - timedelta(days=5)).isoformat(),
        "occurred_to": (now - timedelta(days=4)).isoformat(),
        "systems": ["laptop"],
        "categories": ["contact", "purchase_history"],
    }
    body.update(overrides)
    return body


@pytest.fixture
def keys(factory):
    return {"admin": _key(factory, "admin"), "dpo": _key(factory, "dpo")}


def test_the_dpo_key_reads_but_cannot_write_th_dpo_01(client: TestClient, keys):
    refused = client.post("/v1/incidents", json=_body(), headers=keys["dpo"])
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    created = client.post("/v1/incidents", json=_body(), headers=keys["admin"])
    assert created.status_code == 201, created.text
    incident_id = created.json()["id"]
    listed = client.get("/v1/incidents", headers=keys["dpo"])
    assert [i["id"] for i in listed.json()] == [incident_id]
    one = client.get(f"/v1/incidents/{incident_id}", headers=keys["dpo"]).json()
    assert one["clock"]["is_overdue"] is True  # aware 80 hours ago: past the 72 (TH-BRE-01)
    assert one["clock"]["deadline_th"].endswith("น.")
    radius = client.get(f"/v1/incidents/{incident_id}/blast-radius", headers=keys["dpo"])
    assert radius.status_code == 200
    assert radius.json()["subjects"] is None
    names = client.get(
        f"/v1/incidents/{incident_id}/blast-radius?subjects=true", headers=keys["dpo"]
    )
    assert names.status_code == 403  # identities are for admin keys
    assessment = {
        "data_kinds": ["contact"], "subject_count": 0, "record_count": 0, "is_sensitive": False,
        "has_minors": False, "likelihood": "low", "severity": "low", "measures": "Wiped remotely.",
        "decision": "no_notice", "reasoning": "The disk was encrypted and wiped remotely.",
    }  # fmt: skip
    path = f"/v1/incidents/{incident_id}/assessments"
    assert client.post(path, json=assessment, headers=keys["dpo"]).status_code == 403
    assert client.post(path, json=assessment, headers=keys["admin"]).status_code == 200
    notify = {"audience": "authority"}
    notify_path = f"/v1/incidents/{incident_id}/notify"
    assert client.post(notify_path, json=notify, headers=keys["dpo"]).status_code == 403
    drafts = client.get(f"/v1/incidents/{incident_id}/notices/drafts?lang=en", headers=keys["dpo"])
    assert drafts.json()["to_subjects"] is None
    assert "PDPC" in drafts.json()["to_authority"]["body"]


def test_export_as_json_and_csv_for_the_regulator_th_bre_01(client: TestClient, keys):
    client.post("/v1/incidents", json=_body(), headers=keys["admin"])
    as_json = client.get("/v1/incidents/export?format=json", headers=keys["dpo"])
    assert as_json.status_code == 200
    assert json.loads(as_json.text)["incidents"][0]["title"] == "Lost laptop"
    as_csv = client.get("/v1/incidents/export?format=csv", headers=keys["dpo"])
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith("\ufeff".encode())
    assert "เลขที่เหตุการณ์" in as_csv.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "bad\u0000title"}, "title"),
        ({"categories": ["horoscope"]}, "categories"),
        ({"aware_at": "2026-12-01T09:00:00"}, None),  # no time zone
    ],
)
def test_bad_input_is_a_422_naming_the_field(client: TestClient, keys, overrides, field):
    response = client.post("/v1/incidents", json=_body(**overrides), headers=keys["admin"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    if field is not None:
        assert field in response.text


def test_an_unknown_incident_is_404(client: TestClient, keys):
    response = client.get("/v1/incidents/00000000-0000-4000-8000-000000000000", headers=keys["dpo"])
    assert response.status_code == 404
