"""The ingest path: consent gate, declared properties only, duplicates, sealing, drop counts."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rujai.audit.models import AuditEntry
from rujai.errors import PolicyDenied
from rujai.events import service as events_service
from rujai.events.errors import BatchTooLarge, EventsSealedAway
from rujai.events.gate import check_properties, may_hold_pii
from rujai.events.models import Event
from rujai.events.readers import RawEvent
from rujai.events.schemas import BatchCreate
from rujai.events.store import insert_new
from rujai.kit.crypto import DecryptionFailed
from rujai.kit.thai_pii import find_pii, national_id_check_digit
from rujai.kit.time import utcnow
from rujai.policy import service as policy_service
from rujai.profiles import identities as profiles_identities, identity_resolve
from rujai.profiles.models import Subject
from rujai.profiles.schemas import SubjectRef
from tests.consent.helpers import count_queries, stored_text
from tests.factories import make_consent, rights_permit, track_event

CUSTOMER = "C-EV-0001"
FIRST12 = "110170023070"
NATIONAL_ID = FIRST12 + str(national_id_check_digit(FIRST12))


def ingest(session, keyring, policy, *events, now=None, source="api", partner=False):
    return events_service.ingest(
        session,
        keyring=keyring,
        policy=policy,
        events=list(events),
        source=source,
        is_partner_data=partner,
        now=now or utcnow(),
        actor="test",
    )


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def subject_id_of(session, keyring, customer_id=CUSTOMER):
    found = identity_resolve.resolve_many(
        session,
        keyring=keyring,
        refs=[SubjectRef(customer_id=customer_id, anonymous_id=None)],
        now=utcnow(),
        create=False,
    )
    return found[SubjectRef(customer_id=customer_id, anonymous_id=None)]


def consent(session, keyring, policy, purpose="recommendations", customer_id=CUSTOMER):
    make_consent(session, keyring, policy, purpose, customer_id=customer_id, now=utcnow())


def test_event_is_dropped_without_a_permitting_purpose_and_accepted_after_consent(
    session, keyring, policy
):
    """DESIGN "track": no purpose permits browsing for this subject -> not stored, and said so."""
    refused = ingest(session, keyring, policy, track_event("page_view", customer_id=CUSTOMER))
    assert refused.results[0].status == "dropped"
    assert refused.results[0].reason == "no_permitting_purpose"
    assert count(session, Event) == 0
    assert count(session, Subject) == 0  # nobody gets a profile from a refused event

    consent(session, keyring, policy)
    accepted = ingest(session, keyring, policy, track_event("page_view", customer_id=CUSTOMER))
    assert accepted.results[0].status == "accepted"
    assert accepted.accepted == 1
    assert count(session, Event) == 1


def test_purchase_is_accepted_for_a_new_customer_on_the_contract_basis(session, keyring, policy):
    summary = ingest(session, keyring, policy, track_event("purchase", customer_id="C-NEW-1"))
    assert summary.results[0].status == "accepted"
    assert count(session, Subject) == 1


def test_withdrawal_stops_collection_on_the_next_batch(session, keyring, policy):
    """TH-CON-03: withdrawal takes effect on the very next request."""
    consent(session, keyring, policy)
    assert ingest(session, keyring, policy, track_event("search")).accepted == 0  # other customer
    assert ingest(session, keyring, policy, track_event("search", customer_id=CUSTOMER)).accepted
    make_consent(session, keyring, policy, customer_id=CUSTOMER, action="withdraw", now=utcnow())
    again = ingest(session, keyring, policy, track_event("search", customer_id=CUSTOMER))
    assert again.dropped_by_reason == {"no_permitting_purpose": 1}


def test_undeclared_property_is_removed_and_reported(session, keyring, policy):
    """TH-MIN-02: only properties the policy declares are kept; the rest are listed."""
    event = track_event(
        "purchase",
        customer_id=CUSTOMER,
        order_id="ORD-7",
        item_id="SKU-7",
        quantity=2,
        amount=1290.5,
        colour="แดง",
    )
    result = ingest(session, keyring, policy, event).results[0]
    assert result.status == "accepted"
    assert result.dropped_properties == ["colour"]
    subject = subject_id_of(session, keyring)
    permit = rights_permit(session, keyring, policy, subject.subject_id)
    (stored,) = events_service.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject.subject_id
    )
    assert stored.properties == {
        "order_id": "ORD-7",
        "item_id": "SKU-7",
        "quantity": 2,
        "amount": 1290.5,
    }


def test_missing_required_property_drops_the_event_naming_the_property(session, keyring, policy):
    event = track_event(
        "purchase", customer_id=CUSTOMER, order_id="O-7", item_id="SKU-7", amount=9.0
    )
    result = ingest(session, keyring, policy, event).results[0]
    assert (result.status, result.reason) == ("dropped", "invalid_properties")
    assert result.detail == "properties.quantity: required"
    assert count(session, Event) == 0


def test_invalid_property_value_is_named_without_its_value(session, keyring, policy):
    event = track_event(
        "purchase", customer_id=CUSTOMER, order_id="O", item_id="I", quantity="two", amount=1
    )
    result = ingest(session, keyring, policy, event).results[0]
    assert result.reason == "invalid_properties"
    assert result.detail == "properties.quantity: must be a whole number"
    assert "two" not in result.model_dump_json()


def test_duplicate_message_ids_across_and_within_batches_are_duplicates(session, keyring, policy):
    first = track_event("purchase", customer_id=CUSTOMER, message_id="msg-1")
    assert ingest(session, keyring, policy, first).accepted == 1
    twin = track_event("purchase", customer_id=CUSTOMER, message_id="msg-2")
    summary = ingest(session, keyring, policy, first, twin, twin)
    assert [r.status for r in summary.results] == ["duplicate", "accepted", "duplicate"]
    assert (summary.accepted, summary.duplicates) == (1, 2)
    assert count(session, Event) == 2


def test_thai_national_id_in_a_search_query_is_masked(session, keyring, policy):
    """TH-MIN-02: ``search.query`` is declared ``pii: mask``."""
    consent(session, keyring, policy)
    query = f"ลืมบัตร {NATIONAL_ID} ที่สาขา"
    event = track_event("search", customer_id=CUSTOMER, query=query)
    assert ingest(session, keyring, policy, event).accepted == 1
    subject = subject_id_of(session, keyring)
    permit = rights_permit(session, keyring, policy, subject.subject_id)
    (stored,) = events_service.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject.subject_id
    )
    assert stored.properties == {"query": "ลืมบัตร [national_id] ที่สาขา"}


def test_identifier_in_a_reject_property_drops_the_event(session, keyring, policy):
    """TH-MIN-02: ``product_view.item_id`` is declared ``pii: reject``."""
    consent(session, keyring, policy)
    event = track_event("product_view", customer_id=CUSTOMER, item_id="081-234-5678")
    result = ingest(session, keyring, policy, event).results[0]
    assert (result.status, result.reason) == ("dropped", "pii_rejected")
    assert "081" not in (result.detail or "")
    assert count(session, Event) == 0


def test_drop_counts_increment_per_day_type_and_reason_without_personal_data(
    session, keyring, policy
):
    now = utcnow()
    email_type = "somchai.jaidee@example.com"
    events = [
        track_event("page_view", customer_id=CUSTOMER),
        track_event("page_view", customer_id="C-EV-0002"),
        track_event(email_type, customer_id=CUSTOMER),
    ]
    ingest(session, keyring, policy, *events, now=now)
    ingest(session, keyring, policy, track_event("page_view", customer_id=CUSTOMER), now=now)
    counts = {
        (c.event_type, c.reason): c.count
        for c in events_service.drop_counts(session, since=now.date())
    }
    assert counts == {
        ("page_view", "no_permitting_purpose"): 3,
        ("(undeclared)", "unknown_event_type"): 1,
    }
    stored = stored_text(session, "event_drop_count")
    assert "example.com" not in stored
    assert CUSTOMER not in stored
    assert events_service.drop_counts(session, since=now.date() + timedelta(days=1)) == []


def test_sealed_rows_hold_no_plaintext_property_value(session, keyring, policy):
    event = track_event(
        "purchase",
        customer_id=CUSTOMER,
        order_id="ORD-PLAINTEXT-42",
        item_id="SKU-PLAINTEXT-43",
        quantity=1,
        amount=1.0,
    )
    ingest(session, keyring, policy, event)
    raw = session.execute(select(Event.properties_sealed)).scalar_one()
    assert b"PLAINTEXT" not in raw
    assert "PLAINTEXT" not in stored_text(session, "event")
    assert CUSTOMER not in stored_text(session, "event")


def test_sealed_properties_are_bound_to_their_subject(session, keyring, policy):
    ingest(session, keyring, policy, track_event("purchase", customer_id=CUSTOMER))
    ingest(session, keyring, policy, track_event("purchase", customer_id="C-EV-0002"))
    mine = subject_id_of(session, keyring)
    other = subject_id_of(session, keyring, "C-EV-0002")
    sealed = session.scalar(
        select(Event.properties_sealed).where(Event.subject_id == mine.subject_id)
    )
    with pytest.raises(DecryptionFailed):
        events_service.open_properties(other.data_key, mine.subject_id, sealed)
    with pytest.raises(DecryptionFailed):
        events_service.open_properties(mine.data_key, other.subject_id, sealed)


def test_partner_data_is_kept_out_of_personalization_until_the_subject_is_notified(
    session, keyring, policy
):
    """TH-IND-01: data from other sources waits for the subject to be notified."""
    now = utcnow()
    raw = RawEvent(
        line=2,
        type="purchase",
        customer_id=CUSTOMER,
        anonymous_id=None,
        timestamp=now - timedelta(days=3),
        message_id="partner-1",
        properties={"order_id": "P-1", "item_id": "SKU-9", "quantity": "1", "amount": "99.50"},
        is_partner_data=True,
    )
    own = track_event("purchase", customer_id=CUSTOMER, message_id="own-1")
    ingest(session, keyring, policy, raw, source="import", partner=True, now=now)
    ingest(session, keyring, policy, own, now=now)
    subject = subject_id_of(session, keyring)
    permit = _permit(session, keyring, policy, subject.subject_id, "order_fulfilment")

    before = events_service.read_for_personalization(session, permit=permit, subject=subject)
    assert [e.message_id for e in before] == ["own-1"]

    session.get(Subject, subject.subject_id).partner_notified_at = now
    session.flush()
    notified = subject_id_of(session, keyring)
    after = events_service.read_for_personalization(session, permit=permit, subject=notified)
    assert sorted(e.message_id for e in after) == ["own-1", "partner-1"]
    partner = next(e for e in after if e.is_partner_data)
    assert partner.properties["amount"] == 99.5  # CSV strings coerced where unambiguous
    assert partner.source == "import"


def test_list_for_subject_returns_only_categories_the_permit_covers(session, keyring, policy):
    """STYLE §3: a permit for order fulfilment reads purchases, not browsing."""
    consent(session, keyring, policy)
    ingest(
        session,
        keyring,
        policy,
        track_event("purchase", customer_id=CUSTOMER),
        track_event("page_view", customer_id=CUSTOMER),
    )
    subject = subject_id_of(session, keyring).subject_id
    permit = _permit(session, keyring, policy, subject, "order_fulfilment")
    events = events_service.list_for_subject(
        session, keyring=keyring, permit=permit, subject_id=subject
    )
    assert [e.type for e in events] == ["purchase"]
    recs = _permit(session, keyring, policy, subject, "recommendations", ["browsing"])
    browsing = events_service.list_for_subject(
        session, keyring=keyring, permit=recs, subject_id=subject, types=["page_view"]
    )
    assert [e.properties for e in browsing] == [{"path": "/th/products"}]


def test_erased_subject_gets_no_new_events_and_its_events_cannot_be_opened(
    session, keyring, policy
):
    """TH-DSR-04: after crypto-shredding nothing new is sealed for the subject."""
    ingest(session, keyring, policy, track_event("purchase", customer_id=CUSTOMER))
    subject = subject_id_of(session, keyring).subject_id
    profiles_identities.destroy_data_key(session, subject_id=subject, now=utcnow(), actor="test")
    result = ingest(session, keyring, policy, track_event("purchase", customer_id=CUSTOMER))
    assert result.results[0].reason == "subject_erased"
    permit = rights_permit(session, keyring, policy, subject)
    with pytest.raises(EventsSealedAway):
        events_service.export_subject(session, keyring=keyring, permit=permit, subject_id=subject)
    assert events_service.erase_subject(session, subject_id=subject) == 1
    assert (
        events_service.export_subject(session, keyring=keyring, permit=permit, subject_id=subject)
        == []
    )


def test_reassign_moves_events_and_reseals_them_under_the_target_key(session, keyring, policy):
    ingest(
        session,
        keyring,
        policy,
        track_event("purchase", customer_id=CUSTOMER, message_id="m-1"),
        track_event("purchase", customer_id=CUSTOMER, message_id="m-2"),
        track_event("purchase", customer_id="C-EV-0002", message_id="m-3"),
    )
    source = subject_id_of(session, keyring).subject_id
    target = subject_id_of(session, keyring, "C-EV-0002").subject_id
    permit = rights_permit(session, keyring, policy, source)
    first = events_service.export_subject(
        session, keyring=keyring, permit=permit, subject_id=source
    )[0]

    moved = events_service.reassign(
        session,
        keyring=keyring,
        from_subject_id=source,
        to_subject_id=target,
        event_ids=[first.id],
    )
    assert moved == [first.id]
    permit = rights_permit(session, keyring, policy, target)
    at_target = events_service.export_subject(
        session, keyring=keyring, permit=permit, subject_id=target
    )
    assert sorted(e.message_id for e in at_target) == sorted([first.message_id, "m-3"])
    back = events_service.reassign(
        session, keyring=keyring, from_subject_id=target, to_subject_id=source
    )
    assert len(back) == 2
    permit = rights_permit(session, keyring, policy, source)
    assert (
        len(
            events_service.export_subject(
                session, keyring=keyring, permit=permit, subject_id=source
            )
        )
        == 3
    )


def test_ingest_audits_once_per_batch_with_counts_only(session, keyring, policy):
    events = [track_event("purchase", customer_id=f"C-EV-{i:04d}") for i in range(5)]
    before = count(session, AuditEntry)
    ingest(session, keyring, policy, *events, track_event("page_view"))
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "events.ingest")).all()
    assert count(session, AuditEntry) == before + 1
    (entry,) = entries
    assert entry.subject_id is None
    assert entry.detail["accepted"] == 5
    assert entry.detail["dropped"] == {"no_permitting_purpose": 1}
    assert "C-EV-" not in json.dumps(entry.detail)


def test_ingest_query_count_does_not_grow_with_the_batch(session, keyring, policy):
    def batch(prefix: str, size: int) -> list:
        return [
            track_event("purchase", customer_id=f"{prefix}-{i % 7}", message_id=f"{prefix}{i}")
            for i in range(size)
        ]

    ingest(session, keyring, policy, *batch("warm", 3))  # per-transaction caches (audit head)
    with count_queries(session) as small:
        ingest(session, keyring, policy, *batch("a", 10))
    with count_queries(session) as large:
        ingest(session, keyring, policy, *batch("b", 300))
    assert len(large) == len(small)
    assert count(session, Event) == 313


def test_api_batch_over_the_limit_is_refused_naming_events(session, keyring, policy):
    batch = BatchCreate(events=[track_event("purchase") for _ in range(3)])
    with pytest.raises(BatchTooLarge) as raised:
        events_service.track_batch(
            session,
            keyring=keyring,
            policy=policy,
            batch=batch,
            max_events=2,
            now=utcnow(),
            actor="test",
        )
    assert raised.value.field == "events"


def test_future_import_timestamp_is_dropped(session, keyring, policy):
    now = utcnow()
    raw = RawEvent(
        line=5,
        type="purchase",
        customer_id=CUSTOMER,
        anonymous_id=None,
        timestamp=now + timedelta(days=3),
        message_id=None,
        properties={"order_id": "O", "item_id": "I", "quantity": 1, "amount": 1},
    )
    result = ingest(session, keyring, policy, raw, source="import", now=now).results[0]
    assert (result.reason, result.detail) == (
        "invalid_timestamp",
        "timestamp: more than 1 day in the future",
    )
    assert result.message_id  # a fresh id is given when the file has none


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"item_id": 42, "quantity": "3"}, {"item_id": "42", "quantity": 3}),
        (
            {"item_id": "A", "quantity": 2.0, "price": "19.90"},
            {"item_id": "A", "quantity": 2, "price": 19.9},
        ),
        ({"item_id": "A", "quantity": True}, None),
        ({"item_id": "A", "quantity": 1, "price": "ten"}, None),
        ({"item_id": "A", "quantity": 1, "price": "1e400"}, None),
        ({"item_id": "x" * 65, "quantity": 1}, None),
    ],
)
def test_properties_are_coerced_only_where_unambiguous(policy, properties, expected):
    checked = check_properties(policy.event_types["add_to_cart"], properties)
    assert checked.properties == expected


def _permit(session, keyring, policy, subject_id, purpose, categories=None):
    categories = categories or list(policy.purposes[purpose].categories)
    return policy_service.authorize(
        session,
        policy=policy,
        keyring=keyring,
        subject_id=subject_id,
        purpose=purpose,
        categories=categories,
        now=utcnow(),
        actor="test",
    )


THAI_DIGITS = "".join(chr(0x0E50 + d) for d in range(10))
NOISE = st.text(alphabet=st.sampled_from(f"0123456789{THAI_DIGITS} -+()@.abxyz_/"), max_size=30)
IDENTIFIERS = ["0812345678", "08 1234 5678", "+66-2-123-4567", "a@b.co", NATIONAL_ID]


@given(
    st.one_of(
        NOISE,
        st.builds(lambda a, pii, b: a + pii + b, NOISE, st.sampled_from(IDENTIFIERS), NOISE),
    )
)
@settings(max_examples=400, deadline=None)
def test_pii_prefilter_is_a_necessary_condition_of_find_pii(text):
    """The cheap pre-check may never hide an identifier ``find_pii`` would find (TH-MIN-02)."""
    if find_pii(text):
        assert may_hold_pii(text)


@pytest.mark.parametrize(
    "text",
    ["0812345678", "081-234-5678", "+66 81 234 5678", "a@b.co", NATIONAL_ID, "02 123 4567"],
)
def test_pii_prefilter_lets_identifiers_through(text):
    assert find_pii(text)
    assert may_hold_pii(text)


def test_insert_new_skips_message_ids_stored_meanwhile(session, keyring, policy):
    """A concurrent twin stored between the pre-check and the insert is skipped, not an error."""
    ingest(session, keyring, policy, track_event("purchase", customer_id=CUSTOMER, message_id="x"))
    stored_row = session.execute(select(Event)).scalar_one()
    now = utcnow()
    columns = {
        "id": [uuid.uuid4(), uuid.uuid4()],
        "subject_id": [stored_row.subject_id] * 2,
        "type": ["purchase"] * 2,
        "category": ["purchase_history"] * 2,
        "message_id": ["x", "y"],
        "occurred_at": [now, now],
        "received_at": [now, now],
        "properties_sealed": [b"\x00" * 40] * 2,
        "source": ["api"] * 2,
        "is_partner_data": [False, False],
    }
    assert insert_new(session, columns) == {"y"}
    assert count(session, Event) == 2
    assert insert_new(session, {**columns, "id": [uuid.uuid4(), uuid.uuid4()]}) == set()


def test_purchase_lines_open_only_the_purchases_with_a_permit_for_the_subject(
    session, keyring, policy
):
    """Erasure's legal hold reads the purchases only (TH-DSR-04), through the door."""
    consent(session, keyring, policy)
    ingest(
        session, keyring, policy,
        track_event("purchase", customer_id=CUSTOMER, order_id="ORD-9", item_id="SKU-9",
                    quantity=1, amount=99.0),
        track_event("search", customer_id=CUSTOMER),
        track_event("purchase", customer_id="C-EV-OTHER"),
    )  # fmt: skip
    mine = subject_id_of(session, keyring).subject_id
    other = subject_id_of(session, keyring, "C-EV-OTHER").subject_id
    permit = rights_permit(session, keyring, policy, mine)
    lines = events_service.purchase_lines(session, keyring=keyring, permit=permit, subject_id=mine)
    assert [(props["order_id"], props["amount"]) for _at, props in lines] == [("ORD-9", 99.0)]
    with pytest.raises(PolicyDenied):
        events_service.purchase_lines(session, keyring=keyring, permit=permit, subject_id=other)
    profiles_identities.destroy_data_key(session, subject_id=mine, now=utcnow(), actor="test")
    assert events_service.purchase_lines(
        session, keyring=keyring, permit=permit, subject_id=mine
    ) == []  # fmt: skip
