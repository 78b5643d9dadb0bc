"""Crypto-shredding: once a subject's data key is destroyed nothing of theirs opens (TH-DSR-04)."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from rujai.cli.profiles import app as profiles_cli
from rujai.config import get_settings
from rujai.errors import Conflict
from rujai.events import service as events_service
from rujai.policy import service as policy_service
from rujai.profiles import identities, merge as profiles_merge, service as profiles_service, traits
from rujai.profiles.errors import SubjectErased
from rujai.profiles.models import Subject
from rujai.profiles.schemas import IdentifyCreate
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.factories import NOW, make_anonymous_subject, make_purchase, make_subject

VICTIM, BYSTANDER = "C-SHRED-1", "C-SHRED-2"


def _profile(session, keyring, policy, customer_id, email, name):
    subject = make_subject(session, keyring, customer_id)
    traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=subject.id,
        traits={"email": email, "first_name": name}, source="api", now=NOW,
    )  # fmt: skip
    make_purchase(session, keyring, policy, customer_id=customer_id, order_id=f"ORD-{name}")
    return subject


def _permit(session, keyring, policy, subject_id):
    return policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=subject_id,
        purpose="order_fulfilment", categories=["contact", "identity", "purchase_history"],
        now=NOW, actor="test",
    )  # fmt: skip


def _read_everything(session, keyring, policy, subject_id):
    permit = _permit(session, keyring, policy, subject_id)
    return (
        traits.get_traits(session, keyring=keyring, permit=permit, subject_id=subject_id),
        identities.list_identities(session, keyring=keyring, permit=permit, subject_id=subject_id),
        events_service.export_subject(
            session, keyring=keyring, permit=permit, subject_id=subject_id
        ),
    )


def test_nothing_of_a_shredded_subject_can_be_decrypted(session, keyring, policy):
    victim = _profile(session, keyring, policy, VICTIM, "somsri.k@example.com", "สมศรี")
    bystander = _profile(session, keyring, policy, BYSTANDER, "wichai.p@example.com", "วิชัย")
    identities.destroy_data_key(session, subject_id=victim.id, now=NOW, actor="test")
    session.commit()
    assert session.get(Subject, victim.id).data_key_wrapped is None
    permit = _permit(session, keyring, policy, victim.id)
    readers = [
        lambda: traits.get_traits(session, keyring=keyring, permit=permit, subject_id=victim.id),
        lambda: identities.list_identities(
            session, keyring=keyring, permit=permit, subject_id=victim.id
        ),
        lambda: traits.export_subject(
            session, keyring=keyring, permit=permit, subject_id=victim.id
        ),
        lambda: events_service.export_subject(
            session, keyring=keyring, permit=permit, subject_id=victim.id
        ),
    ]
    for read in readers:
        with pytest.raises(Conflict) as info:  # a domain error (409), not a crypto traceback
            read()
        assert "shredded" in info.value.message or "erased" in info.value.message
    got_traits, got_identities, got_events = _read_everything(
        session, keyring, policy, bystander.id
    )
    assert got_traits == {"email": "wichai.p@example.com", "first_name": "วิชัย"}
    assert [i.value for i in got_identities] == ["wichai.p@example.com"]
    assert [e.properties["order_id"] for e in got_events] == ["ORD-วิชัย"]


def test_a_shredded_subject_takes_no_new_data(session, keyring, policy):
    victim = make_subject(session, keyring, VICTIM)
    identities.destroy_data_key(session, subject_id=victim.id, now=NOW, actor="test")
    with pytest.raises(SubjectErased):
        traits.set_traits(
            session, keyring=keyring, policy=policy, subject_id=victim.id,
            traits={"first_name": "สมศรี"}, source="api", now=NOW,
        )  # fmt: skip
    with pytest.raises(SubjectErased):
        profiles_merge.identify(
            session, keyring=keyring, policy=policy, body=IdentifyCreate(customer_id=VICTIM),
            now=NOW, actor="test",
        )  # fmt: skip
    anon = make_anonymous_subject(session, keyring)
    with pytest.raises(SubjectErased):
        profiles_merge.merge(
            session, keyring=keyring, policy=policy, from_subject_id=anon.id,
            into_subject_id=victim.id, now=NOW, actor="test",
        )  # fmt: skip


def test_destroying_a_key_twice_is_harmless(session, keyring):
    victim = make_subject(session, keyring, VICTIM)
    identities.destroy_data_key(session, subject_id=victim.id, now=NOW, actor="test")
    again = identities.destroy_data_key(session, subject_id=victim.id, now=NOW, actor="test")
    assert again.id == victim.id


@pytest.fixture
def cli_env(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_shred_needs_yes_and_then_destroys_the_key(cli_env, factory, keyring):
    with factory() as s, s.begin():
        victim = make_subject(s, keyring, VICTIM)
    runner = CliRunner()
    refused = runner.invoke(profiles_cli, ["shred", VICTIM])
    assert refused.exit_code == 1
    with factory() as s:
        assert s.get(Subject, victim.id).data_key_wrapped is not None
    done = runner.invoke(profiles_cli, ["shred", VICTIM, "--yes"])
    assert done.exit_code == 0, done.output
    assert str(victim.id) in done.output
    assert VICTIM not in done.output
    with factory() as s:
        assert s.scalar(select(Subject.data_key_wrapped).where(Subject.id == victim.id)) is None
        assert profiles_service.find_id(s, keyring=keyring, customer_id=VICTIM) == victim.id
    unknown = runner.invoke(profiles_cli, ["shred", "C-NOBODY", "--yes"])
    assert unknown.exit_code == 1


def test_cli_lists_and_undoes_merges(cli_env, factory, keyring, policy):
    with factory() as s, s.begin():
        known = make_subject(s, keyring, VICTIM)
        anon = make_anonymous_subject(s, keyring)
        merged = profiles_merge.merge(
            s, keyring=keyring, policy=policy, from_subject_id=anon.id,
            into_subject_id=known.id, now=NOW, actor="test",
        )  # fmt: skip
    runner = CliRunner()
    listed = runner.invoke(profiles_cli, ["merges", "--subject", str(anon.id)])
    assert listed.exit_code == 0, listed.output
    assert str(merged.id)[:8] in listed.output
    undone = runner.invoke(profiles_cli, ["undo-merge", str(merged.id)])
    assert undone.exit_code == 0, undone.output
    assert runner.invoke(profiles_cli, ["undo-merge", str(merged.id)]).exit_code == 1
