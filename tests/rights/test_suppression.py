"""After erasure, the same customer arriving again is flagged, not re-created (TH-DSR-04)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from rujai.events import service as events_service
from rujai.profiles import service as profiles_service
from rujai.profiles.models import Subject
from rujai.rights import erasure
from tests.factories import make_consent, track_event

NOW = datetime.now(UTC)  # the API refuses events more than a day ahead of the real clock


def _ingest(session, keyring, policy, customer_id, order_id):
    return events_service.ingest(
        session,
        keyring=keyring,
        policy=policy,
        events=[
            track_event(
                "purchase",
                customer_id=customer_id,
                timestamp=NOW,
                order_id=order_id,
                item_id="SKU-1",
                quantity=1,
                amount=590.0,
            )
        ],
        source="import",
        is_partner_data=False,
        now=NOW,
        actor="test",
    )


def test_an_erased_customer_is_not_recreated_by_a_later_import(session, keyring, policy):
    make_consent(session, keyring, policy, "recommendations", customer_id="C-7001")
    assert _ingest(session, keyring, policy, "C-7001", "O-1").accepted == 1
    erasure.erase_customer(
        session, keyring=keyring, policy=policy, customer_id="C-7001", now=NOW, actor="test"
    )
    before = session.scalar(select(func.count()).select_from(Subject))
    summary = _ingest(session, keyring, policy, "C-7001", "O-2")
    assert summary.accepted == 0
    assert sum(summary.dropped_by_reason.values()) == 1
    assert session.scalar(select(func.count()).select_from(Subject)) == before
    assert profiles_service.find_id(session, keyring=keyring, customer_id="C-7001") is None
    # someone else is unaffected
    assert _ingest(session, keyring, policy, "C-7002", "O-3").accepted == 1
