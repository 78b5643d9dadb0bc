"""Access and portability copies (TH-DSR-01, TH-DSR-02): complete, documented, and portable."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import jsonschema
import pytest
from sqlalchemy import select

from rujai.audit.models import AuditEntry
from rujai.consent import service as consent_service
from rujai.consent.receipts import verify_receipt
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.errors import Invalid, PolicyDenied
from rujai.events import service as events_service
from rujai.kit.crypto import Keyring
from rujai.policy.rules import Objection
from rujai.policy.schemas import Policy
from rujai.profiles import identities, service as profiles_service, traits as profiles_traits
from rujai.rights import erasure, export, export_format, importer
from rujai.writer import session_scope
from tests.factories import rights_permit
from tests.rights.test_erasure import ANONYMOUS, CUSTOMER, EMAIL, NOW, build_person


def _zip(factory, keyring, policy, subject_id) -> zipfile.ZipFile:
    with session_scope(factory) as s:
        data = export.build_export(
            s, keyring=keyring, policy=policy, subject_id=subject_id, now=NOW
        )
    return zipfile.ZipFile(io.BytesIO(data))


@pytest.fixture
def person(factory, keyring, policy):
    return build_person(factory, keyring, policy)


@pytest.fixture
def copy(factory, keyring, policy, person) -> zipfile.ZipFile:
    return _zip(factory, keyring, policy, person.subject_id)


def test_export_json_validates_against_the_published_schema(copy):
    """TH-DSR-02: machine-readable, with a published JSON Schema (draft 2020-12)."""
    document = json.loads(copy.read("export.json"))
    schema = json.loads(copy.read("export.schema.json"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert schema == export_format.published_schema()


def test_published_schema_file_matches_the_export_models():
    """The shipped export.schema.json is exactly what the models write (never stale)."""
    assert export_format.schema_text() == export_format.schema_file_text()


def test_export_holds_everything_about_the_person(copy, person, keyring):
    """TH-DSR-01: profile, identities, consents, events, insights with sources, decisions."""
    document = json.loads(copy.read("export.json"))
    assert document["subject"]["customer_id"] == CUSTOMER
    assert document["subject"]["birth_date"] == "1990-05-17"
    assert len(document["subject"]["merged_profiles"]) == 1
    assert {(i["kind"], i["value"]) for i in document["identities"]} == {
        ("email", EMAIL), ("anonymous", ANONYMOUS),
    }  # fmt: skip
    assert {t["name"]: t["value"] for t in document["traits"]}["first_name"] == "สมชาย"
    assert len(document["events"]) == 5
    assert {e["properties"]["order_id"] for e in document["events"]} >= {"O-DEVICE-1"}
    assert all(verify_receipt(keyring, c["receipt"]) for c in document["consents"])
    assert document["insights"]
    assert all("categories" in i for i in document["insights"])
    assert document["recommender"]["item_ids"]


def test_export_contains_the_decisions_with_their_reasons(copy, person):
    """Invariant 4 / TH-DSR-01: every decision made about the subject, explained in th and en."""
    decisions = json.loads(copy.read("export.json"))["decisions"]
    assert [d["id"] for d in decisions] == [str(person.decision_id)]
    assert decisions[0]["reason"]
    assert decisions[0]["reason_text"]["th"]
    assert decisions[0]["reason_text"]["en"]


def test_export_says_which_purposes_apply_with_basis_retention_and_recipients(copy):
    document = json.loads(copy.read("export.json"))
    purposes = {p["id"]: p for p in document["purposes"]}
    assert purposes["recommendations"]["applies"] is True
    assert purposes["email_marketing"]["applies"] is False
    assert purposes["order_fulfilment"]["basis"] == "contract"
    assert purposes["accounting_records"]["retention_days"] == 1825
    assert {r["id"] for r in document["recipients"]} >= {"lumen_mail", "swift_delivery"}


def test_export_holds_no_other_subjects_data(factory, keyring, policy, copy):
    with session_scope(factory) as s:
        other = profiles_service.find_id(s, keyring=keyring, customer_id="C-OTHER-1")
    everything = b"".join(copy.read(name) for name in copy.namelist()).decode("utf-8-sig")
    assert "C-OTHER-" not in everything
    assert str(other) not in everything


def test_csv_tables_are_utf8_with_bom_and_show_thai(copy):
    names = set(copy.namelist())
    assert {f"csv/{t}.csv" for t in export_format.TABLES} <= names
    raw = copy.read("csv/traits.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {"name": "first_name", "category": "identity", "value": "สมชาย"} in rows
    events = list(csv.DictReader(io.StringIO(copy.read("csv/events.csv").decode("utf-8-sig"))))
    assert len(events) == 5
    assert all(e["properties_item_id"].startswith("SKU-") for e in events)


def test_csv_cells_never_start_a_formula():
    table = export_format.csv_tables({"traits": [{"name": "x", "value": "=HYPERLINK(1)"}]})
    assert b"'=HYPERLINK(1)" in table["traits.csv"]


def test_summary_is_thai_and_english_self_contained_with_buddhist_era_dates(copy):
    html = copy.read("summary.html").decode()
    assert "สำเนาข้อมูลส่วนบุคคลของคุณ" in html
    assert "A copy of your personal data" in html
    assert f"พ.ศ. {NOW.year + 543}" in html
    assert "พ.ศ. 2533" in html
    assert f" {NOW.year}" in html
    assert not re.search(r"<(script|link|img|iframe)\b|url\(|src=|https?://", html)


def test_export_is_authorised_and_audited_with_counts_only(factory, copy, person):
    with session_scope(factory) as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == person.subject_id)
        ).all()
    check = [e for e in entries if e.action == "policy.check" and e.purpose == "rights_requests"]
    done = [e for e in entries if e.action == "rights.export"]
    assert check
    assert check[-1].detail["allowed"] is True
    assert len(done) == 1
    assert done[0].detail["events"] == 5
    assert CUSTOMER not in json.dumps(done[0].detail)
    assert EMAIL not in json.dumps(done[0].detail)


def _rights_checks(factory, subject_id) -> list[AuditEntry]:
    with session_scope(factory) as s:
        return list(
            s.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.subject_id == subject_id,
                    AuditEntry.action == "policy.check",
                    AuditEntry.purpose == "rights_requests",
                )
                .order_by(AuditEntry.seq)
            )
        )


def test_restricted_subject_gets_their_copy_through_the_door_th_dsr_05_th_dsr_01(
    factory, keyring, policy, person
):
    """Restriction stops processing (TH-DSR-05), not the subject's own access (TH-DSR-01,
    PDPA s.30): the copy still takes a permit, audited as ``policy.check`` ``answer_rights``."""
    with session_scope(factory) as s:
        profiles_service.set_restricted(s, subject_id=person.subject_id, restricted=True, now=NOW)
    seen = len(_rights_checks(factory, person.subject_id))
    copy = _zip(factory, keyring, policy, person.subject_id)
    assert json.loads(copy.read("export.json"))["subject"]["is_restricted"] is True
    (check,) = _rights_checks(factory, person.subject_id)[seen:]
    assert check.detail["action"] == "answer_rights"
    assert check.detail["allowed"] is True
    assert check.outcome == "allowed_basis"
    assert check.detail["basis"] == "legal_obligation"
    assert set(check.detail["categories"]) == set(policy.purposes["rights_requests"].categories)


def test_objecting_subject_still_gets_their_copy_th_dsr_01(factory, keyring, policy, person):
    """An objection (TH-DSR-03) does not stop answering the subject's own access request."""
    with session_scope(factory) as s:
        for objection in Objection:
            profiles_service.set_objection(
                s, subject_id=person.subject_id, objection=objection, objected=True, now=NOW
            )
    copy = _zip(factory, keyring, policy, person.subject_id)
    assert set(json.loads(copy.read("export.json"))["subject"]["objections"]) == set(Objection)
    assert _rights_checks(factory, person.subject_id)[-1].detail["action"] == "answer_rights"


def _without_rights_purpose(policy: Policy) -> Policy:
    data = policy.model_dump()
    del data["purposes"]["rights_requests"]
    return Policy.model_validate(data)


def test_copy_is_refused_under_a_policy_without_the_rights_purpose_th_dsr_01(
    factory, keyring, policy, person
):
    """TH-DSR-01: a copy is answered only for a legal-obligation ``rights_requests`` purpose;
    without one the door refuses it (audited even though the request rolls back)."""
    bare = _without_rights_purpose(policy)
    with (
        pytest.raises(PolicyDenied, match="rights_requests") as refused,
        session_scope(factory) as s,
    ):
        export.build_export(s, keyring=keyring, policy=bare, subject_id=person.subject_id, now=NOW)
    assert refused.value.reason == "unknown_purpose"
    last = _rights_checks(factory, person.subject_id)[-1]
    assert (last.outcome, last.detail["allowed"]) == ("unknown_purpose", False)
    assert last.detail["action"] == "answer_rights"
    with session_scope(factory) as s:
        done = s.scalars(select(AuditEntry).where(AuditEntry.action == "rights.export")).all()
    assert done == []


def test_round_trip_into_a_fresh_rujai_reproduces_the_profile(
    factory, keyring, policy, person, copy, tmp_path
):
    """TH-DSR-02 acceptance: customer id, identities, traits, consent state and events."""
    url = f"sqlite:///{tmp_path / 'other-controller.db'}"
    upgrade(url)
    engine = make_engine(url)
    target, other_keys = make_session_factory(engine), Keyring(bytes(range(1, 33)))
    data = _bytes(copy)
    try:
        with session_scope(target) as s:
            report = importer.import_export(
                s, keyring=other_keys, policy=policy, data=data, now=NOW
            )
        assert report.status == "imported"
        assert report.events_accepted == 5
        assert report.consents_skipped == {}
        with session_scope(target) as s, session_scope(factory) as src:
            assert _profile(s, other_keys, policy) == _profile(src, keyring, policy)
    finally:
        engine.dispose()


def _bytes(archive: zipfile.ZipFile) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for name in archive.namelist():
            copy.writestr(name, archive.read(name))
    return out.getvalue()


def _profile(session, keyring, policy):
    """What must survive the trip, without ids that are local to one rujai."""
    sid = profiles_service.find_id(session, keyring=keyring, customer_id=CUSTOMER)
    permit = rights_permit(session, keyring, policy, sid)
    data = profiles_traits.export_subject(session, keyring=keyring, permit=permit, subject_id=sid)
    state = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id=CUSTOMER, now=NOW
    )
    events = events_service.export_subject(session, keyring=keyring, permit=permit, subject_id=sid)
    assert identities.find_by_identity(session, keyring=keyring, kind="email", value=EMAIL) == sid
    return {
        "identities": sorted((i.kind, i.value, i.is_verified) for i in data.identities),
        "traits": data.traits,
        "consents": sorted((p.purpose, p.status) for p in state.purposes),
        "events": sorted(
            (e.message_id, e.type, e.occurred_at, json.dumps(e.properties, sort_keys=True))
            for e in events
        ),
        "facts": profiles_service.facts(session, keyring=keyring, subject_id=sid, now=NOW).age,
    }


def test_import_of_an_erased_person_is_flagged_not_recreated(
    factory, keyring, policy, person, copy
):
    """TH-DSR-04: the suppression entry stops a silent re-creation."""
    data = _bytes(copy)
    with session_scope(factory) as s:
        erasure.erase(
            s, keyring=keyring, policy=policy, subject_id=person.subject_id,
            request_id=person.request_id, now=NOW, actor="test",
        )  # fmt: skip
    with session_scope(factory) as s:
        report = importer.import_export(s, keyring=keyring, policy=policy, data=data, now=NOW)
    assert report.status == "suppressed"
    assert report.subject_id is None
    with session_scope(factory) as s:
        assert profiles_service.find_id(s, keyring=keyring, customer_id=CUSTOMER) is None


def test_import_of_a_known_customer_is_a_conflict(factory, keyring, policy, copy):
    with session_scope(factory) as s, pytest.raises(importer.SubjectAlreadyExists):
        importer.import_export(s, keyring=keyring, policy=policy, data=_bytes(copy), now=NOW)


def test_import_refuses_what_is_not_an_export_naming_the_file(factory, keyring, policy):
    with session_scope(factory) as s, pytest.raises(Invalid) as refused:
        importer.import_export(s, keyring=keyring, policy=policy, data=b"PK nonsense", now=NOW)
    assert refused.value.field == "file"


def test_round_trip_of_an_anonymous_profile_keeps_its_device_and_events(
    factory, keyring, policy, tmp_path
):
    """A visitor who never signed in: the copy names the device id, and events come along."""
    from tests.factories import make_anonymous_subject, make_purchase

    with session_scope(factory) as s:
        visitor = make_anonymous_subject(s, keyring, "device-rt-77", now=NOW)
        make_purchase(s, keyring, policy, anonymous_id="device-rt-77", order_id="O-RT-1", now=NOW)
    data = _bytes(_zip(factory, keyring, policy, visitor.id))
    url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            report = importer.import_export(s, keyring=keyring, policy=policy, data=data, now=NOW)
            assert report.status == "imported"
            assert report.events_accepted == 1
            found = identities.find_by_identity(
                s, keyring=keyring, kind="anonymous", value="device-rt-77"
            )
            assert found == report.subject_id
    finally:
        engine.dispose()
