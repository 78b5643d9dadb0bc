"""The breach register in the console: the DPO reads, admin staff write (TH-DPO-01, TH-BRE-01)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rujai.incidents import service as incidents_service
from rujai.kit.time import utcnow
from rujai.writer import session_scope
from tests.incidents.seeding import incident_body
from tests.web import live
from tests.web.test_console import csrf_of, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _overdue_incident(factory, policy):
    now = utcnow()
    body = incident_body(
        aware_at=now - timedelta(hours=75), occurred_from=now - timedelta(days=6),
        occurred_to=now - timedelta(days=5),
    )  # fmt: skip
    with session_scope(factory) as s:
        return incidents_service.declare(s, policy=policy, body=body, now=now, actor="test")


def _declare_form(client) -> dict[str, object]:
    return {
        "csrf_token": csrf_of(client, "/console/incidents"), "title": "Misaddressed e-mail",
        "description": "A customer list went to the wrong supplier.",
        "aware_at": "2026-12-03T10:00", "occurred_from": "2026-12-02T09:00",
        "occurred_to": "2026-12-02T10:00", "categories": ["contact"], "systems": "crm",
    }  # fmt: skip


def test_the_dpo_reads_the_register_but_cannot_change_it_th_dpo_01(
    web_client, team, factory, policy
):
    incident = _overdue_incident(factory, policy)
    assert sign_in(web_client, "dpo").status_code == 303
    listing = web_client.get("/console/incidents")
    assert listing.status_code == 200
    assert 'data-testid="read-only"' in listing.text
    assert 'data-testid="declare-form"' not in listing.text
    assert 'data-testid="overdue"' in listing.text  # TH-BRE-01: past the 72 hours
    detail = web_client.get(f"/console/incidents/{incident.id}?lang=th")
    assert detail.status_code == 200
    assert "พ.ศ." in detail.text
    assert 'data-testid="assess-form"' not in detail.text
    assert 'data-testid="drafts"' in detail.text
    refused = web_client.post(
        "/console/incidents", data=_declare_form(web_client), follow_redirects=False
    )
    assert refused.status_code == 403
    with session_scope(factory) as s:
        assert len(incidents_service.list_incidents(s, now=utcnow())) == 1


def test_admin_staff_declare_from_the_console_and_the_dashboard_reminds(
    web_client, team, factory, policy
):
    _overdue_incident(factory, policy)
    assert sign_in(web_client, "admin").status_code == 303
    dashboard = web_client.get("/console/")
    assert 'data-testid="incident-banner"' in dashboard.text
    created = web_client.post(
        "/console/incidents", data=_declare_form(web_client), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    page = web_client.get(created.headers["location"] + "?lang=en")
    assert page.status_code == 200
    assert "2026-12-06T10:00+07:00" in page.text  # 72 h after 3 Dec 10:00 Bangkok time
    assert 'data-testid="assess-form"' in page.text
    assert 'data-testid="affected-subjects"' in page.text  # admin may see identities


def test_the_marketer_cannot_open_the_register(web_client, team):
    sign_in(web_client, "marketer")
    assert web_client.get("/console/incidents").status_code == 403


def test_in_processor_mode_the_console_shows_the_processors_record_th_prc_01(settings, team):
    processor_policy = Path(__file__).parents[2] / "examples" / "processor-policy.yaml"
    changed = settings.model_copy(
        update={"policy": settings.policy.model_copy(update={"path": processor_policy})}
    )
    with TestClient(live.web_app(changed), base_url="http://127.0.0.1") as client:
        sign_in(client, "dpo")
        page = client.get("/console/policy?lang=en")
        assert page.status_code == 200
        assert 'data-testid="processor-record"' in page.text
        csv_text = client.get("/console/policy/ropa.csv?lang=en").text
        assert "Processing agreement" in csv_text.splitlines()[0]
        assert "personalized_offers" not in csv_text  # not instructed: not processed for it


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "bad\u0000title"), ("aware_at", "not-a-time"), ("categories", "horoscope")],
)
def test_a_bad_form_field_is_a_422_naming_it_and_nothing_is_stored(
    web_client, team, factory, field, value
):
    sign_in(web_client, "admin")
    form = _declare_form(web_client)
    form[field] = value
    response = web_client.post("/console/incidents", data=form, follow_redirects=False)
    assert response.status_code == 422, response.text
    assert field in response.text
    with session_scope(factory) as s:
        assert incidents_service.list_incidents(s, now=utcnow()) == []
