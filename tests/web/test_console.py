"""The staff console through its HTML (TestClient, SQLite and PostgreSQL): sign-in, lock-out,
roles, CSRF, customer lookup, offers, requests; plus the staff CLI, charts and dashboard counts.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rujai.audit import service as audit_service
from rujai.catalog import service as catalog_service
from rujai.cli.staff import app as staff_cli
from rujai.config import get_settings
from rujai.consent import rates as consent_rates
from rujai.kit.crypto import Keyring
from rujai.kit.time import utcnow
from rujai.personalize import (
    decide as decide_service,
    offers as offers_service,
    reach as personalize_reach,
    recommend,
)
from rujai.personalize.decision_schemas import DecideCreate
from rujai.policy.schemas import Policy
from rujai.profiles import identities, service as profiles_service, traits as profiles_traits
from rujai.rights import intake, notifier, verification
from rujai.rights.schemas import RequestCreate
from rujai.staff import login as staff_login, service as staff
from rujai.web import charts, signin
from rujai.writer import session_scope
from tests.factories import make_consent
from tests.web import seeding
from tests.web.conftest import PASSWORDS

pytestmark = pytest.mark.usefixtures("cheap_hashing")
CUSTOMER = "C-CONSOLE-1"
EMAIL = "kanya.console@example.com"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/console/login") -> str:
    found = CSRF.search(client.get(path).text)
    assert found, path
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str | None = None, **headers: str):
    data = {"username": username, "password": password or PASSWORDS[username]}
    data["csrf_token"] = csrf_of(client)
    return client.post("/console/login", data=data, headers=headers, follow_redirects=False)


def post(
    client: TestClient, path: str, data: dict[str, object] | None = None, *, htmx: bool = True
):
    form = {"csrf_token": csrf_of(client, "/console/"), **(data or {})}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(path, data=form, headers=headers, follow_redirects=False)


def customer(factory: sessionmaker[Session], keyring: Keyring, policy: Policy) -> uuid.UUID:
    """A customer with a name and a verified e-mail on file."""
    with session_scope(factory) as s:
        subject = profiles_service.get_or_create(
            s, keyring=keyring, customer_id=CUSTOMER, now=utcnow()
        )
        profiles_traits.set_traits(
            s, keyring=keyring, policy=policy, subject_id=subject.id, source="api", now=utcnow(),
            traits={"email": EMAIL, "first_name": "กัญญา", "last_name": "ทดสอบ"},
        )  # fmt: skip
        identities.add_identity(
            s, keyring=keyring, subject_id=subject.id, kind="email", value=EMAIL, verified=True,
            now=utcnow(),
        )  # fmt: skip
        return subject.id


def entries(factory: sessionmaker[Session], action: str):
    with session_scope(factory) as s:
        return audit_service.list_entries(s, action=action)


# --- sign-in, lock-out, sessions (TH-SEC-01) --------------------------------------------------


def test_signed_out_visitor_is_sent_to_the_sign_in_page(web_client, team):
    response = web_client.get("/console/audit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Faudit"


def test_login_opens_the_dashboard_and_logout_ends_the_session(web_client, team):
    response = sign_in(web_client, "dpo")
    assert (response.status_code, response.headers["location"]) == (303, "/console/")
    page = web_client.get("/console/")
    assert page.status_code == 200
    assert "dpo (test)" in page.text
    assert [e.outcome for e in entries(web_client.app.state.session_factory, "staff.login")] == [
        "ok"
    ]
    assert post(web_client, "/console/logout", htmx=False).status_code == 303
    assert web_client.get("/console/", follow_redirects=False).status_code == 303


def test_login_with_a_wrong_password_is_refused_without_a_session(web_client, team):
    response = sign_in(web_client, "dpo", "not-the-password", **{"HX-Request": "true"})
    assert response.status_code == 401
    assert "wrong username or password" in response.text
    assert response.headers["HX-Retarget"] == "#flash"
    assert web_client.get("/console/", follow_redirects=False).status_code == 303


def test_unknown_username_gets_the_same_answer_as_a_wrong_password(web_client, team):
    response = sign_in(web_client, "nobody", "whatever-password")
    assert response.status_code == 401
    assert "wrong username or password" in response.text


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(
    web_client, team, factory
):
    """TH-SEC-01: five failures in a row lock the account for 15 minutes, and are audited."""
    codes = [sign_in(web_client, "marketer", "wrong-password-x").status_code for _ in range(5)]
    assert codes == [401] * 5
    locked = sign_in(web_client, "marketer")
    assert locked.status_code == 401
    assert "locked" in locked.text
    outcomes = [e.outcome for e in entries(factory, "staff.login")]
    assert outcomes.count("failed") == 4
    assert outcomes.count("locked") == 1
    with session_scope(factory) as s:
        (row,) = [u for u in staff.list_staff(s) if u.username == "marketer"]
    assert row.locked_until is not None


def test_a_lock_expires_after_15_minutes_and_a_success_resets_the_count(factory):
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    body = staff.StaffCreate.model_validate(
        {
            "username": "malee",
            "display_name": "Malee",
            "role": "dpo",
            "password": "malee-password-1",
        }
    )
    with session_scope(factory) as s:
        staff.create(s, body=body, now=now, actor="test")
    for i in range(staff_login.MAX_FAILURES):
        with (
            pytest.raises((staff_login.LoginFailed, staff_login.AccountLocked)),
            session_scope(factory) as s,
        ):
            staff_login.authenticate(
                s, username="malee", password="nope", now=now + timedelta(seconds=i)
            )
    with pytest.raises(staff_login.AccountLocked), session_scope(factory) as s:
        staff_login.authenticate(
            s, username="malee", password="malee-password-1", now=now + timedelta(minutes=14)
        )
    with session_scope(factory) as s:
        signed_in = staff_login.authenticate(
            s, username="MALEE ", password="malee-password-1", now=now + timedelta(minutes=16)
        )
    assert (signed_in.failed_logins, signed_in.locked_until) == (0, None)


def test_login_attempts_from_one_address_are_throttled():
    throttle = staff_login.LoginThrottle(max_attempts=3)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for _ in range(3):
        throttle.attempt("192.0.2.1", now)
    with pytest.raises(staff_login.TooManyAttempts):
        throttle.attempt("192.0.2.1", now)
    throttle.attempt("192.0.2.2", now)
    throttle.attempt("192.0.2.1", now + staff_login.LOCK_FOR + timedelta(seconds=1))


def test_console_session_expires_after_its_maximum_age(web_client, team, monkeypatch):
    assert sign_in(web_client, "admin").status_code == 303
    assert web_client.get("/console/").status_code == 200
    later = utcnow() + timedelta(hours=8)  # RUJAI_WEB__SESSION_MAX_HOURS
    monkeypatch.setattr(signin, "utcnow", lambda: later)
    assert web_client.get("/console/", follow_redirects=False).status_code == 303


def test_sign_in_goes_on_only_to_console_pages(web_client, team):
    data = {"username": "dpo", "password": PASSWORDS["dpo"], "next": "https://evil.example.com/"}
    data["csrf_token"] = csrf_of(web_client)
    response = web_client.post("/console/login", data=data, follow_redirects=False)
    assert response.headers["location"] == "/console/"


# --- roles: least privilege (TH-SEC-01, TH-DPO-01) -----------------------------------------------


@pytest.mark.parametrize("path", ["/console/audit", "/console/requests", "/console/customers"])
def test_marketer_gets_403_on_dpo_pages(web_client, team, path):
    sign_in(web_client, "marketer")
    response = web_client.get(path)
    assert response.status_code == 403
    assert "marketer" in response.text


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/console/offers/new"), ("post", "/console/offers/new")]
)
def test_dpo_gets_403_on_offer_editing(web_client, team, method, path):
    sign_in(web_client, "dpo")
    if method == "get":
        response = web_client.get(path)
    else:
        response = post(web_client, path, {"id": "x", "kind": "coupon"})
    assert response.status_code == 403
    with session_scope(web_client.app.state.session_factory) as s:
        assert offers_service.list_offers(s) == []


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("marketer", {"/console/", "/console/offers", "/console/preview"}),
        (
            "dpo",
            {
                "/console/",
                "/console/requests",
                "/console/customers",
                "/console/processors",
                "/console/policy",
                "/console/audit",
                "/console/incidents",
            },
        ),
    ],
)
def test_each_role_sees_only_its_pages_in_the_menu_and_opens_them(web_client, team, role, allowed):
    sign_in(web_client, role)
    every = {"/console/", "/console/offers", "/console/preview", "/console/requests",
             "/console/customers", "/console/processors", "/console/policy",
             "/console/audit", "/console/incidents"}  # fmt: skip
    menu = set(re.findall(r'<li><a href="(/console/[a-z]*)"', web_client.get("/console/").text))
    assert menu == allowed
    assert {p for p in every if web_client.get(p).status_code == 200} == allowed


def test_admin_opens_every_page(web_client, team):
    sign_in(web_client, "admin")
    for path in ("/console/offers/new", "/console/audit", "/console/requests/outbox",
                 "/console/policy", "/console/policy/ropa.csv?lang=en"):  # fmt: skip
        assert web_client.get(path).status_code == 200, path


# --- CSRF ----------------------------------------------------------------------------------------


def test_forms_without_the_csrf_token_are_refused(web_client, team):
    data = {"username": "dpo", "password": PASSWORDS["dpo"]}
    assert web_client.post("/console/login", data=data).status_code == 403
    sign_in(web_client, "dpo")
    lookup = {"customer_id": CUSTOMER, "purpose": "order_fulfilment", "reason": "order_support"}
    assert web_client.post("/console/customers", data=lookup).status_code == 403
    lookup["csrf_token"] = "forged"
    assert web_client.post("/console/customers", data=lookup).status_code == 403


# --- customer lookup ------------------------------------------------------------------------------


def test_customer_lookup_requires_a_purpose(web_client, team, factory, keyring, policy):
    customer(factory, keyring, policy)
    sign_in(web_client, "dpo")
    response = post(
        web_client, "/console/customers", {"customer_id": CUSTOMER, "reason": "complaint"}
    )
    assert response.status_code == 422
    assert "purpose" in response.text
    assert EMAIL not in response.text
    assert entries(factory, "console.customer_lookup") == []


def test_customer_lookup_shows_what_the_purpose_covers_and_is_audited(
    web_client, team, factory, keyring, policy
):
    """TH-SEC-01: the access goes through the chokepoint and leaves an audit entry."""
    subject_id = customer(factory, keyring, policy)
    sign_in(web_client, "dpo")
    data = {"customer_id": CUSTOMER, "purpose": "order_fulfilment", "reason": "order_support"}
    response = post(web_client, "/console/customers", data)
    assert response.status_code == 200
    assert EMAIL in response.text
    assert "กัญญา" in response.text
    (entry,) = entries(factory, "console.customer_lookup")
    assert (entry.actor, entry.subject_id, entry.purpose) == (
        "staff:dpo",
        subject_id,
        "order_fulfilment",
    )
    assert entry.detail["reason"] == "order_support"
    assert EMAIL not in str(entry.detail)


def test_customer_lookup_for_a_purpose_the_customer_did_not_consent_to_is_refused(
    web_client, team, factory, keyring, policy
):
    customer(factory, keyring, policy)
    sign_in(web_client, "admin")
    data = {"customer_id": CUSTOMER, "purpose": "email_marketing", "reason": "complaint"}
    response = post(web_client, "/console/customers", data)
    assert response.status_code == 403
    assert EMAIL not in response.text
    (refusal,) = [e for e in entries(factory, "policy.check") if e.actor == "staff:admin"]
    assert (refusal.purpose, refusal.detail["allowed"]) == ("email_marketing", False)
    assert entries(factory, "console.customer_lookup") == []


def audit_list(factory):
    with session_scope(factory) as s:
        return audit_service.list_entries(s, limit=500)


# --- offers ---------------------------------------------------------------------------------------

OFFER_FORM = {
    "id": "rainy-season",
    "kind": "coupon",
    "title.th": "คูปองหน้าฝน",
    "title.en": "Rainy season coupon",
    "purpose": "personalized_offers",
    "is_active": "1",
    "variant.default.th": "ลด 10% ทุกชิ้น",
    "variant.default.en": "10% off everything",
    "variant.champions.th": "ขอบคุณลูกค้าชั้นยอด ลด 15%",
    "variant.champions.en": "Thank you, champion: 15% off",
    "variant.at_risk.th": "คิดถึงคุณ รับส่วนลด 20%",
    "variant.at_risk.en": "We miss you: 20% off",
    "eligibility.segments": ["champions", "at_risk"],
    "eligibility.min_total_spend": "1000",
}


def test_marketer_creates_an_offer_with_a_variant_per_segment(web_client, team, factory):
    sign_in(web_client, "marketer")
    response = post(web_client, "/console/offers/new", OFFER_FORM)
    assert response.headers["HX-Redirect"] == "/console/offers/rainy-season?saved=1"
    with session_scope(factory) as s:
        offer = offers_service.get(s, offer_id="rainy-season")
    assert set(offer.variants) == {"default", "champions", "at_risk"}
    assert offer.variants["at_risk"].en == "We miss you: 20% off"
    assert offer.eligibility == {"segments": ["champions", "at_risk"], "min_total_spend": 1000.0}
    assert [e.actor for e in entries(factory, "offer.create")] == ["staff:marketer"]
    page = web_client.get("/console/offers/rainy-season?saved=1")
    assert "คิดถึงคุณ รับส่วนลด 20%" in page.text


def test_offer_form_names_the_field_it_refuses(web_client, team, factory):
    sign_in(web_client, "marketer")
    form = {k: v for k, v in OFFER_FORM.items() if not k.startswith("variant.default")}
    response = post(web_client, "/console/offers/new", form)
    assert response.status_code == 422
    assert "variants" in response.text
    assert "default" in response.text
    with session_scope(factory) as s:
        assert offers_service.list_offers(s) == []


def test_offer_form_refuses_targeting_by_sensitive_data(web_client, team):
    """TH-SEN-01: a marketing offer may not target by the allergies (health) trait."""
    sign_in(web_client, "marketer")
    form = {**OFFER_FORM, "eligibility.traits_any": '{"allergies": ["nuts"]}'}
    response = post(web_client, "/console/offers/new", form)
    assert response.status_code == 422
    assert "TH-SEN-01" in response.text or "sensitive" in response.text


def test_editing_an_offer_replaces_its_variants(web_client, team, factory):
    sign_in(web_client, "marketer")
    post(web_client, "/console/offers/new", OFFER_FORM)
    form = {k: v for k, v in OFFER_FORM.items() if not k.startswith("variant.at_risk")}
    form["variant.champions.en"] = "Champions: 25% off"
    form["variant.gold.th"], form["variant.gold.en"] = "สมาชิกทอง ลด 30%", "Gold members: 30% off"
    response = post(web_client, "/console/offers/rainy-season", form)
    assert response.headers["HX-Redirect"] == "/console/offers/rainy-season?saved=1"
    with session_scope(factory) as s:
        offer = offers_service.get(s, offer_id="rainy-season")
    assert set(offer.variants) == {"default", "champions", "gold"}
    assert offer.variants["champions"].en == "Champions: 25% off"
    assert "<details open>" in web_client.get("/console/offers/rainy-season").text


# --- requests -------------------------------------------------------------------------------------


def submit_erasure(factory, keyring, policy, *, now=None) -> uuid.UUID:
    body = RequestCreate(kind="erasure", channel="privacy_center", customer_id=CUSTOMER)
    with session_scope(factory) as s:
        request = intake.submit(
            s, keyring=keyring, policy=policy, body=body, now=now or utcnow(), actor="subject",
            staff=False,
        )  # fmt: skip
        verification.start_verification(
            s, keyring=keyring, policy=policy, request_id=request.id, now=utcnow()
        )
        return request.id


def latest_code(factory, keyring) -> str:
    with session_scope(factory) as s:
        messages = notifier.list_outbox(s, keyring=keyring, limit=10, now=utcnow(), actor="test")
    codes = [c for m in messages for c in re.findall(r"\b\d{6}\b", m.body or "")]
    assert codes
    return codes[0]


def test_dpo_verifies_and_processes_an_erasure_and_the_customer_is_gone(
    web_client, team, factory, keyring, policy
):
    """TH-DSR-04 through the console: code read out by the customer, then erasure."""
    customer(factory, keyring, policy)
    request_id = submit_erasure(factory, keyring, policy)
    sign_in(web_client, "dpo")
    queue = web_client.get("/console/requests")
    assert f'id="request-{request_id}"' in queue.text
    confirmed = post(
        web_client,
        f"/console/requests/{request_id}/confirm",
        {"code": latest_code(factory, keyring)},
    )
    assert 'data-status="verified"' in confirmed.text
    processed = post(web_client, f"/console/requests/{request_id}/process")
    assert 'data-status="completed"' in processed.text
    data = {"customer_id": CUSTOMER, "purpose": "rights_requests", "reason": "rights_request"}
    assert 'data-testid="lookup-none"' in post(web_client, "/console/customers", data).text
    assert any(
        e.actor == "staff:dpo" for e in audit_list(factory) if e.action.startswith("rights.")
    )


def test_refusing_a_request_needs_a_legal_reason_code(web_client, team, factory, keyring, policy):
    """TH-DSR-00 / PDPA s.39(7): every refusal is recorded with its reason."""
    customer(factory, keyring, policy)
    request_id = submit_erasure(factory, keyring, policy)
    sign_in(web_client, "dpo")
    assert (
        post(web_client, f"/console/requests/{request_id}/refuse", {"note": "x"}).status_code == 422
    )
    refused = post(
        web_client, f"/console/requests/{request_id}/refuse", {"refusal_code": "legal_hold"}
    )
    assert 'data-status="refused"' in refused.text
    assert "legal_hold" in web_client.get("/console/policy").text


def test_overdue_requests_are_flagged_on_the_queue_and_the_dashboard(
    web_client, team, factory, keyring, policy
):
    customer(factory, keyring, policy)
    with session_scope(factory) as s:
        make_consent(s, keyring, policy, customer_id=CUSTOMER, now=utcnow())
    submit_erasure(factory, keyring, policy, now=utcnow() - timedelta(days=40))
    sign_in(web_client, "dpo")
    assert 'class="is-overdue"' in web_client.get("/console/requests").text
    dashboard = web_client.get("/console/?lang=en").text
    assert "chart__bar--alert" in dashboard
    assert "Overdue" in dashboard
    # One customer asked about a purpose: the consent table withholds the count (k = 5).
    assert "Counts below 5 are withheld" in dashboard
    assert "&lt; 5</abbr> / <abbr" in dashboard


# --- dashboard, audit, policy pages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "title"),
    [("th", "อัตราการให้ความยินยอมรายวัตถุประสงค์"), ("en", "Consent rate per purpose")],
)
def test_dashboard_charts_are_svg_with_accessible_titles(web_client, team, lang, title):
    sign_in(web_client, "marketer")
    page = web_client.get(f"/console/?lang={lang}")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    for chart_id in ("chart-consent", "chart-reach", "chart-lift", "chart-queue"):
        assert re.search(rf'<svg [^>]*id="{chart_id}" role="img"', page.text), chart_id
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in page.text
    assert f'<title id="chart-consent-title">{title}</title>' in page.text
    assert "<script>" not in page.text.split("</head>")[1]


def test_audit_verify_button_reports_an_intact_chain(web_client, team):
    sign_in(web_client, "dpo")
    response = post(web_client, "/console/audit/verify")
    assert 'data-testid="verify-ok"' in response.text
    assert "staff.login" in web_client.get("/console/audit").text


# --- dashboard counts, charts, CLI, demo accounts ------------------------------------------------


def test_consent_rates_count_the_latest_answer_at_each_week_end(session, keyring, policy):
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for n, days_ago in enumerate((20, 10, 3)):
        make_consent(
            session,
            keyring,
            policy,
            "recommendations",
            customer_id=f"C-R{n}",
            now=now - timedelta(days=days_ago),
        )
    make_consent(
        session,
        keyring,
        policy,
        "recommendations",
        action="withdraw",
        customer_id="C-R0",
        now=now - timedelta(days=2),
    )
    session.flush()
    rates = consent_rates.consent_rates_by_week(
        session, purposes=["recommendations"], weeks=3, now=now, min_count=1
    )
    assert [(r.asked, r.granted) for r in rates] == [(1, 1), (2, 2), (3, 2)]
    assert rates[-1].week_start == datetime(2026, 11, 25).date()
    # With k = 3 no count below 3 is shown, nor a part whose complement is below 3: "3 asked,
    # 2 granted" would tell that one person said no.
    withheld = consent_rates.consent_rates_by_week(
        session, purposes=["recommendations"], weeks=3, now=now, min_count=3
    )
    assert [(r.asked, r.granted, r.rate) for r in withheld] == [
        (None, None, None), (None, None, None), (3, None, None)
    ]  # fmt: skip


def test_reach_counts_personalized_decisions_per_bangkok_day(session, keyring, policy, settings):
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    recommend.clear_caches()
    catalog_service.upsert_many(session, items=seeding.items(), now=now)
    for cid, skus in (("C-P1", seeding.KITCHEN[:3]), ("C-P2", seeding.KITCHEN[1:5])):
        make_consent(session, keyring, policy, customer_id=cid, now=now - timedelta(days=9))
        seeding.buy(session, keyring, policy, cid, skus, now - timedelta(days=2))
    recommend.train(session, keyring=keyring, policy=policy, now=now - timedelta(days=2))
    for cid, at in (("C-P1", now - timedelta(days=1)), ("C-P1", now), ("C-NONE", now)):
        decide_service.decide(
            session, policy=policy, keyring=keyring, settings=settings.personalize,
            body=DecideCreate(customer_id=cid, placement="home_for_you"), now=at, actor="test",
        )  # fmt: skip
    session.flush()
    reach = personalize_reach.reach_by_day(session, days=2, now=now, min_count=1)
    assert [(r.day.day, r.decisions, r.personalized) for r in reach] == [(30, 1, 1), (1, 2, 1)]
    assert reach[1].share == 0.5
    withheld = personalize_reach.reach_by_day(session, days=2, now=now, min_count=2)
    assert [(r.decisions, r.personalized, r.share) for r in withheld] == [
        (None, None, None), (2, None, None)
    ]  # fmt: skip


def test_charts_escape_text_and_label_alert_bars():
    svg = charts.bar_chart(
        chart_id="c", title="<script>x</script>", desc="d", empty="none", alert_label="act now",
        bars=[charts.Bar("Overdue", 2, alert=True), charts.Bar("Later", 1)],
    )  # fmt: skip
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "Overdue (act now)" in svg
    empty = charts.line_chart(
        chart_id="e", title="t", desc="d", x_labels=[], series=[], empty="No data"
    )
    assert "No data" in empty


def test_staff_cli_creates_from_stdin_and_lists_without_hashes(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    args = [
        "create",
        "--username",
        "somsri",
        "--role",
        "dpo",
        "--display-name",
        "Somsri",
        "--password-stdin",
    ]
    created = runner.invoke(staff_cli, args, input="a-long-enough-password\n")
    assert created.exit_code == 0, created.output
    listed = runner.invoke(staff_cli, ["list"])
    assert "somsri" in listed.stdout
    assert "argon2" not in listed.stdout
    bad = runner.invoke(
        staff_cli, [*args[:4], "superuser", *args[5:]], input="a-long-enough-password\n"
    )
    assert bad.exit_code == 1
    assert "--role" in bad.stderr
    get_settings.cache_clear()


def test_demo_staff_are_created_once(factory):
    with session_scope(factory) as s:
        first = staff.ensure_demo_staff(s, now=utcnow())
    with session_scope(factory) as s:
        again = staff.ensure_demo_staff(s, now=utcnow())
        assert len(staff.list_staff(s)) == 3
    assert [role for _, role, _ in first] == ["marketer", "dpo", "admin"]
    assert again == first
