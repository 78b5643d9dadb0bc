"""The consent API asks for the age before a profiling or marketing grant (TH-MIN-01, EU-03), and
records consents of website visitors by anonymous id, merged on identify (TH-CON-03, TH-CON-04).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.audit.models import AuditEntry
from rujai.consent.models import ConsentRecord
from rujai.consent.receipts import verify_receipt
from rujai.profiles import service as profiles_service
from rujai.profiles.models import Subject, Trait
from tests.factories import NOW

CUSTOMER = "C-AGE-0001"
URL = f"/v1/subjects/{CUSTOMER}/consents"


def _key(factory: sessionmaker[Session], *scopes: str) -> dict[str, str]:
    with factory() as s, s.begin():
        created = apikeys_service.create(s, name="test shop", scopes=list(scopes), now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def _change(purpose: str = "recommendations", action: str = "grant", **extra) -> dict:
    versions = {"personalized_offers": 2}
    body = {"purpose": purpose, "action": action, "language": "th", "channel": "web"}
    if action == "grant":
        body["notice_version"] = versions.get(purpose, 1)
    return {**body, **extra}


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int, int]:
    with factory() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) or 0
            for m in (ConsentRecord, Subject, Trait, AuditEntry)
        )


def _statuses(response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {p["purpose"]: p["status"] for p in response.json()["current"]["purposes"]}


# -- the age (TH-MIN-01, EU-03) -------------------------------------------------------------------


def test_a_profiling_grant_without_an_age_is_422_age_required_and_changes_nothing(client, factory):
    """TH-MIN-01: the age is asked for, never assumed; the problem says what to ask."""
    headers = _key(factory, "consent")
    before = _counts(factory)
    response = client.post(URL, json=_change(), headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "https://rujai.dev/problems/age_required"
    assert problem["field"] == "age_band"
    assert problem["accepts"] == ["birth_date", "age_band"]
    assert problem["age_bands"] == ["under_10", "10_19", "adult", "under_16", "16_plus"]
    assert _counts(factory) == before


def test_a_grant_with_a_declared_age_band_counts_and_the_band_is_kept_as_self_declared(
    client, factory, keyring
):
    """TH-MIN-01: the band sent with the grant is stored first, for age_verification."""
    headers = _key(factory, "consent")
    response = client.post(URL, json=_change(age_band="adult"), headers=headers)
    assert response.status_code == 201, response.text
    assert verify_receipt(keyring, response.json())
    assert _statuses(client.get(URL, headers=headers))["recommendations"] == "granted"
    with factory() as s:
        sid = profiles_service.find_id(s, keyring=keyring, customer_id=CUSTOMER)
        assert profiles_service.get(s, subject_id=sid).age_band == "adult"
        trait = s.scalars(select(Trait).where(Trait.subject_id == sid)).one()
    assert (trait.name, trait.category, trait.source) == ("age_band", "age", "subject")


def test_a_birth_date_with_the_grant_makes_a_minor_wait_for_a_guardian(client, factory):
    """TH-MIN-01, EU-03: a 17-year-old's own grant for profiling waits for a guardian's."""
    headers = _key(factory, "consent")
    body = _change("personalized_offers", birth_date="2009-06-01")
    assert client.post(URL, json=body, headers=headers).status_code == 201
    statuses = _statuses(client.get(URL, headers=headers))
    assert statuses["personalized_offers"] == "pending_guardian"


def test_a_bad_age_band_or_a_future_birth_date_is_422_naming_the_field(client, factory):
    headers = _key(factory, "consent")
    bad_band = client.post(URL, json=_change(age_band="old"), headers=headers)
    assert (bad_band.status_code, bad_band.json()["field"]) == (422, "age_band")
    future = client.post(URL, json=_change(birth_date="2999-01-01"), headers=headers)
    assert (future.status_code, future.json()["field"]) == (422, "birth_date")


def test_a_withdrawal_or_a_grant_without_profiling_needs_no_age(client, factory):
    """TH-CON-03: withdrawing never asks for more than granting; analytics does not profile."""
    headers = _key(factory, "consent")
    assert client.post(URL, json=_change("analytics"), headers=headers).status_code == 201
    withdraw = client.post(URL, json=_change("recommendations", "withdraw"), headers=headers)
    assert withdraw.status_code == 201, withdraw.text
    statuses = _statuses(client.get(URL, headers=headers))
    assert (statuses["analytics"], statuses["recommendations"]) == ("granted", "withdrawn")


def test_the_status_of_an_old_grant_from_someone_of_unknown_age_is_age_required(
    client, factory, keyring
):
    """TH-MIN-01: a grant recorded before the age rule (no age on file) is not an adult's."""
    headers = _key(factory, "consent")
    assert client.post(URL, json=_change(age_band="adult"), headers=headers).status_code == 201
    with factory() as s, s.begin():
        sid = profiles_service.find_id(s, keyring=keyring, customer_id=CUSTOMER)
        profiles_service.set_age_band(s, subject_id=sid, band=None, now=NOW)
    purposes = client.get(URL, headers=headers).json()["current"]["purposes"]
    [rec] = [p for p in purposes if p["purpose"] == "recommendations"]
    assert (rec["status"], rec["reason"], rec["allowed"]) == ("age_required", "age_unknown", False)


# -- anonymous visitors (TH-CON-03, TH-CON-04) ----------------------------------------------------


def test_a_visitor_consents_by_anonymous_id_and_reads_it_back(client, factory, keyring):
    headers = _key(factory, "consent")
    body = _change(anonymous_id="anon-web-1", age_band="adult")
    response = client.post("/v1/consents", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert verify_receipt(keyring, response.json())
    assert "anon-web-1" not in response.text
    listed = client.get("/v1/consents", params={"anonymous_id": "anon-web-1"}, headers=headers)
    assert _statuses(listed)["recommendations"] == "granted"
    history = listed.json()["history"]
    assert [(r["action"], r["channel"]) for r in history] == [("grant", "web")]
    assert history[0]["evidence_ua_hash"] is not None  # the same ledger evidence (TH-CON-04)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Subject)) == 1
        assert "anon-web-1" not in str(s.scalars(select(ConsentRecord.actor_ref)).all())


def test_consents_by_customer_id_in_the_body_work_the_same(client, factory):
    headers = _key(factory, "consent")
    body = _change(customer_id=CUSTOMER, age_band="adult")
    assert client.post("/v1/consents", json=body, headers=headers).status_code == 201
    listed = client.get("/v1/consents", params={"customer_id": CUSTOMER}, headers=headers)
    assert _statuses(listed)["recommendations"] == "granted"


def test_both_or_neither_id_is_422_naming_the_field_and_changes_nothing(client, factory):
    headers = _key(factory, "consent")
    before = _counts(factory)
    both = _change(customer_id=CUSTOMER, anonymous_id="anon-web-2", age_band="adult")
    answer = client.post("/v1/consents", json=both, headers=headers)
    assert (answer.status_code, answer.json()["field"]) == (422, "anonymous_id")
    neither = client.post("/v1/consents", json=_change(age_band="adult"), headers=headers)
    assert (neither.status_code, neither.json()["field"]) == (422, "customer_id")
    listed = client.get("/v1/consents", headers=headers)
    assert (listed.status_code, listed.json()["field"]) == (422, "customer_id")
    assert _counts(factory) == before


def test_an_unknown_anonymous_id_is_404_naming_the_field(client, factory):
    headers = _key(factory, "consent")
    answer = client.get("/v1/consents", params={"anonymous_id": "anon-nobody"}, headers=headers)
    assert (answer.status_code, answer.json()["field"]) == (404, "anonymous_id")
    assert "anon-nobody" not in answer.text


def test_on_identify_a_visitors_grant_carries_over_and_a_withdrawal_wins(client, factory):
    """TH-CON-03: on identify the most restrictive state wins per purpose; TH-CON-04: appended."""
    consent, track = _key(factory, "consent"), _key(factory, "track")
    anon = {"anonymous_id": "anon-web-3"}
    grant = _change("recommendations", **anon, age_band="adult")
    assert client.post("/v1/consents", json=grant, headers=consent).status_code == 201
    withdraw = _change("analytics", "withdraw", **anon)
    assert client.post("/v1/consents", json=withdraw, headers=consent).status_code == 201
    known_analytics = _change("analytics", customer_id=CUSTOMER)
    assert client.post("/v1/consents", json=known_analytics, headers=consent).status_code == 201
    with factory() as s:
        ledger_before = s.scalars(select(ConsentRecord.id)).all()
    body = {"customer_id": CUSTOMER, "anonymous_id": "anon-web-3"}
    merged = client.post("/v1/identify", json=body, headers=track)
    assert merged.json()["merged"] is True, merged.text
    statuses = _statuses(client.get(URL, headers=consent))
    assert statuses["recommendations"] == "granted"  # the visitor's own grant, with their age
    assert statuses["analytics"] == "withdrawn"  # the visitor's withdrawal beats the grant
    by_anonymous = client.get("/v1/consents", params=anon, headers=consent)
    assert _statuses(by_anonymous) == statuses  # the anonymous id now names the known profile
    with factory() as s:
        ledger = s.scalars(select(ConsentRecord)).all()
    assert {r.id for r in ledger} >= set(ledger_before)  # nothing deleted
    appended = [r for r in ledger if r.id not in set(ledger_before)]
    assert sorted((r.purpose, r.action, r.channel) for r in appended) == [
        ("analytics", "withdraw", "merge"),
        ("recommendations", "grant", "merge"),
    ]


def test_get_says_whether_the_age_is_known_for_the_banner(client, factory):
    """TH-MIN-01: what the website banner (issue 14) reads before it shows a profiling switch."""
    headers = _key(factory, "consent")
    anon = {"anonymous_id": "anon-web-4"}
    assert (
        client.post("/v1/consents", json=_change("analytics", **anon), headers=headers).status_code
        == 201
    )
    listed = client.get("/v1/consents", params=anon, headers=headers)
    assert listed.json()["current"]["age_known"] is False
    grant = _change("recommendations", **anon, age_band="10_19")
    assert client.post("/v1/consents", json=grant, headers=headers).status_code == 201
    listed = client.get("/v1/consents", params=anon, headers=headers)
    assert listed.json()["current"]["age_known"] is True
    assert _statuses(listed)["recommendations"] == "guardian_required"  # strictest: EU under 16


def test_eu_bands_count_as_the_youngest_age_in_them(client, factory):
    """EU-03 with TH-MIN-01: "16_plus" is of age in the EU but may be 16, a minor in Thailand, so
    in a TH+EU policy a profiling grant waits for a guardian; "under_16" may be under 10."""
    headers = _key(factory, "consent")
    sixteen = _change("recommendations", anonymous_id="anon-eu-1", age_band="16_plus")
    assert client.post("/v1/consents", json=sixteen, headers=headers).status_code == 201
    listed = client.get("/v1/consents", params={"anonymous_id": "anon-eu-1"}, headers=headers)
    assert _statuses(listed)["recommendations"] == "pending_guardian"
    young = _change("recommendations", anonymous_id="anon-eu-2", age_band="under_16")
    assert client.post("/v1/consents", json=young, headers=headers).status_code == 201
    listed = client.get("/v1/consents", params={"anonymous_id": "anon-eu-2"}, headers=headers)
    assert _statuses(listed)["recommendations"] == "guardian_required"
