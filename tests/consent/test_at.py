"""Consent at a past time (TH-CON-04): ``GET /v1/subjects/{id}/consents?at=T`` and
``rujai consent history --at T`` answer what the ledger proves then, with its records, and
what the door decided then."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from rujai.apikeys import service as apikeys_service
from rujai.cli import app
from rujai.consent import at as consent_at, history as consent_history, service as consent_service
from rujai.consent.schemas import ROLE_OF_ACTOR
from tests.factories import NOW, make_consent, make_subject

LATER = NOW + timedelta(days=3650)
runner = CliRunner()


def _key(factory, *scopes):
    with factory() as s, s.begin():
        created = apikeys_service.create(s, name="test shop", scopes=list(scopes), now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def _state(session, keyring, policy, customer_id, at, **kw):
    return consent_at.state_at(
        session, keyring=keyring, policy=policy, customer_id=customer_id, at=at, now=LATER, **kw
    )


STEP = st.tuples(
    st.sampled_from(["recommendations", "personalized_offers"]),
    st.sampled_from(["self", "staff", "parent"]),
    st.sampled_from(["grant", "withdraw"]),
    st.integers(min_value=1, max_value=100_000),
)


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=6), probe=st.integers(0, 400_000))
def test_state_at_equals_replaying_only_records_up_to_that_time(
    session, keyring, policy, steps, probe
):
    """TH-CON-04: the state at T is what replaying only the records with time <= T gives, and
    the verdict at T is the one the door gave right after the last of them."""
    customer_id = f"C-AT-{uuid.uuid4().hex[:12]}"
    subject = make_subject(session, keyring, customer_id)
    moment, decided = NOW, [(NOW - timedelta(seconds=1), None)]
    for purpose, actor, action, gap in steps:
        moment += timedelta(seconds=gap)
        make_consent(session, keyring, policy, purpose, customer_id=customer_id,
                     action=action, actor=actor, now=moment)  # fmt: skip
        now_state = consent_service.current(
            session, keyring=keyring, policy=policy, customer_id=customer_id, now=moment
        )
        decided.append((moment, {p.purpose: (p.allowed, p.reason) for p in now_state.purposes}))
    at = NOW + timedelta(seconds=probe)
    state = _state(session, keyring, policy, customer_id, at)
    ledger = [r for r in consent_history.history(session, subject_id=subject.id)
              if r.recorded_at <= at]  # fmt: skip
    for p in state.purposes:
        mine = [r for r in ledger if r.purpose == p.purpose]
        latest = {ROLE_OF_ACTOR[r.actor]: r for r in mine}
        expected = (
            "none" if not mine else ("granted" if mine[-1].action == "grant" else "withdrawn")
        )
        assert p.state == expected
        assert {r.record_id for r in p.records} == {r.id for r in latest.values()}
    verdicts = [v for t, v in decided if t <= at][-1]
    if verdicts is not None:
        assert {p.purpose: (p.allowed, p.reason) for p in state.purposes} == verdicts


def test_a_withdrawal_shows_at_later_times_only(session, keyring, policy):
    """TH-CON-04, TH-CON-03: before the withdrawal the grant stands, with its record."""
    make_subject(session, keyring, "C-AT-1")
    grant = make_consent(session, keyring, policy, "recommendations", customer_id="C-AT-1",
                         actor="self", now=NOW)  # fmt: skip
    withdraw = make_consent(session, keyring, policy, "recommendations", customer_id="C-AT-1",
                            action="withdraw", now=NOW + timedelta(days=2))  # fmt: skip
    before = _state(session, keyring, policy, "C-AT-1", NOW + timedelta(days=1),
                    purpose="recommendations")  # fmt: skip
    [p] = before.purposes
    assert (p.state, p.by, p.allowed, p.reason) == ("granted", "self", True, "allowed_consent")
    assert [r.record_id for r in p.records] == [grant.receipt_id]
    assert p.records[0].notice_hash == grant.notice_hash
    after = _state(session, keyring, policy, "C-AT-1", NOW + timedelta(days=3))
    [p] = [x for x in after.purposes if x.purpose == "recommendations"]
    assert (p.state, p.allowed, p.reason) == ("withdrawn", False, "withdrawn")
    assert [r.record_id for r in p.records] == [withdraw.receipt_id]
    assert {x.state for x in after.purposes if x.purpose != "recommendations"} == {"none"}


def test_api_at_returns_the_past_state(client, factory, keyring, policy):
    """TH-CON-04: ``?at=T`` answers the state the ledger proves at T, with its records."""
    with factory() as s, s.begin():
        make_subject(s, keyring, "C-AT-API")
        make_consent(s, keyring, policy, "analytics", customer_id="C-AT-API", now=NOW)
    headers = _key(factory, "consent")
    url = "/v1/subjects/C-AT-API/consents"
    past = client.get(url, params={"at": (NOW + timedelta(hours=1)).isoformat()}, headers=headers)
    assert past.status_code == 200, past.text
    states = {p["purpose"]: p for p in past.json()["purposes"]}
    assert states["analytics"]["state"] == "granted"
    assert states["analytics"]["records"][0]["language"] == "th"
    earlier = client.get(
        url, params={"at": (NOW - timedelta(hours=1)).isoformat(), "purpose": "analytics"},
        headers=headers,
    )  # fmt: skip
    assert [p["state"] for p in earlier.json()["purposes"]] == ["none"]
    assert "history" in client.get(url, headers=headers).json()  # without at: as before


def test_api_refuses_a_naive_future_or_garbled_at_naming_the_field(client, factory, keyring):
    with factory() as s, s.begin():
        make_subject(s, keyring, "C-AT-BAD")
    headers = _key(factory, "consent")
    url = "/v1/subjects/C-AT-BAD/consents"
    for bad in ("2026-01-02T03:04:05", "2999-01-01T00:00:00+07:00", "yesterday"):
        refused = client.get(url, params={"at": bad}, headers=headers)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["field"] == "at", refused.text


def test_cli_history_at_prints_table_and_json(cli_env, factory, keyring, policy):
    """TH-CON-04: ``rujai consent history --customer ID --at T``."""
    with factory() as s, s.begin():
        make_subject(s, keyring, "C-AT-CLI")
        make_consent(s, keyring, policy, "analytics", customer_id="C-AT-CLI", now=NOW)
    at = (NOW + timedelta(minutes=5)).isoformat()
    shown = runner.invoke(app, ["consent", "history", "--customer", "C-AT-CLI", "--at", at])
    assert shown.exit_code == 0, shown.output
    assert "analytics" in shown.stdout
    assert "granted" in shown.stdout
    as_json = runner.invoke(
        app, ["consent", "history", "--customer", "C-AT-CLI", "--at", at, "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    states = {p["purpose"]: p["state"] for p in json.loads(as_json.stdout)["purposes"]}
    assert states["analytics"] == "granted"
    naive = runner.invoke(
        app, ["consent", "history", "--customer", "C-AT-CLI", "--at", "2026-01-01"]
    )
    assert naive.exit_code != 0
    assert "--at" in naive.output


def test_an_at_that_cannot_be_shown_in_utc_is_refused_naming_the_field(session, keyring, policy):
    from datetime import UTC, datetime, timezone

    import pytest

    from rujai.errors import Invalid

    make_subject(session, keyring, "C-AT-EDGE")
    edge = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(Invalid) as refused:
        _state(session, keyring, policy, "C-AT-EDGE", edge)
    assert refused.value.field == "at"
    old = _state(session, keyring, policy, "C-AT-EDGE", datetime(1990, 1, 1, tzinfo=UTC))
    assert {p.state for p in old.purposes} == {"none"}
