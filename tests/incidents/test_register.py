"""The breach register over seeded data (TH-BRE-01, EU-04): blast radius, clock, drafts, notices.

Runs on SQLite and PostgreSQL (the ``session`` fixture is parametrized in tests/conftest.py).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from rujai.audit import service as audit_service
from rujai.errors import Invalid
from rujai.incidents import blast, export, notices, service
from rujai.incidents.errors import IncidentStateConflict
from rujai.incidents.schemas import AssessmentCreate
from tests.factories import NOW
from tests.incidents.seeding import WINDOW_FROM, WINDOW_TO, incident_body, seed

SCHEMA = Path(export.__file__).parent / "schema" / "register.schema.json"


def _assessment(**overrides: object) -> AssessmentCreate:
    fields: dict[str, object] = {
        "data_kinds": ["purchase_history", "contact", "health"], "subject_count": 3,
        "record_count": 6, "is_sensitive": True, "has_minors": True, "likelihood": "high",
        "severity": "medium", "measures": "Bucket made private; access keys rotated.",
        "decision": "notify_and_subjects",
        "reasoning": "Health data of customers and a minor's purchases were readable.",
    }  # fmt: skip
    fields.update(overrides)
    return AssessmentCreate.model_validate(fields)


def _declare(session, policy, **overrides):
    return service.declare(
        session, policy=policy, body=incident_body(**overrides), now=NOW, actor="staff:admin"
    )


def _radius(session, keyring, policy, incident, *, with_subjects=True):
    window = blast.window_of(
        incident.id, incident.categories, incident.occurred_from, incident.occurred_to
    )
    return blast.measure(
        session, keyring=keyring, policy=policy, window=window, with_subjects=with_subjects,
        now=NOW, actor="staff:admin",
    )  # fmt: skip


def test_blast_radius_finds_the_right_subjects_categories_minors_and_sensitive_th_bre_01(
    session, keyring, policy
):
    people = seed(session, keyring, policy)
    incident = _declare(session, policy)
    radius = _radius(session, keyring, policy, incident)
    listed = {s.customer_id: s for s in radius.subjects or []}
    assert set(listed) == {"C-INC-A", "C-INC-B"}  # C is outside the window; D only sensitive
    assert listed["C-INC-A"].categories == ["contact", "purchase_history"]
    assert listed["C-INC-B"].categories == ["purchase_history"]
    assert listed["C-INC-B"].is_minor
    assert not listed["C-INC-A"].is_minor
    assert listed["C-INC-A"].subject_id == people.adult.id
    rows = {r.category: r for r in radius.categories}
    assert (rows["purchase_history"].subjects, rows["purchase_history"].records) == (2, 3)
    assert rows["contact"].subjects == 1
    assert (rows["health"].subjects, rows["health"].is_sensitive) == (1, True)  # counted only
    assert radius.sensitive_categories == ["health"]
    assert radius.sensitive_subject_count == 1
    assert radius.minor_count == 1
    assert radius.subject_count == 2
    assert radius.by_jurisdiction == {"TH": 2}


def test_blast_radius_counts_without_the_list_and_passes_the_door_th_bre_01(
    session, keyring, policy
):
    seed(session, keyring, policy)
    incident = _declare(session, policy)
    radius = _radius(session, keyring, policy, incident, with_subjects=False)
    assert radius.subjects is None
    assert radius.subject_count == 2
    door = audit_service.list_entries(session, action="policy.authorize_many", limit=5)
    assert door
    assert door[0].purpose == blast.BREACH_PURPOSE
    assert door[0].detail["granted"] == 2
    assert "C-INC-A" not in json.dumps([e.detail for e in door])


def test_a_window_before_the_data_touches_nobody(session, keyring, policy):
    seed(session, keyring, policy)
    early = _declare(
        session,
        policy,
        occurred_from=NOW - timedelta(days=40),
        occurred_to=NOW - timedelta(days=30),
    )
    radius = _radius(session, keyring, policy, early)
    assert radius.subject_count == 0
    assert radius.subjects == []
    assert radius.by_jurisdiction == {}


def test_the_clock_is_72_hours_in_bangkok_time_and_buddhist_era_th_bre_01_eu_04(session, policy):
    incident = _declare(session, policy)
    clock = incident.clock
    assert clock.deadline - incident.aware_at == timedelta(hours=72)
    assert clock.deadline_th == "4 ธันวาคม พ.ศ. 2569 16:00 น."
    assert clock.deadline_en == "2026-12-04T16:00+07:00"
    assert clock.hours_left == 72.0
    assert clock.notice_to == "regulator"
    assert incident.reference.startswith("INC-2569-")


def test_overdue_is_flagged_and_reminded_th_bre_01(session, policy):
    incident = _declare(session, policy)
    soon = service.get(session, incident_id=incident.id, now=NOW + timedelta(hours=50))
    assert soon.clock.is_due_soon
    assert not soon.clock.is_overdue
    late = service.get(session, incident_id=incident.id, now=NOW + timedelta(hours=73))
    assert late.clock.is_overdue
    assert late.clock.hours_left == -1.0
    assert [i.id for i in service.reminders(session, now=NOW + timedelta(hours=73))] == [
        incident.id
    ]
    assert service.reminders(session, now=NOW + timedelta(hours=1)) == []


def test_both_drafts_in_thai_and_english_when_the_risk_is_high_th_bre_01(session, keyring, policy):
    seed(session, keyring, policy)
    incident = _declare(session, policy)
    assessed = service.assess(
        session, policy=policy, incident_id=incident.id, body=_assessment(), now=NOW,
        actor="staff:admin",
    )  # fmt: skip
    assert assessed.assessments[0].risk == "high"
    assert assessed.assessments[0].follows_risk
    th = notices.drafts(
        session, keyring=keyring, policy=policy, incident_id=incident.id, lang="th", now=NOW,
        actor="staff:admin",
    )  # fmt: skip
    en = notices.drafts(
        session, keyring=keyring, policy=policy, incident_id=incident.id, lang="en", now=NOW,
        actor="staff:admin",
    )  # fmt: skip
    assert "สำนักงานคณะกรรมการคุ้มครองข้อมูลส่วนบุคคล" in th.to_authority.body
    assert "2 ราย (ผู้เยาว์ 1 ราย)" in th.to_authority.body
    assert "4 ธันวาคม พ.ศ. 2569 16:00 น." in th.to_authority.body  # the deadline
    assert "dpo@example.com" in th.to_authority.body
    assert "ข้อมูลสุขภาพ" in th.to_authority.body  # the sensitive category, named
    assert "Bucket made private" in en.to_authority.body
    assert "PDPC" in en.to_authority.body
    assert "2026-12-01T16:00+07:00" in en.to_authority.body  # aware-at, ISO
    assert en.to_authority.subject.startswith("Notification of a personal data breach")
    assert th.to_subjects is not None
    assert en.to_subjects is not None
    assert "เลขที่" in th.to_subjects.subject
    assert "Data Protection Officer" in en.to_subjects.body
    assert "C-INC-A" not in th.to_authority.body + (th.to_subjects.body or "")


def test_subjects_get_their_notice_recorded_per_subject_th_bre_01(session, keyring, policy):
    seed(session, keyring, policy)
    incident = _declare(session, policy)
    service.assess(
        session, policy=policy, incident_id=incident.id, body=_assessment(), now=NOW,
        actor="staff:admin",
    )  # fmt: skip
    result = notices.notify_subjects(
        session, keyring=keyring, policy=policy, incident_id=incident.id, lang="th", now=NOW,
        actor="staff:admin",
    )  # fmt: skip
    assert result.sent + result.without_contact == 2
    told = notices.list_notices(session, incident_id=incident.id)
    assert len([n for n in told if n.audience == "subject"]) == 2
    done = notices.record_authority(
        session, incident_id=incident.id, reference="PDPC-2569-0042", lang="th", now=NOW,
        actor="staff:admin",
    )  # fmt: skip
    assert done.status == "notified"
    after = service.get(session, incident_id=incident.id, now=NOW + timedelta(hours=100))
    assert after.clock.is_stopped
    assert not after.clock.is_overdue
    entries = audit_service.list_entries(session, action="incident.notified", limit=5)
    assert {e.detail["audience"] for e in entries} == {"subject", "regulator"}
    assert all("Bucket" not in json.dumps(e.detail) for e in entries)


def test_the_no_notice_path_keeps_its_assessment_and_reasoning_th_bre_01(session, policy):
    incident = _declare(session, policy, categories=["browsing"])
    kept = service.assess(
        session, policy=policy, incident_id=incident.id,
        body=_assessment(
            data_kinds=["browsing"], subject_count=3, record_count=3, is_sensitive=False,
            has_minors=False, likelihood="low", severity="low", decision="no_notice",
            reasoning="Encrypted laptop, key not exposed: no risk to the three customers.",
        ),
        now=NOW, actor="staff:admin",
    )  # fmt: skip
    assert kept.status == "no_notice"
    again = service.get(session, incident_id=incident.id, now=NOW + timedelta(days=30))
    assert again.assessments[0].decision == "no_notice"
    assert again.assessments[0].risk == "none"
    assert again.assessments[0].reasoning.startswith("Encrypted laptop")
    assert not again.clock.is_overdue
    entry = audit_service.list_entries(session, action="incident.assessed", limit=1)[0]
    assert entry.detail["decision"] == "no_notice"
    assert "Encrypted" not in json.dumps(entry.detail)  # free text never audited
    closed = service.close(session, incident_id=incident.id, now=NOW, actor="staff:admin")
    assert closed.status == "closed"
    with pytest.raises(IncidentStateConflict):
        service.assess(
            session, policy=policy, incident_id=incident.id, body=_assessment(), now=NOW,
            actor="staff:admin",
        )  # fmt: skip


def test_subjects_are_not_notified_without_that_decision(session, keyring, policy):
    incident = _declare(session, policy)
    with pytest.raises(IncidentStateConflict):
        notices.notify_subjects(
            session, keyring=keyring, policy=policy, incident_id=incident.id, lang="en",
            now=NOW, actor="staff:admin",
        )  # fmt: skip


def test_an_undeclared_category_is_refused_naming_the_field(session, policy):
    with pytest.raises(Invalid) as caught:
        _declare(session, policy, categories=["horoscope"])
    assert caught.value.field == "categories"


def test_the_register_export_validates_and_has_thai_and_english_labels_th_bre_01(
    session, keyring, policy
):
    incident = _declare(session, policy)
    service.assess(
        session, policy=policy, incident_id=incident.id, body=_assessment(decision="notify"),
        now=NOW, actor="staff:admin",
    )  # fmt: skip
    document = export.register(session, policy=policy, now=NOW, actor="staff:admin")
    schema = json.loads(SCHEMA.read_text())
    assert schema == json.loads(export.json_schema())  # the published schema is current
    body = json.loads(export.render(document, "json"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(body)
    assert body["incidents"][0]["decision"] == "notify"
    assert body["columns"]["aware_at"] == {"th": "เวลาที่ทราบเหตุ", "en": "Aware at"}
    text = export.render(document, "csv")
    assert text.startswith("\ufeff")
    header, row = text.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("เลขที่เหตุการณ์ (Reference)")
    assert incident.reference in row


def test_the_window_and_time_zones_are_checked():
    with pytest.raises(ValueError, match="occurred_to"):
        incident_body(occurred_from=WINDOW_TO, occurred_to=WINDOW_FROM)
    with pytest.raises(ValueError, match="time zone"):
        incident_body(aware_at=NOW.replace(tzinfo=None))
