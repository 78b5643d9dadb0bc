"""``verify.scan`` / ``rujai rights verify-erasure`` find what an erasure missed (TH-DSR-04).

Disabling one domain's ``erase_subject`` (a no-op in its place; the database is real) must make
the scan name that domain's table: the scan walks ``Base.metadata``, not a hand-kept list.
"""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner

from rujai.audit import service as audit_service
from rujai.cli.rights import app as rights_cli
from rujai.config import get_settings
from rujai.consent import history as consent_history
from rujai.events import service as events_service
from rujai.personalize import decide, recommend
from rujai.personalize.models import RecommenderMember
from rujai.profiles import traits as profiles_traits
from rujai.rights import erasure, verify
from rujai.rights.models import RightsRequest
from rujai.writer import session_scope
from tests.conftest import EXAMPLE_POLICY, TEST_MASTER_KEY
from tests.rights.test_erasure import CUSTOMER, EMAIL, NOW, _erase, _scan, build_person


def _noop(*_args, **_kwargs) -> int:
    return 0


@pytest.mark.parametrize(
    ("module", "table"),
    [
        (events_service, "event"),
        (consent_history, "consent_record"),
        (decide, "decision"),
        (profiles_traits, "identity"),
    ],
)
def test_verify_erasure_names_the_table_a_disabled_domain_left(
    factory, keyring, policy, monkeypatch, module, table
):
    """Invariant 3 is checked, not assumed: a domain that erases nothing is reported."""
    person = build_person(factory, keyring, policy)
    monkeypatch.setattr(module, "erase_subject", _noop)
    report = _erase(factory, keyring, policy, person)
    assert report.is_complete is False
    assert table in report.leftovers
    found = _scan(factory, keyring)
    assert table in {leftover.table for leftover in found.leftovers}
    # TH-DSR-04 lockdown: the subject stays, crypto-shredded, instead of a hidden cascade.
    assert "subject" in {leftover.table for leftover in found.leftovers}


def test_verify_erasure_reports_personal_data_in_audit_detail(factory, keyring, policy):
    """The audit log may keep the pseudonymous UUID, never the customer id (TH-SEC-01)."""
    person = build_person(factory, keyring, policy)
    _erase(factory, keyring, policy, person)
    with session_scope(factory) as s:
        audit_service.record(
            s, actor="test", action="test.note", now=NOW, detail={"note": CUSTOMER}
        )
    found = _scan(factory, keyring)
    assert [(x.table, x.column, x.why) for x in found.leftovers] == [
        ("audit_entry", "detail", "personal_data_in_json")
    ]


def test_verify_erasure_reports_the_subject_uuid_left_in_json(factory, keyring, policy):
    person = build_person(factory, keyring, policy)
    with session_scope(factory) as s:
        s.execute(
            update(RightsRequest)
            .where(RightsRequest.id == person.request_id)
            .values(result={"subject": str(person.subject_id)})
        )
    _erase(factory, keyring, policy, person)
    found = _scan(factory, keyring)
    assert [(x.table, x.column, x.why) for x in found.leftovers] == [
        ("rights_request", "result", "uuid_in_json")
    ]


def test_verify_erasure_catches_a_model_that_still_holds_the_subject(
    factory, keyring, policy, monkeypatch
):
    """TH-DSR-04 "including models": dropping the member row without unlearning is caught."""
    person = build_person(factory, keyring, policy)

    def forget_row_only(session, *, subject_id, **_kwargs):
        session.execute(delete(RecommenderMember).where(RecommenderMember.subject_id == subject_id))

    monkeypatch.setattr(recommend, "unlearn_subject", forget_row_only)
    _erase(factory, keyring, policy, person)
    found = _scan(factory, keyring)
    assert found.model.is_member is False
    assert found.model.matches_reference is False
    assert [x.table for x in found.leftovers] == ["recommender_model"]


@pytest.fixture
def cli_env(db_url, factory, monkeypatch):
    monkeypatch.setenv("RUJAI_SECURITY__MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    monkeypatch.setenv("RUJAI_POLICY__PATH", str(EXAMPLE_POLICY))
    monkeypatch.setenv("RUJAI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_export_erase_and_verify_erasure(cli_env, factory, keyring, policy, tmp_path):
    build_person(factory, keyring, policy)
    runner = CliRunner()
    out = tmp_path / "copy.zip"
    exported = runner.invoke(rights_cli, ["export", CUSTOMER, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert "export.json" in zipfile.ZipFile(io.BytesIO(out.read_bytes())).namelist()
    left = runner.invoke(rights_cli, ["verify-erasure", CUSTOMER])
    assert left.exit_code == 1
    assert "event" in left.output
    assert runner.invoke(rights_cli, ["erase", CUSTOMER]).exit_code == 1  # needs --yes
    erased = runner.invoke(rights_cli, ["erase", CUSTOMER, "--yes"])
    assert erased.exit_code == 0, erased.output
    subject = erased.output.split()[1]
    clean = runner.invoke(
        rights_cli, ["verify-erasure", CUSTOMER, "--subject", subject, "--also", EMAIL]
    )
    assert clean.exit_code == 0, clean.output
    assert "nothing left" in clean.output
    assert CUSTOMER not in erased.output
    refused = runner.invoke(rights_cli, ["import", str(out)])
    assert refused.exit_code == 1
    assert "erased" in refused.output


def test_scan_without_targets_searches_nothing_and_finds_nothing(factory, keyring):
    with session_scope(factory) as s:
        report = verify.scan(s, keyring=keyring)
    assert report.is_clean
    assert report.needles == 0
    assert report.subject_ids == []
    assert report.tables_scanned >= 20


def test_is_suppressed_is_false_on_an_empty_table(factory):
    with session_scope(factory) as s:
        assert erasure.suppressed_many(s, []) == set()
        assert not erasure.is_suppressed(s, "email", "0" * 64)
