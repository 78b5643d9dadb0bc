"""The events of an access copy (TH-DSR-01): every event, opened, oldest first, in batches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rujai.errors import PolicyDenied
from rujai.events import service as events_service
from rujai.events.errors import EventsSealedAway
from rujai.events.schemas import EventRead
from rujai.profiles import service as profiles_service
from rujai.rights import erasure
from rujai.writer import session_scope
from tests.factories import NOW, make_consent, rights_permit, track_event

CUSTOMER = "C-ACCESS-1"


@pytest.fixture
def subject_id(factory, keyring, policy):
    shapes = [
        ("page_view", {"path": "/th/c/1"}),
        ("search", {"query": "หมอนอิง"}),
        ("purchase", {"order_id": "O-1", "item_id": "SKU-1", "quantity": 1, "amount": 5.5}),
    ]
    with session_scope(factory) as s:
        make_consent(s, keyring, policy, "recommendations", customer_id=CUSTOMER, now=NOW)
        make_consent(s, keyring, policy, "analytics", customer_id=CUSTOMER, now=NOW)
        events_service.ingest(
            s, keyring=keyring, policy=policy, source="api", is_partner_data=False, now=NOW,
            actor="test", events=[
                track_event(shapes[n % 3][0], customer_id=CUSTOMER, message_id=f"a-{n}",
                            timestamp=NOW - timedelta(minutes=n), **shapes[n % 3][1])
                for n in range(7)
            ],
        )  # fmt: skip
        return profiles_service.find_id(s, keyring=keyring, customer_id=CUSTOMER)


def test_stream_yields_every_event_oldest_first_as_validated_reads_th_dsr_01(
    factory, keyring, policy, subject_id
):
    """TH-DSR-01: the same events, in any batch size, each equal to a validated EventRead."""
    with session_scope(factory) as s:
        permit = rights_permit(s, keyring, policy, subject_id)
        whole = events_service.export_subject(
            s, keyring=keyring, permit=permit, subject_id=subject_id
        )
        for batch in (1, 2, 1000):
            streamed = list(
                events_service.stream_subject(
                    s, keyring=keyring, permit=permit, subject_id=subject_id, batch=batch
                )
            )
            assert streamed == whole
    assert len(whole) == 7
    assert [e.occurred_at for e in whole] == sorted(e.occurred_at for e in whole)
    assert all(e.occurred_at.utcoffset() == timedelta(0) for e in whole)
    for read in whole:
        validated = EventRead.model_validate(read.model_dump())
        assert read == validated
        assert read.model_dump_json() == validated.model_dump_json()
        assert read.model_fields_set == validated.model_fields_set
        assert read.model_extra is None
    assert {e.properties.get("query") for e in whole} >= {"หมอนอิง"}


def test_stream_refuses_another_subjects_permit(factory, keyring, policy, subject_id):
    with session_scope(factory) as s:
        make_consent(s, keyring, policy, "recommendations", customer_id="C-ACCESS-2", now=NOW)
        found = profiles_service.find_id(s, keyring=keyring, customer_id="C-ACCESS-2")
        other = rights_permit(s, keyring, policy, found)
        with pytest.raises(PolicyDenied, match="another subject"):
            list(
                events_service.stream_subject(
                    s, keyring=keyring, permit=other, subject_id=subject_id
                )
            )


def test_stream_of_an_erased_subject_is_empty_or_sealed_away(factory, keyring, policy, subject_id):
    """TH-DSR-04: after erasure nothing is left to stream."""
    with session_scope(factory) as s:
        permit = rights_permit(s, keyring, policy, subject_id)
        erasure.erase(
            s, keyring=keyring, policy=policy, subject_id=subject_id, request_id=None, now=NOW,
            actor="test",
        )  # fmt: skip
        try:
            left = list(
                events_service.stream_subject(
                    s, keyring=keyring, permit=permit, subject_id=subject_id
                )
            )
        except EventsSealedAway:
            left = []
    assert left == []
