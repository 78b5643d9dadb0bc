"""The privacy center through its forms (TestClient on SQLite and PostgreSQL, no browser)."""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta

from rujai.audit import service as audit_service
from rujai.consent.receipts import verify_receipt
from rujai.profiles import service as profiles_service
from rujai.rights import notifier
from rujai.sessions import service as sessions_service
from rujai.web.i18n import format_date
from rujai.writer import session_scope
from tests.web import seeding
from tests.web.conftest import csrf_of, sign_in

SWITCH = re.compile(r'data-testid="switch-([a-z_]+)"')


def _checked(html: str, purpose: str) -> str:
    found = re.search(
        rf'aria-checked="(true|false)"[^>]*data-testid="switch-{purpose}"', html, re.S
    )
    assert found, f"no switch for {purpose}"
    return found.group(1)


def _toggle(client, purpose, action, **extra):
    token = csrf_of(client.get("/privacy/consents").text)
    data = {"action": action, "csrf_token": token, **extra}
    return client.post(f"/privacy/consents/{purpose}", data=data)


def test_signed_out_visitors_are_sent_to_sign_in(web_client):
    response = web_client.get("/privacy/consents", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/privacy/")
    htmx = web_client.get("/privacy/why", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, "/privacy/")


def test_sign_in_answers_the_same_for_unknown_people_and_sends_nothing(
    web_client, customer, factory, keyring
):
    token = csrf_of(web_client.get("/privacy/").text)
    unknown = web_client.post("/privacy/sign-in", data={"identifier": "C-999", "csrf_token": token})
    assert unknown.status_code == 200
    assert unknown.url.path == "/privacy/sign-in/code"
    with session_scope(factory) as s:
        assert notifier.list_outbox(s, keyring=keyring, now=datetime.now(UTC), actor="t") == []


def test_session_holds_only_its_record_id_after_sign_in(signed_in, customer, factory):
    cookie = signed_in.cookies["rujai_session"]
    payload = json.loads(_b64(cookie.split(".")[0]))
    assert list(payload["data"]) == ["sid"]
    with factory() as s:
        record = sessions_service.find_active(
            s, session_id=uuid.UUID(payload["data"]["sid"]), now=datetime.now(UTC),
            idle=timedelta(minutes=30), absolute=timedelta(hours=8),
        )  # fmt: skip
    assert record is not None
    assert (record.kind, record.subject_id) == ("subject", customer.id)
    assert str(customer.id) not in cookie
    assert seeding.SIGNED_IN not in cookie
    assert "example.com" not in json.dumps(payload)


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_every_purpose_is_off_until_the_customer_turns_it_on_th_con_01(signed_in, policy):
    page = signed_in.get("/privacy/consents").text
    shown = SWITCH.findall(page)
    consent_based = [p for p, v in policy.purposes.items() if v.basis.is_consent]
    assert shown == consent_based
    assert {_checked(page, p) for p in shown} == {"false"}


def test_granting_and_withdrawing_take_one_post_each_th_con_03(signed_in):
    granted = _toggle(signed_in, "recommendations", "grant", age_band="adult")
    assert _checked(granted.text, "recommendations") == "true"
    withdrawn = _toggle(signed_in, "recommendations", "withdraw")
    assert _checked(withdrawn.text, "recommendations") == "false"
    assert "ถอนความยินยอม" in withdrawn.text  # in the history


def test_htmx_toggle_returns_only_the_purpose_card(signed_in):
    token = csrf_of(signed_in.get("/privacy/consents").text)
    response = signed_in.post(
        "/privacy/consents/analytics",
        data={"action": "grant"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<article class="card purpose" id="purpose-analytics"')
    assert _checked(response.text, "analytics") == "true"


def test_pages_return_a_partial_for_htmx(signed_in):
    for path in ("/privacy/consents", "/privacy/data", "/privacy/why"):
        full = signed_in.get(path).text
        partial = signed_in.get(path, headers={"HX-Request": "true"}).text
        assert "<html" in full
        assert "<html" not in partial
        assert partial.lstrip().startswith("<h1>")


def test_explicit_consent_needs_the_confirmation_box_th_sen_01(signed_in):
    refused = _toggle(signed_in, "health_tailored_offers", "grant", age_band="adult")
    assert refused.status_code == 422
    assert "explicit" in refused.text
    granted = _toggle(
        signed_in, "health_tailored_offers", "grant", explicit="true", age_band="adult"
    )
    assert _checked(granted.text, "health_tailored_offers") == "true"


def test_receipts_download_and_verify_th_con_04(signed_in, keyring):
    page = _toggle(signed_in, "email_marketing", "grant", age_band="adult").text
    link = re.search(r'href="(/privacy/consents/receipts/[0-9a-f-]+)"', page).group(1)
    response = signed_in.get(link)
    assert response.headers["content-disposition"].startswith("attachment")
    receipt = response.json()
    assert receipt["purpose"] == "email_marketing"
    assert receipt["channel"] == "privacy_center"
    assert verify_receipt(keyring, receipt)
    assert signed_in.get(link.replace(link[-12:], "0" * 12)).status_code == 404


def test_reads_are_audited_as_the_subject_without_personal_data(signed_in, customer, factory):
    signed_in.get("/privacy/data")
    with session_scope(factory) as s:
        entries = audit_service.list_entries(
            s, subject_id=customer.id, action="privacy_center.read"
        )
    pages = {e.detail["page"] for e in entries}
    assert {"consents", "my_data"} <= pages
    assert {e.actor for e in entries} == {f"subject:{customer.id}"}
    dumped = json.dumps([e.detail for e in entries])
    assert seeding.SIGNED_IN not in dumped
    assert "example.com" not in dumped


def test_a_restricted_subject_still_reads_their_data_through_the_door_th_dsr_05(
    signed_in, customer, factory
):
    """TH-DSR-05, TH-DSR-01: restriction does not stop the subject seeing their own data; each
    page takes a permit for the rights purpose as the subject, audited as ``policy.check``."""
    with session_scope(factory) as s:
        profiles_service.set_restricted(
            s, subject_id=customer.id, restricted=True, now=datetime.now(UTC)
        )
    assert seeding.SIGNED_IN_EMAIL in signed_in.get("/privacy/data").text
    assert signed_in.get("/privacy/consents").status_code == 200
    with session_scope(factory) as s:
        checks = audit_service.list_entries(s, subject_id=customer.id, action="policy.check")
    mine = [e for e in checks if e.actor == f"subject:{customer.id}"]
    assert mine
    assert {(e.purpose, e.detail["action"], e.detail["allowed"]) for e in mine} == {
        ("rights_requests", "answer_rights", True)
    }


def test_my_data_shows_what_is_held_by_category(signed_in):
    page = signed_in.get("/privacy/data").text
    assert seeding.SIGNED_IN_EMAIL in page
    assert "สมชาย" in page
    assert "ข้อมูลติดต่อ" in page  # the contact category's title


def test_download_copy_is_a_zip_with_the_export(signed_in):
    token = csrf_of(signed_in.get("/privacy/data").text)
    response = signed_in.post("/privacy/data/copy", data={"csrf_token": token})
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "export.json" in archive.namelist()


def test_a_restriction_request_is_confirmed_by_code_and_carried_out_th_dsr_05(
    signed_in, customer, factory, keyring
):
    token = csrf_of(signed_in.get("/privacy/data").text)
    page = signed_in.post("/privacy/requests", data={"kind": "restriction", "csrf_token": token})
    assert page.url.path.startswith("/privacy/requests/")
    due = format_date(datetime.now(UTC) + timedelta(days=30), "th")
    assert due in page.text  # TH-DSR-01: 30 days, shown in the Buddhist Era
    code = seeding.latest_code(factory, keyring=keyring)
    done = signed_in.post(
        f"{page.url.path}/code", data={"code": code, "csrf_token": csrf_of(page.text)}
    )
    assert 'data-status="completed"' in done.text
    with session_scope(factory) as s:
        assert profiles_service.get(s, subject_id=customer.id).is_restricted


def test_another_subjects_request_is_not_found(signed_in):
    missing = signed_in.get("/privacy/requests/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


def test_sign_out_forgets_the_subject(signed_in):
    token = csrf_of(signed_in.get("/privacy/consents").text)
    signed_in.post("/privacy/sign-out", data={"csrf_token": token})
    response = signed_in.get("/privacy/consents", follow_redirects=False)
    assert response.status_code == 303


def test_a_wrong_code_shows_the_form_again(web_client, customer, factory, keyring):
    token = csrf_of(web_client.get("/privacy/").text)
    sent = web_client.post(
        "/privacy/sign-in", data={"identifier": seeding.SIGNED_IN_EMAIL, "csrf_token": token}
    )
    wrong = web_client.post(
        "/privacy/sign-in/code", data={"code": "12345x", "csrf_token": csrf_of(sent.text)}
    )
    assert wrong.status_code == 422
    assert 'role="alert"' in wrong.text
    sign_in(web_client, factory, keyring, seeding.SIGNED_IN_EMAIL)


def test_the_consent_form_asks_the_age_band_while_the_age_is_unknown_th_min_01(signed_in):
    """TH-MIN-01: profiling and marketing switches ask for the age band, in Thai and English."""
    page = signed_in.get("/privacy/consents").text
    assert 'data-testid="age-recommendations"' in page
    assert 'data-testid="age-analytics"' not in page  # no profiling, no marketing: not asked
    assert "20 ปีขึ้นไป" in page
    english = signed_in.get("/privacy/consents", params={"lang": "en"}).text
    assert "20 or older" in english
    refused = _toggle(signed_in, "recommendations", "grant")
    assert refused.status_code == 422
    granted = _toggle(signed_in, "recommendations", "grant", age_band="adult")
    assert _checked(granted.text, "recommendations") == "true"
    assert 'data-testid="age-personalized_offers"' not in granted.text  # known now


def test_a_declared_band_of_10_to_19_makes_the_yes_wait_for_a_guardian_th_min_01(signed_in):
    page = _toggle(signed_in, "personalized_offers", "grant", age_band="10_19").text
    assert 'data-status="guardian_required"' in page or 'data-status="pending_guardian"' in page


def test_a_minor_sees_their_yes_pending_a_guardian_th_min_01(signed_in, customer, factory, keyring):
    with session_scope(factory) as s:
        profiles_service.set_birth_date(
            s, keyring=keyring, subject_id=customer.id, now=datetime.now(UTC),
            birth_date=date(date.today().year - 17, 1, 1),
        )  # fmt: skip
    page = _toggle(signed_in, "recommendations", "grant").text
    assert _checked(page, "recommendations") == "true"
    assert 'data-status="pending_guardian"' in page
    assert "รอความยินยอมจากผู้ปกครอง" in page


def test_under_sixteen_only_a_guardian_can_consent_th_min_01(signed_in, customer, factory, keyring):
    with session_scope(factory) as s:
        profiles_service.set_birth_date(
            s, keyring=keyring, subject_id=customer.id, now=datetime.now(UTC),
            birth_date=date(date.today().year - 12, 1, 1),
        )  # fmt: skip
    page = signed_in.get("/privacy/consents").text
    assert 'data-status="guardian_required"' in page
    assert re.search(r'data-testid="switch-recommendations" disabled', page)


def test_an_objection_to_one_li_purpose_is_lifted_as_its_kind_th_dsr_03(
    signed_in, customer, factory
):
    with session_scope(factory) as s:
        profiles_service.set_purpose_objection(
            s, subject_id=customer.id, purpose="fraud_prevention", objected=True,
            now=datetime.now(UTC),
        )  # fmt: skip
    page = signed_in.get("/privacy/data").text
    assert 'id="objection_lift-to"' in page
    assert '<option value="legitimate_interest">' in page
    assert "legitimate_interest:" not in page
