"""Enqueue: erasure, withdrawal, restriction and objection reach every processor (TH-PRC-01).

Notices are queued in the transaction of the change, one per processor recipient in the
disclosure log (per recipient and purpose for a withdrawal or an objection), quoting the pseudonym
that recipient was given, with no subject id. Real SQLite and PostgreSQL (the ``factory``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import inspect, select

from rujai.disclosures import outbox
from rujai.disclosures.models import Disclosure, ProcessorNotice
from rujai.disclosures.pseudonym import subject_ref
from rujai.policy.rules import Objection, objected_purposes
from rujai.profiles import service as profiles_service
from rujai.rights import erasure, verify
from rujai.writer import session_scope
from tests.disclosures.factories import make_disclosure
from tests.factories import make_consent, make_subject

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
CUSTOMER = "C-OUTBOX-2201"


def _notices(factory) -> list[ProcessorNotice]:
    with factory() as s:
        rows = s.scalars(select(ProcessorNotice).order_by(ProcessorNotice.recipient)).all()
        s.expunge_all()
        return list(rows)


def _subject_with_three_recipients(factory, keyring, policy) -> uuid.UUID:
    """Two processors (one of them twice, in two flows) and a recipient that is not one."""
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        make_consent(s, keyring, policy, "email_marketing", customer_id=CUSTOMER, now=NOW)
        make_disclosure(
            s, keyring, subject_id=sid, recipient="swift_delivery", purpose="order_fulfilment"
        )
        for purpose in ("order_fulfilment", "fraud_prevention"):
            make_disclosure(
                s, keyring, subject_id=sid, recipient="chao_phraya_pay", purpose=purpose
            )
        make_disclosure(
            s,
            keyring,
            subject_id=sid,
            recipient="lumen_mail",
            purpose="email_marketing",
            processor=False,
        )
    return sid


def test_erasure_tells_each_processor_once_with_its_own_ref_and_no_subject_id(
    factory, keyring, policy
):
    """TH-PRC-01, TH-DSR-04: two processors and one non-processor: exactly two notices."""
    sid = _subject_with_three_recipients(factory, keyring, policy)
    with session_scope(factory) as s:
        report = erasure.erase(
            s,
            keyring=keyring,
            policy=policy,
            subject_id=sid,
            request_id=None,
            now=NOW,
            actor="test",
        )
    assert report.is_complete, report.leftovers
    notices = _notices(factory)
    assert [(n.recipient, n.kind, n.purpose) for n in notices] == [
        ("chao_phraya_pay", "erase", None),
        ("swift_delivery", "erase", None),
    ]
    for n in notices:
        assert n.subject_ref == subject_ref(keyring, recipient=n.recipient, subject_id=sid)
        assert n.created_at is not None
        assert n.sent_at is None
        assert n.acknowledged_at is None
        assert n.detail == {"reason": "erased"}
    assert "subject_id" not in {c.key for c in inspect(ProcessorNotice).columns}
    with factory() as s:
        links = s.scalars(select(Disclosure.subject_id)).all()
    assert links == [None, None, None, None]  # the log survives, unlinked (s.39)


def test_erasure_with_notices_still_passes_verify_erasure(factory, keyring, policy):
    """TH-DSR-04: the notices and the unlinked log are no trace that verify-erasure can find."""
    sid = _subject_with_three_recipients(factory, keyring, policy)
    with session_scope(factory) as s:
        erasure.erase(
            s,
            keyring=keyring,
            policy=policy,
            subject_id=sid,
            request_id=None,
            now=NOW,
            actor="test",
        )
    with session_scope(factory) as s:
        scanned = verify.scan(s, keyring=keyring, customer_id=CUSTOMER)
    assert scanned.leftovers == [], scanned
    assert len(_notices(factory)) == 2


def test_withdrawal_tells_only_the_processors_of_that_purpose(factory, keyring, policy):
    """TH-CON-03, TH-PRC-01: withdrawing email marketing reaches its processor, no other."""
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        make_consent(s, keyring, policy, "email_marketing", customer_id=CUSTOMER, now=NOW)
        make_consent(s, keyring, policy, "personalized_offers", customer_id=CUSTOMER, now=NOW)
        for recipient, purpose in [
            ("lumen_mail", "email_marketing"),
            ("lumen_mail", "personalized_offers"),
            ("swift_delivery", "order_fulfilment"),
        ]:
            make_disclosure(s, keyring, subject_id=sid, recipient=recipient, purpose=purpose)
    with session_scope(factory) as s:
        make_consent(
            s,
            keyring,
            policy,
            "email_marketing",
            customer_id=CUSTOMER,
            action="withdraw",
            now=NOW + timedelta(minutes=1),
        )
    notices = _notices(factory)
    assert [(n.recipient, n.kind, n.purpose) for n in notices] == [
        ("lumen_mail", "withdraw", "email_marketing")
    ]
    assert notices[0].subject_ref == subject_ref(keyring, recipient="lumen_mail", subject_id=sid)


def test_a_withdrawal_that_rolls_back_leaves_no_notice(factory, keyring, policy):
    """The notice is written in the change's own transaction: no change, no notice."""
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        make_consent(s, keyring, policy, "email_marketing", customer_id=CUSTOMER, now=NOW)
        make_disclosure(
            s, keyring, subject_id=sid, recipient="lumen_mail", purpose="email_marketing"
        )
    s = factory()
    try:
        make_consent(
            s,
            keyring,
            policy,
            "email_marketing",
            customer_id=CUSTOMER,
            action="withdraw",
            now=NOW + timedelta(minutes=1),
        )
        assert len(s.scalars(select(ProcessorNotice)).all()) == 1
    finally:
        s.rollback()  # the request failed after the withdrawal
        s.close()
    assert _notices(factory) == []


def test_objection_to_direct_marketing_tells_only_the_marketing_processors(
    factory, keyring, policy
):
    """TH-DSR-03: an objection stops the direct-marketing purposes; their processors are told."""
    stopped = objected_purposes(policy, Objection.DIRECT_MARKETING)
    assert "email_marketing" in stopped
    assert "order_fulfilment" not in stopped
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        make_disclosure(
            s, keyring, subject_id=sid, recipient="lumen_mail", purpose="personalized_offers"
        )
        make_disclosure(
            s, keyring, subject_id=sid, recipient="swift_delivery", purpose="order_fulfilment"
        )
        profiles_service.set_objection(
            s,
            subject_id=sid,
            objection=Objection.DIRECT_MARKETING,
            objected=True,
            now=NOW,
            purposes=stopped,
        )
    assert [(n.recipient, n.kind, n.purpose) for n in _notices(factory)] == [
        ("lumen_mail", "object", "personalized_offers")
    ]


def test_lifting_an_objection_tells_its_processors_they_may_resume(factory, keyring, policy):
    """TH-DSR-03, TH-PRC-01: the processors told to stop are told when the objection is lifted,
    only for the purposes it stopped; lifting an objection that is not there tells nobody."""
    stopped = objected_purposes(policy, Objection.DIRECT_MARKETING)
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        make_disclosure(
            s, keyring, subject_id=sid, recipient="lumen_mail", purpose="personalized_offers"
        )
        make_disclosure(
            s, keyring, subject_id=sid, recipient="swift_delivery", purpose="order_fulfilment"
        )
    for objected in (True, False, False):  # the second lift finds nothing to lift
        with session_scope(factory) as s:
            profiles_service.set_objection(
                s, subject_id=sid, objection=Objection.DIRECT_MARKETING, objected=objected,
                now=NOW, purposes=stopped,
            )  # fmt: skip
    assert sorted((n.recipient, n.kind, n.purpose) for n in _notices(factory)) == [
        ("lumen_mail", "lift", "personalized_offers"),
        ("lumen_mail", "object", "personalized_offers"),
    ]


def test_restriction_and_its_lifting_tell_every_processor(factory, keyring, policy):
    """TH-DSR-05: restrict (stop processing) and lift (may resume) reach all processors."""
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        make_disclosure(
            s, keyring, subject_id=sid, recipient="lumen_mail", purpose="email_marketing"
        )
        make_disclosure(
            s, keyring, subject_id=sid, recipient="swift_delivery", purpose="order_fulfilment"
        )
    with session_scope(factory) as s:
        profiles_service.set_restricted(s, subject_id=sid, restricted=True, now=NOW)
    with session_scope(factory) as s:
        profiles_service.set_restricted(s, subject_id=sid, restricted=False, now=NOW)
    kinds = sorted((n.recipient, n.kind, n.purpose) for n in _notices(factory))
    assert kinds == [
        ("lumen_mail", "lift", None),
        ("lumen_mail", "restrict", None),
        ("swift_delivery", "lift", None),
        ("swift_delivery", "restrict", None),
    ]


def test_a_subject_without_disclosures_queues_nothing(factory, keyring, policy):
    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        profiles_service.set_restricted(s, subject_id=sid, restricted=True, now=NOW)
    assert _notices(factory) == []


def test_queued_notices_are_audited_with_counts_and_ids_only(factory, keyring, policy):
    from rujai.audit.models import AuditEntry

    with session_scope(factory) as s:
        sid = make_subject(s, keyring, CUSTOMER, now=NOW).id
        make_disclosure(
            s, keyring, subject_id=sid, recipient="swift_delivery", purpose="order_fulfilment"
        )
        ids = outbox.enqueue(s, subject_id=sid, kind="restrict", now=NOW, reason="restricted")
    with factory() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "processor_notice.queued")
        ).one()
    assert entry.detail == {"kind": "restrict", "count": 1, "notice_ids": [str(ids[0])]}


RECIPIENTS = ("swift_delivery", "chao_phraya_pay", "lumen_mail")
PURPOSES = ("order_fulfilment", "fraud_prevention", "email_marketing")
LOG = st.lists(
    st.tuples(st.sampled_from(RECIPIENTS), st.sampled_from(PURPOSES), st.booleans()), max_size=8
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    log=LOG,
    kind=st.sampled_from(["erase", "withdraw", "restrict", "object"]),
    affected=st.sets(st.sampled_from(PURPOSES), min_size=1),
)
def test_notices_are_exactly_the_processors_that_received_the_affected_data(
    factory, keyring, log, kind, affected
):
    """TH-PRC-01 as a rule: per-purpose kinds reach the (processor, purpose) pairs of the
    affected purposes; erase and restrict reach every processor once; non-processors never."""
    per_purpose = kind in ("withdraw", "object")
    expected = {
        (r, p if per_purpose else None)
        for r, p, is_processor in log
        if is_processor and (not per_purpose or p in affected)
    }
    s = factory()
    try:
        sid = make_subject(s, keyring, f"C-PROP-{uuid.uuid4().hex[:8]}", now=NOW).id
        for recipient, purpose, is_processor in log:
            make_disclosure(
                s,
                keyring,
                subject_id=sid,
                recipient=recipient,
                purpose=purpose,
                processor=is_processor,
            )
        outbox.enqueue(
            s, subject_id=sid, kind=kind, now=NOW, purposes=affected if per_purpose else None
        )
        rows = s.scalars(select(ProcessorNotice)).all()
        assert {(n.recipient, n.purpose) for n in rows} == expected
        assert len(rows) == len(expected)
    finally:
        s.rollback()
        s.close()


def test_an_objection_request_tells_the_processors_of_the_purposes_it_stops(
    session, keyring, policy
):
    """TH-DSR-03 through the rights queue: ``processing`` passes the stopped purposes on."""
    from rujai.rights import processing, verification
    from tests.rights.test_requests import code_for, person, submit

    sid = person(session, keyring)
    make_disclosure(
        session, keyring, subject_id=sid, recipient="lumen_mail", purpose="email_marketing"
    )
    make_disclosure(
        session, keyring, subject_id=sid, recipient="swift_delivery", purpose="order_fulfilment"
    )
    request = submit(session, keyring, policy, "objection")
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    done = processing.confirm_and_run(
        session,
        keyring=keyring,
        policy=policy,
        request_id=request.id,
        code=code_for(session, keyring, request.id),
        now=NOW,
    )
    assert done.status == "completed"
    rows = session.scalars(select(ProcessorNotice)).all()
    assert [(n.recipient, n.kind, n.purpose) for n in rows] == [
        ("lumen_mail", "object", "email_marketing")
    ]
