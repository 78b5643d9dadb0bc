"""Processor mode (TH-PRC-01): only the controller's instructed purposes, only while they hold;
the processor's record of processing; breaches reported to the controller."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from rujai.errors import PolicyDenied
from rujai.incidents import notices, service as incidents_service
from rujai.incidents.schemas import AssessmentCreate
from rujai.policy import service as policy_service
from rujai.policy.loader import load_policy_file
from rujai.policy.ropa import ProcessorRopaRow, build_ropa, render_ropa
from rujai.policy.rules import Action, Reason, SubjectFacts, decide
from tests.factories import NOW, make_subject
from tests.incidents.seeding import incident_body

PROCESSOR_POLICY = Path(__file__).parents[2] / "examples" / "processor-policy.yaml"
PROCESSOR = load_policy_file(PROCESSOR_POLICY)
INSTRUCTED = frozenset(PROCESSOR.processor.instructions.purposes)  # type: ignore[union-attr]
EXPIRY = datetime(2031, 1, 1, tzinfo=UTC) - timedelta(hours=7)  # 2030-12-31 ends, Bangkok time
FACTS = SubjectFacts(subject_id=uuid.UUID(int=7))


def _verdict(purpose: str, now: datetime = NOW, action: Action = Action.USE):
    categories = PROCESSOR.purposes[purpose].categories[:1]
    return decide(PROCESSOR, FACTS, purpose=purpose, categories=categories, action=action, now=now)


def test_the_example_processor_policy_is_clean_and_instructs_some_purposes_th_prc_01():
    assert PROCESSOR.processor is not None
    assert "personalized_offers" not in INSTRUCTED
    assert {"order_fulfilment", "breach_response"} <= INSTRUCTED


def test_an_uninstructed_purpose_is_refused_th_prc_01():
    verdict = _verdict("personalized_offers")
    assert not verdict.allowed
    assert verdict.reason is Reason.OUTSIDE_CONTROLLER_INSTRUCTIONS
    assert "controller" in verdict.text("en")


def test_an_instructed_purpose_follows_the_usual_rules_th_prc_01():
    assert _verdict("order_fulfilment").reason is Reason.ALLOWED_BASIS
    assert _verdict("recommendations").reason is Reason.NO_CONSENT  # still needs consent


def test_expired_instructions_refuse_everything_th_prc_01():
    assert _verdict("order_fulfilment", EXPIRY - timedelta(seconds=1)).allowed
    late = _verdict("order_fulfilment", EXPIRY)
    assert late.reason is Reason.OUTSIDE_CONTROLLER_INSTRUCTIONS


@settings(max_examples=200, deadline=None)
@given(
    purpose=st.sampled_from(sorted(PROCESSOR.purposes)),
    offset=st.integers(-5 * 365 * 24, 5 * 365 * 24).map(lambda h: timedelta(hours=h)),
    action=st.sampled_from(list(Action)),
)
def test_nothing_is_allowed_outside_the_instructions_or_after_them_th_prc_01(
    purpose, offset, action
):
    now = EXPIRY + offset
    verdict = _verdict(purpose, now, action)
    outside = purpose not in INSTRUCTED or now >= EXPIRY
    if outside:
        assert verdict.reason is Reason.OUTSIDE_CONTROLLER_INSTRUCTIONS
    assert not (verdict.allowed and outside)
    without_mode = PROCESSOR.model_copy(update={"processor": None})
    plain = decide(
        without_mode, FACTS, purpose=purpose, categories=verdict.categories, action=action, now=now
    )
    if not outside:  # inside the instructions the controller's own rules decide, unchanged
        assert (plain.allowed, plain.reason) == (verdict.allowed, verdict.reason)


def test_the_door_refuses_an_uninstructed_purpose_on_the_database_th_prc_01(session, keyring):
    subject = make_subject(session, keyring, "C-PRC-1")
    with pytest.raises(PolicyDenied) as refused:
        policy_service.authorize(
            session, policy=PROCESSOR, keyring=keyring, subject_id=subject.id,
            purpose="email_marketing", categories=["contact"], now=NOW, actor="test",
        )  # fmt: skip
    assert refused.value.reason == "outside_controller_instructions"


@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_record_of_processing_is_the_processors_th_prc_01(lang):
    rows = build_ropa(PROCESSOR, lang)
    assert {r.purpose_id for r in rows} == INSTRUCTED
    assert all(isinstance(r, ProcessorRopaRow) for r in rows)
    first = rows[0]
    assert isinstance(first, ProcessorRopaRow)
    assert first.agreement_ref.startswith("DPA-BSL-2026-01")
    assert "Baan Suay" in first.controller or "บ้านสวย" in first.controller
    csv_text = render_ropa(rows, "csv", lang)
    header = csv_text.splitlines()[0]
    assert ("ผู้ประมวลผลข้อมูลส่วนบุคคล" if lang == "th" else "Processor") in header
    html = render_ropa(rows, "html", lang)
    assert ("บันทึกรายการของผู้ประมวลผล" if lang == "th" else "(processor)") in html
    assert "2573" in first.instructed_until or "2030" in first.instructed_until


def test_the_controllers_record_is_unchanged_without_processor_mode(policy):
    rows = build_ropa(policy, "en")
    assert len(rows) == len(policy.purposes)
    assert not any(isinstance(r, ProcessorRopaRow) for r in rows)


def test_a_breach_is_reported_to_the_controller_th_prc_01(session, keyring):
    incident = incidents_service.declare(
        session, policy=PROCESSOR, body=incident_body(categories=["contact"]), now=NOW,
        actor="staff:admin",
    )  # fmt: skip
    assert incident.notice_to == "controller"
    assert incident.clock.notice_to == "controller"
    drafts = notices.drafts(
        session, keyring=keyring, policy=PROCESSOR, incident_id=incident.id, lang="en",
        now=NOW, actor="staff:admin",
    )  # fmt: skip
    assert drafts.to_authority.audience == "controller"
    assert "To: Baan Suay Living Co., Ltd." in drafts.to_authority.body
    assert "Siam Cloud CDP" in drafts.to_authority.body  # the processor reports
    assert "PDPC" not in drafts.to_authority.body
    service_row = incidents_service.assess(
        session, policy=PROCESSOR, incident_id=incident.id, now=NOW, actor="staff:admin",
        body=AssessmentCreate(
            data_kinds=["contact"], subject_count=1, record_count=1, is_sensitive=False,
            has_minors=False, likelihood="medium", severity="medium", measures="Keys rotated.",
            decision="notify", reasoning="Contact data of one customer was readable.",
        ),
    )  # fmt: skip
    assert service_row.status == "assessed"
    done = notices.record_authority(
        session, incident_id=incident.id, reference=None, lang="th", now=NOW, actor="staff:admin"
    )
    assert done.status == "notified"
    told = notices.list_notices(session, incident_id=incident.id)
    assert [n.audience for n in told] == ["controller"]  # s.40(2): the controller, not the PDPC
