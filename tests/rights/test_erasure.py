"""The erasure cascade reaches everything and keeps only the legal hold and suppression (TH-DSR-04).

Every test runs on SQLite and PostgreSQL (the ``factory`` fixture), with real tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit.models import AuditEntry
from rujai.catalog import service as catalog_service
from rujai.catalog.schemas import ItemCreate
from rujai.config import PersonalizeSettings
from rujai.errors import PolicyDenied
from rujai.events import service as events_service
from rujai.kit.crypto import Keyring
from rujai.personalize import decide as decide_service, insights, offers, recommend
from rujai.personalize.decision_schemas import DecideCreate
from rujai.personalize.models import OfferArm, RecommenderMember
from rujai.policy.schemas import Policy
from rujai.profiles import (
    erasure as profiles_erasure,
    merge as profiles_merge,
    service as profiles_service,
)
from rujai.profiles.models import Suppression
from rujai.profiles.schemas import IdentifyCreate
from rujai.rights import erasure, verify
from rujai.rights.models import LegalHold, OutboxMessage, RightsRequest
from rujai.writer import session_scope
from tests.factories import make_consent, rights_permit, track_event

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
SKUS = [f"SKU-{i:02d}" for i in range(8)]
CUSTOMER = "C-ERASE-7781"
EMAIL = "somchai.erase@example.com"
ANONYMOUS = "device-erase-0042"


@dataclass(frozen=True)
class Person:
    subject_id: uuid.UUID
    customer_id: str
    decision_id: uuid.UUID
    request_id: uuid.UUID


def _items() -> list[ItemCreate]:
    return [
        ItemCreate(
            id=sku, name_th=f"สินค้า {sku}", name_en=f"Product {sku}",
            product_category="kitchen", price_thb=Decimal("250"),
        )
        for sku in SKUS
    ]  # fmt: skip


def _ingest(session: Session, keyring: Keyring, policy: Policy, events: list) -> None:
    summary = events_service.ingest(
        session, keyring=keyring, policy=policy, events=events, source="api",
        is_partner_data=False, now=NOW, actor="test",
    )  # fmt: skip
    assert summary.accepted == len(events), summary


def _shopper(s: Session, keyring: Keyring, policy: Policy, cid: str, skus: list[str]) -> None:
    make_consent(s, keyring, policy, "recommendations", customer_id=cid, now=NOW)
    make_consent(s, keyring, policy, "personalized_offers", customer_id=cid, now=NOW)
    events = [
        track_event(
            "purchase", customer_id=cid, timestamp=NOW - timedelta(days=3 + i),
            order_id=f"O-{cid}-{i // 2}", item_id=sku, quantity=1, amount=250.0, currency="THB",
        )
        for i, sku in enumerate(skus)
    ]  # fmt: skip
    _ingest(s, keyring, policy, events)


def build_person(
    factory: sessionmaker[Session], keyring: Keyring, policy: Policy, customer_id: str = CUSTOMER
) -> Person:
    """A customer with everything: merged device, traits, consents, events, insights, model
    membership, a decision with bandit outcomes, a rights request, a code and a message."""
    recommend.clear_caches()
    with session_scope(factory) as s:
        catalog_service.upsert_many(s, items=_items(), now=NOW)
        for n in range(6):
            _shopper(s, keyring, policy, f"C-OTHER-{n}", SKUS[n : n + 3])
        _shopper(s, keyring, policy, customer_id, SKUS[:4])
        make_consent(s, keyring, policy, "analytics", customer_id=customer_id, now=NOW)
        _ingest(s, keyring, policy, [
            track_event("purchase", anonymous_id=ANONYMOUS, customer_id=None,
                        timestamp=NOW - timedelta(days=1), order_id="O-DEVICE-1",
                        item_id=SKUS[5], quantity=2, amount=499.5),
        ])  # fmt: skip
        profiles_merge.identify(
            s, keyring=keyring, policy=policy, now=NOW, actor="test",
            body=IdentifyCreate(customer_id=customer_id, anonymous_id=ANONYMOUS,
                                traits={"email": EMAIL, "first_name": "สมชาย", "gender": "m"}),
        )  # fmt: skip
        subject_id = profiles_service.find_id(s, keyring=keyring, customer_id=customer_id)
        assert subject_id is not None
        profiles_service.set_birth_date(
            s, keyring=keyring, subject_id=subject_id, birth_date=date(1990, 5, 17), now=NOW
        )
        for offer in offers.parse_offers([_OFFER]):
            offers.create(s, policy=policy, offer=offer, now=NOW, actor="test")
        recommend.train(s, keyring=keyring, policy=policy, now=NOW)
        insights.refresh_subjects(
            s, keyring=keyring, policy=policy, subject_ids={subject_id}, now=NOW
        )
    with session_scope(factory) as s:
        decision = decide_service.decide(
            s, policy=policy, keyring=keyring, settings=PersonalizeSettings(holdout_share=0.0),
            body=DecideCreate(customer_id=customer_id, placement="app_offer", k=3),
            now=NOW, actor="test",
        )  # fmt: skip
        s.flush()
        offers.record_outcome(s, decision_id=decision.id, kind="converted", now=NOW)
        request_id = _rights_rows(s, subject_id)
    return Person(subject_id, customer_id, decision.id, request_id)


_OFFER = {
    "id": "welcome10",
    "kind": "coupon",
    "title": {"th": "ส่วนลด 10%", "en": "10% off"},
    "is_generic": True,
    "variants": {"default": {"th": "ลด 10% ทั้งร้าน", "en": "10% off everything"}},
}


def _rights_rows(s: Session, subject_id: uuid.UUID) -> uuid.UUID:
    request = RightsRequest(
        id=uuid.uuid4(), subject_id=subject_id, kind="erasure", status="in_progress",
        channel="privacy_center", submitted_by="subject", jurisdiction="TH", received_at=NOW,
        due_at=NOW + timedelta(days=30), detail={}, result={}, updated_at=NOW,
    )  # fmt: skip
    s.add(request)
    s.add(
        OutboxMessage(
            subject_id=subject_id, channel="email", template="request_received",
            recipient_sealed=b"\x00sealed", body_sealed=b"\x00sealed", created_at=NOW,
        )
    )  # fmt: skip
    s.flush()
    return request.id


def _erase(factory, keyring, policy, person: Person) -> erasure.ErasureReport:
    with session_scope(factory) as s:
        return erasure.erase(
            s, keyring=keyring, policy=policy, subject_id=person.subject_id,
            request_id=person.request_id, now=NOW, actor="test",
        )  # fmt: skip


def _scan(factory, keyring, customer_id: str = CUSTOMER) -> verify.VerifyReport:
    with session_scope(factory) as s:
        return verify.scan(s, keyring=keyring, customer_id=customer_id, extra_needles=[EMAIL])


def test_erasure_leaves_nothing_that_verify_erasure_can_find(factory, keyring, policy):
    """TH-DSR-04 / invariant 3: every table, the model and the bandit; verify finds nothing."""
    person = build_person(factory, keyring, policy)
    before = _scan(factory, keyring)
    assert {"event", "identity", "consent_record", "decision", "recommender_member"} <= {
        leftover.table for leftover in before.leftovers
    }
    report = _erase(factory, keyring, policy, person)
    assert report.is_complete
    assert report.leftovers == {}
    assert report.profiles == 2  # the customer and the device profile merged into it
    assert report.rows["event"] == 5
    assert report.rows["subject"] == 2
    assert report.model_version is not None
    after = _scan(factory, keyring)
    assert after.leftovers == [], after
    assert after.subject_ids == [person.subject_id]  # found again through suppression + audit
    assert after.model.matches_reference is True


def test_erasure_keeps_a_minimal_unlinked_tax_invoice_hold(factory, keyring, policy):
    """TH-DSR-04: legal-hold records are kept apart, without any link to the person."""
    person = build_person(factory, keyring, policy)
    report = _erase(factory, keyring, policy, person)
    assert report.legal_holds == 3  # four purchase lines in two orders, one before sign-in
    with session_scope(factory) as s:
        holds = s.scalars(select(LegalHold).order_by(LegalHold.reference)).all()
        mine = [h for h in holds if h.reference.startswith(("O-DEVICE", f"O-{CUSTOMER}-"))]
        assert [(h.reference, h.amount, h.currency) for h in mine] == [
            (f"O-{CUSTOMER}-0", Decimal("500.00"), "THB"),
            (f"O-{CUSTOMER}-1", Decimal("500.00"), "THB"),
            ("O-DEVICE-1", Decimal("499.50"), "THB"),
        ]
        assert all(h.hold_until == erasure.add_years(h.issued_on, 5) for h in mine)
        assert all("87/3" in h.basis for h in mine)


def test_erasure_unlearns_the_bandit_and_the_recommender(factory, keyring, policy):
    """TH-DSR-04 "including models": arms lose the subject's outcomes; the member row goes."""
    person = build_person(factory, keyring, policy)
    with session_scope(factory) as s:
        shown = s.scalar(select(func.sum(OfferArm.impressions)))
    _erase(factory, keyring, policy, person)
    with session_scope(factory) as s:
        assert s.scalar(select(func.sum(OfferArm.impressions))) == shown - 1
        assert s.get(RecommenderMember, person.subject_id) is None
        check = verify.check_model(s, [person.subject_id])
    assert check.is_member is False
    assert check.matches_reference is True


def test_erasure_suppresses_blind_indexes_only(factory, keyring, policy):
    """A later import of the same person is flagged: the blinds stay, never the values."""
    person = build_person(factory, keyring, policy)
    report = _erase(factory, keyring, policy, person)
    assert report.suppressed == 3  # customer ref, e-mail, anonymous device id
    with session_scope(factory) as s:
        kinds = sorted(s.scalars(select(Suppression.kind)))
        assert kinds == ["anonymous", "customer", "email"]
        blind = keyring.blind("customer", CUSTOMER)
        assert erasure.is_suppressed(s, "customer", blind)
        assert not erasure.is_suppressed(s, "customer", keyring.blind("customer", "C-OTHER-1"))
        assert erasure.suppressed_many(s, [("customer", blind), ("email", "0" * 64)]) == {
            ("customer", blind)
        }


def test_erasure_keeps_the_request_without_its_link(factory, keyring, policy):
    """TH-DSR-00: the request's life cycle survives erasure; its subject link does not."""
    person = build_person(factory, keyring, policy)
    _erase(factory, keyring, policy, person)
    with session_scope(factory) as s:
        request = s.get(RightsRequest, person.request_id)
        assert request is not None
        assert request.subject_id is None
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_erasure_of_one_customer_leaves_the_others_intact(factory, keyring, policy):
    person = build_person(factory, keyring, policy)
    _erase(factory, keyring, policy, person)
    with session_scope(factory) as s:
        other = profiles_service.find_id(s, keyring=keyring, customer_id="C-OTHER-2")
        assert other is not None
        permit = rights_permit(s, keyring, policy, other)
        assert (
            len(events_service.export_subject(s, keyring=keyring, permit=permit, subject_id=other))
            == 3
        )


def test_erasure_of_an_unknown_subject_is_a_404(factory, keyring, policy):
    from rujai.profiles.errors import SubjectNotFound

    with session_scope(factory) as s, pytest.raises(SubjectNotFound):
        erasure.erase(
            s, keyring=keyring, policy=policy, subject_id=uuid.uuid4(), request_id=None,
            now=NOW, actor="test",
        )  # fmt: skip


def test_erasure_completes_for_a_subject_already_crypto_shredded(factory, keyring, policy):
    """A shredded subject's purchases cannot be read any more: no hold, but nothing left."""
    from rujai.profiles import identities

    person = build_person(factory, keyring, policy)
    with session_scope(factory) as s:
        identities.destroy_data_key(s, subject_id=person.subject_id, now=NOW, actor="test")
    report = _erase(factory, keyring, policy, person)
    assert report.is_complete
    assert report.legal_holds == 0
    assert _scan(factory, keyring).leftovers == []


def test_erasure_reads_each_profile_through_the_door_even_when_restricted(factory, keyring, policy):
    """TH-DSR-04, TH-DSR-05: a restricted person is still erased; opening their purchases for the
    legal hold takes an ``answer_rights`` permit for each profile, audited as ``policy.check``."""
    person = build_person(factory, keyring, policy)
    with session_scope(factory) as s:
        profiles_service.set_restricted(s, subject_id=person.subject_id, restricted=True, now=NOW)
        family = profiles_erasure.family_of(s, subject_id=person.subject_id)
        seen = s.scalar(select(func.max(AuditEntry.seq)))
    report = _erase(factory, keyring, policy, person)
    assert report.is_complete
    assert report.legal_holds == 3
    with session_scope(factory) as s:
        checks = s.scalars(
            select(AuditEntry).where(AuditEntry.seq > seen, AuditEntry.action == "policy.check")
        ).all()
    assert sorted(c.subject_id for c in checks) == sorted(family)
    assert {(c.purpose, c.detail["action"], c.detail["allowed"]) for c in checks} == {
        ("rights_requests", "answer_rights", True)
    }


def test_erasure_is_refused_without_a_rights_purpose_and_changes_nothing(factory, keyring, policy):
    """The door refuses to answer a request under a policy with no ``rights_requests`` purpose."""
    person = build_person(factory, keyring, policy)
    data = policy.model_dump()
    del data["purposes"]["rights_requests"]
    bare = Policy.model_validate(data)
    with pytest.raises(PolicyDenied, match="rights_requests"), session_scope(factory) as s:
        erasure.erase(
            s, keyring=keyring, policy=bare, subject_id=person.subject_id,
            request_id=person.request_id, now=NOW, actor="test",
        )  # fmt: skip
    with session_scope(factory) as s:
        assert s.get(RightsRequest, person.request_id).subject_id == person.subject_id
        assert s.scalar(select(func.count()).select_from(LegalHold)) == 0
    assert "event" in {leftover.table for leftover in _scan(factory, keyring).leftovers}


def test_tax_invoices_group_lines_by_order_and_ignore_odd_amounts():
    lines = [
        (NOW, {"order_id": "A", "amount": 100.5, "currency": "THB"}),
        (NOW - timedelta(days=1), {"order_id": "A", "amount": "20"}),
        (NOW, {"order_id": "B", "amount": True}),
        (NOW, {"amount": 5}),
    ]
    invoices = erasure.tax_invoices(lines)
    assert invoices == {
        "A": (Decimal("120.50"), "THB", (NOW - timedelta(days=1)).date()),
        "B": (Decimal("0.00"), "THB", NOW.date()),
    }
    assert erasure.add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
