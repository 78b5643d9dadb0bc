"""Decision previews in the console (issue 12, least privilege): a marketer previews test profiles
only; a real customer needs the lookup role and a stated reason, audited like the lookup; a
preview is never stored in anyone's decision history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rujai.config import Settings
from rujai.personalize.models import Decision
from rujai.profiles import service as profiles_service
from rujai.writer import session_scope
from tests.factories import make_consent
from tests.web import live
from tests.web.test_console import CUSTOMER, customer, entries, post, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")
TEST_PROFILE = "QA-PREVIEW-1"


@pytest.fixture
def console(settings: Settings) -> Iterator[TestClient]:
    """The web app with one test profile configured (RUJAI_WEB__PREVIEW_TEST_PROFILES)."""
    settings.web.preview_test_profiles = [TEST_PROFILE]
    with TestClient(live.web_app(settings), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def profiles(factory, keyring, policy):
    """A real customer and a test profile, both consenting to personalized offers."""
    real = customer(factory, keyring, policy)
    with session_scope(factory) as s:
        for customer_id in (CUSTOMER, TEST_PROFILE):
            make_consent(s, keyring, policy, "personalized_offers", customer_id=customer_id)
        test = profiles_service.find_id(s, keyring=keyring, customer_id=TEST_PROFILE)
    return real, test


def _decisions(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Decision)) or 0


def _preview(client, customer_id: str, **extra: str):
    return post(client, "/console/preview", {"customer_id": customer_id,
                                              "placement": "app_offer", **extra})  # fmt: skip


def test_a_marketer_previews_a_test_profile_and_nothing_is_stored(console, team, factory, profiles):
    _, test = profiles
    sign_in(console, "marketer")
    page = console.get("/console/preview").text
    assert TEST_PROFILE in page
    assert 'name="reason"' not in page  # a marketer cannot ask for a real customer
    response = _preview(console, TEST_PROFILE)
    assert response.status_code == 200, response.text
    assert 'data-testid="decision"' in response.text
    assert "ตัวอย่าง" in response.text  # the preview badge (Thai by default)
    assert _decisions(factory) == 0
    [entry] = entries(factory, "console.preview")
    assert (entry.actor, entry.subject_id, entry.outcome) == (
        "staff:marketer",
        test,
        "test_profile",
    )


@pytest.mark.parametrize("customer_id", [CUSTOMER, "C-NOBODY-AT-ALL"])
def test_a_marketer_is_refused_any_other_customer_known_or_not(
    console, team, factory, profiles, customer_id
):
    """The same 403 whether or not the customer exists: no oracle, nothing read, audited."""
    sign_in(console, "marketer")
    response = _preview(console, customer_id, reason="complaint")
    assert response.status_code == 403
    assert "test profiles only" in response.text
    assert 'data-testid="decision"' not in response.text
    assert _decisions(factory) == 0
    [entry] = entries(factory, "console.preview")
    assert (entry.outcome, entry.subject_id) == ("refused", None)
    assert not [e for e in entries(factory, "policy.check") if e.subject_id == profiles[0]]


def test_an_admin_previews_a_real_customer_only_with_a_stated_reason(
    console, team, factory, profiles
):
    real, _ = profiles
    sign_in(console, "admin")
    assert 'name="reason"' in console.get("/console/preview").text
    missing = _preview(console, CUSTOMER)
    assert missing.status_code == 422
    assert "reason" in missing.text
    shown = _preview(console, CUSTOMER, reason="complaint")
    assert shown.status_code == 200, shown.text
    assert 'data-testid="decision"' in shown.text
    assert _decisions(factory) == 0  # never a decision in the customer's history
    [entry] = entries(factory, "console.preview")
    assert (entry.actor, entry.subject_id, entry.outcome) == ("staff:admin", real, "shown")
    assert entry.detail["reason"] == "complaint"
    assert entry.purpose == "personalized_offers"
