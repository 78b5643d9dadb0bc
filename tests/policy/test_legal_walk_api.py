"""The legal walk, from outside: requirements of PDPA.md tried through the real app's HTTP API.

Each test is a row of ``docs/legal-mapping.md`` (issue 13, item 7) tried the way a shop or a
customer would: an API key, JSON over HTTP, the policy file the server was started with.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rujai.apikeys import service as apikeys_service
from rujai.config import Settings
from rujai.main import create_app
from rujai.policy.errors import PolicyInvalid
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY
from tests.factories import NOW

OPTIONAL = ("recommendations", "personalized_offers", "email_marketing", "analytics")
REC_CATEGORIES = "      - browsing\n      - purchase_history\n      - preferences\n      - device\n"


def _headers(factory, *scopes: str) -> dict[str, str]:
    with session_scope(factory) as s:
        key = apikeys_service.create(s, name="walk", scopes=list(scopes), now=NOW).key
    return {"Authorization": f"Bearer {key}"}


def _change(purpose: str, action: str, version: int = 1) -> dict[str, object]:
    # an adult by their own declaration: a profiling or marketing grant asks the age (TH-MIN-01)
    age = {"age_band": "adult"} if action == "grant" else {}
    return {
        "purpose": purpose, "action": action, "language": "th", "channel": "web",
        "actor": "self", "notice_version": version, **age,
    }  # fmt: skip


@contextmanager
def _server(settings: Settings, tmp_path: Path, yaml: str) -> Iterator[TestClient]:
    """The app started on a policy file holding ``yaml`` (the example policy, changed)."""
    path = tmp_path / "policy.yaml"
    path.write_text(yaml, encoding="utf-8")
    settings.policy.path = path
    with TestClient(create_app(settings)) as client:
        yield client


def _recommendations_widened(version: int, material: int) -> str:
    """The example policy with location added to recommendations, under a new notice version."""
    text = EXAMPLE_POLICY.read_text(encoding="utf-8")
    assert REC_CATEGORIES in text
    widened = REC_CATEGORIES + "      - location\n"
    notice = f"    notice:\n      version: {version}\n      material_version: {material}\n"
    return text.replace(REC_CATEGORIES, widened + notice, 1)


def test_check_refuses_an_undeclared_purpose_and_answers_the_basis_th_lb_01(client, factory):
    """TH-LB-01: processing without a registered purpose is refused; other bases need no consent."""
    headers = _headers(factory, "decide", "consent")
    body = {"customer_id": "C-WALK-LB", "purpose": "profiling_everyone", "categories": ["browsing"]}
    refused = client.post("/v1/check", json=body, headers=headers).json()
    assert (refused["allowed"], refused["reason"], refused["lawful_basis"]) == (
        False, "unknown_purpose", None,
    )  # fmt: skip
    grant = client.post(
        "/v1/subjects/C-WALK-LB/consents", json=_change("profiling_everyone", "grant"),
        headers=headers,
    )  # fmt: skip
    assert grant.status_code == 422
    assert grant.json()["field"] == "purpose"
    assert "TH-LB-01" in grant.json()["detail"]
    contract = {
        "customer_id": "C-WALK-LB",
        "purpose": "order_fulfilment",
        "categories": ["contact"],
    }
    allowed = client.post("/v1/check", json=contract, headers=headers).json()
    assert (allowed["allowed"], allowed["reason"], allowed["lawful_basis"]) == (
        True, "allowed_basis", "contract",
    )  # fmt: skip


def test_core_flows_work_with_every_optional_purpose_declined_th_con_02(client, factory):
    """TH-CON-02: no optional consent is a condition of the service: a customer who declined
    (withdrew) every optional purpose still buys, gets an answer, and exercises their rights."""
    headers = _headers(factory, "decide", "consent", "track")
    customer = "C-WALK-DECLINES"
    versions = {p["id"]: p["notice_version"] for p in client.get("/v1/purposes").json()}
    for purpose in OPTIONAL:
        change = _change(purpose, "withdraw", versions[purpose])
        posted = client.post(f"/v1/subjects/{customer}/consents", json=change, headers=headers)
        assert posted.status_code == 201, posted.text
    statuses = client.get(f"/v1/subjects/{customer}/consents", headers=headers).json()
    assert {p["purpose"]: p["allowed"] for p in statuses["current"]["purposes"]}[
        "recommendations"
    ] is False
    purchase = {
        "type": "purchase", "customer_id": customer,
        "properties": {"order_id": "ORD-W1", "item_id": "SKU-1", "quantity": 1, "amount": 590},
    }  # fmt: skip
    tracked = client.post("/v1/track", json=purchase, headers=headers)
    assert (tracked.status_code, tracked.json()["status"]) == (200, "accepted")
    decided = client.post(
        "/v1/decide", json={"customer_id": customer, "placement": "home_for_you"}, headers=headers
    )
    assert decided.status_code == 200
    assert (decided.json()["personalized"], decided.json()["reason"]) == (False, "withdrawn")
    request = {"kind": "access", "channel": "api", "customer_id": customer}
    received = client.post("/v1/requests", json=request, headers=headers)
    assert received.status_code == 201, received.text
    assert received.json()["status"] == "received"
    assert client.get("/privacy/").status_code == 200


def test_notice_over_http_has_every_part_and_a_new_version_when_a_purpose_changes_th_not_01(
    client, settings, tmp_path
):
    """TH-NOT-01: the notice served is generated from the policy with every part s.23 asks for,
    and a change of purposes gives it a new version."""
    notice = client.get("/v1/notice", params={"lang": "en"}).json()
    purposes = {p["id"]: p for p in notice["purposes"]}
    offers = purposes["personalized_offers"]
    assert offers["basis"] == "consent"
    assert offers["required"] is False
    assert offers["consequence"]
    assert purposes["order_fulfilment"]["required"] is True
    assert "cannot" in purposes["order_fulfilment"]["consequence"]
    assert offers["categories"]
    assert offers["retention_days"] == 730
    assert offers["recipients"]
    assert notice["controller"]["email"]
    assert notice["dpo"]["email"]
    assert {r["id"] for r in notice["rights"]} >= {"access", "erasure", "objection"}
    assert "s.73" in notice["complaint"]
    assert "PDPC" in notice["complaint"]
    abroad = [r for r in notice["recipients"] if r["abroad"]]
    assert abroad
    assert all(r["mechanism"] != "none" for r in abroad)
    page = client.get("/v1/notice", params={"lang": "th", "format": "html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "สคส." in page.text
    with _server(settings, tmp_path, _recommendations_widened(2, 2)) as changed:
        after = changed.get("/v1/notice", params={"lang": "en"}).json()
    assert after["version"] != notice["version"]
    assert after["version"].startswith(notice["policy_version"] + "+")
    widened = {p["id"]: p for p in after["purposes"]}["recommendations"]
    assert "location" in {c["id"] for c in widened["categories"]}


def test_a_material_notice_change_stops_the_old_grant_until_consent_is_renewed_th_pur_01(
    client, factory, settings, tmp_path
):
    """TH-PUR-01: a new use of data held (a category added to a purpose) needs notice and consent
    first: the grant given before the material change no longer counts, a new one does."""
    headers = _headers(factory, "decide", "consent")
    customer = "C-WALK-PUR"
    granted = client.post(
        f"/v1/subjects/{customer}/consents", json=_change("recommendations", "grant"),
        headers=headers,
    )  # fmt: skip
    assert granted.status_code == 201
    check = {"customer_id": customer, "purpose": "recommendations", "categories": ["location"]}
    assert client.post("/v1/check", json=check, headers=headers).json()["reason"] == (
        "category_not_in_purpose"
    )
    with _server(settings, tmp_path, _recommendations_widened(2, 2)) as changed:
        outdated = changed.post("/v1/check", json=check, headers=headers).json()
        assert (outdated["allowed"], outdated["reason"]) == (False, "notice_outdated")
        old = changed.post(
            f"/v1/subjects/{customer}/consents", json=_change("recommendations", "grant"),
            headers=headers,
        )  # fmt: skip
        assert (old.status_code, old.json()["field"]) == (409, "notice_version")
        renewed = changed.post(
            f"/v1/subjects/{customer}/consents", json=_change("recommendations", "grant", 2),
            headers=headers,
        )  # fmt: skip
        assert renewed.status_code == 201
        allowed = changed.post("/v1/check", json=check, headers=headers).json()
        assert (allowed["allowed"], allowed["reason"]) == (True, "allowed_consent")


def test_the_right_to_object_to_profiling_is_shown_on_its_own_eu_02(client):
    """EU-02 (GDPR Art. 21(4)): the notice shows the right to object to profiling as a right of
    its own, apart from the objection to direct marketing, in Thai and in English."""
    for lang, word in (("th", "profiling"), ("en", "profiling")):
        rights = {
            r["id"]: r for r in client.get("/v1/notice", params={"lang": lang}).json()["rights"]
        }
        assert "object_profiling" in rights
        assert "objection" in rights
        assert word in rights["object_profiling"]["title"].lower()
        assert "profiling" not in rights["objection"]["text"].lower()
    page = client.get("/v1/notice", params={"lang": "en", "format": "html"}).text
    assert "Right to object to profiling" in page


def _recommendations_widened_silently() -> str:
    """The example policy with location added to recommendations and no new notice version."""
    text = EXAMPLE_POLICY.read_text(encoding="utf-8")
    return text.replace(REC_CATEGORIES, REC_CATEGORIES + "      - location\n", 1)


def test_a_purpose_widened_under_a_granted_notice_version_is_refused_at_start_th_pur_01(
    client, factory, settings, tmp_path
):
    """TH-PUR-01: widening a purpose (a new category of the data held) without a new notice
    version would let grants given for the old text cover the new use; the server refuses to start
    on it, naming the field to raise, until the version moves (and then the rules decide)."""
    headers = _headers(factory, "consent")
    for customer in ("C-WALK-PUR-1", "C-WALK-PUR-2"):
        granted = client.post(
            f"/v1/subjects/{customer}/consents", json=_change("recommendations", "grant"),
            headers=headers,
        )  # fmt: skip
        assert granted.status_code == 201
    withdrawn = client.post(
        "/v1/subjects/C-WALK-PUR-2/consents", json=_change("recommendations", "withdraw"),
        headers=headers,
    )  # fmt: skip
    assert withdrawn.status_code == 201
    widened = _recommendations_widened_silently()
    with pytest.raises(PolicyInvalid) as refused, _server(settings, tmp_path, widened):
        pass
    (problem,) = refused.value.problems
    assert (problem.field, problem.ref) == ("purposes.recommendations.notice.version", "TH-PUR-01")
    assert "1 grant(s)" in problem.message  # the withdrawn one is not relied on
    assert "C-WALK" not in str(refused.value)
    with _server(settings, tmp_path, _recommendations_widened(2, 2)) as moved:
        assert moved.get("/v1/purposes").status_code == 200


def test_a_staff_grant_must_name_the_staff_member_th_con_01(client, factory):
    """TH-CON-01, TH-CON-04: a grant is an affirmative act someone answers for; one recorded by
    staff without naming them (``actor_ref``) is refused and nothing is stored. A withdrawal
    never needs more than a grant (TH-CON-03)."""
    headers = _headers(factory, "consent")
    customer = "C-WALK-STAFF"
    unnamed = {**_change("email_marketing", "grant"), "actor": "staff", "channel": "store"}
    refused = client.post(f"/v1/subjects/{customer}/consents", json=unnamed, headers=headers)
    assert (refused.status_code, refused.json()["field"]) == (422, "actor_ref")
    assert client.get(f"/v1/subjects/{customer}/consents", headers=headers).status_code == 404
    named = {**unnamed, "actor_ref": "staff-0042"}
    assert (
        client.post(f"/v1/subjects/{customer}/consents", json=named, headers=headers).status_code
        == 201
    )
    withdraw = {**_change("email_marketing", "withdraw"), "actor": "staff", "channel": "store"}
    taken_back = client.post(f"/v1/subjects/{customer}/consents", json=withdraw, headers=headers)
    assert taken_back.status_code == 201
