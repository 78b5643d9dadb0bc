"""Receipts carry the signed audit head of their time, inside their own signature (TH-SEC-01)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import anchor, service as audit_service
from rujai.audit.anchor_check import Anchors, receipt_head
from rujai.audit.signing import load_or_create_signer
from rujai.consent.receipts import verify_receipt
from rujai.rights import receipts as request_receipts
from rujai.rights.schemas import RequestCreate
from tests.audit.chain import T0, build_chain
from tests.audit.rewrite import edit, rewrite
from tests.factories import make_consent

LATER = T0 + timedelta(hours=1)


@pytest.fixture
def anchored(factory: sessionmaker[Session], tmp_path: Path) -> anchor.Anchor:
    """An anchor with one checkpoint, attached to the factory's sessions."""
    tick = anchor.Anchor(load_or_create_signer(tmp_path / "k.pem"), tmp_path / "cp.jsonl")
    with factory() as s, s.begin():
        build_chain(s, 4)
    with factory() as s:
        assert tick.tick(s, LATER) is not None
    tick.attach(factory)
    return tick


def test_a_consent_receipt_embeds_the_newest_signed_head(anchored, factory, keyring, policy):
    with factory() as s, s.begin():
        receipt = make_consent(s, keyring, policy, customer_id="C-HEAD-1")
    data = json.loads(receipt.model_dump_json())
    assert data["audit_head"]["seq"] == 4
    assert verify_receipt(keyring, data)
    assert not verify_receipt(keyring, {**data, "audit_head": None})  # the head is signed
    assert receipt_head(data) == anchored.latest()


def test_a_consent_receipt_without_an_anchor_has_no_head(session, keyring, policy):
    receipt = make_consent(session, keyring, policy, customer_id="C-HEAD-2")
    data = json.loads(receipt.model_dump_json())
    assert data["audit_head"] is None
    assert verify_receipt(keyring, data)


def test_a_request_receipt_is_signed_and_embeds_the_head(anchored, factory, keyring, policy):
    from rujai.rights import intake

    with factory() as s, s.begin():
        request = intake.submit(
            s, keyring=keyring, policy=policy, now=LATER, actor="test", staff=False,
            body=RequestCreate(kind="access", channel="api", customer_id="C-HEAD-3"),
        )  # fmt: skip
        receipt = request_receipts.receipt_for(s, keyring=keyring, request_id=request.id, now=LATER)
    data = json.loads(receipt.model_dump_json())
    assert data["request_id"] == str(request.id)
    assert data["audit_head"]["seq"] == 4
    assert request_receipts.verify_receipt(keyring, data)
    assert not request_receipts.verify_receipt(keyring, {**data, "kind": "erasure"})
    assert "C-HEAD-3" not in json.dumps(data)


def test_a_receipt_catches_a_rewrite_after_the_checkpoint_file_is_gone(
    anchored, factory, engine, keyring, policy
):
    with factory() as s, s.begin():
        receipt = make_consent(s, keyring, policy, customer_id="C-HEAD-4")
    data = json.loads(receipt.model_dump_json())
    rewrite(engine, edit(3, actor="key:forged"))
    anchors = Anchors(
        public_key=anchored.signer.public_key,
        checkpoint_file=None,
        receipts=[("receipt.json", receipt_head(data))],
    )
    with factory() as s:
        report = audit_service.verify(s, anchors=anchors)
    assert not report.ok
    assert "history up to it was rewritten" in (report.problem or "")


@pytest.mark.parametrize("data", [[], {"audit_head": None}, {"signature": "x", "audit_head": 1}])
def test_receipt_head_refuses_what_is_not_a_receipt(data):
    with pytest.raises(ValueError):  # noqa: PT011 - a pydantic ValidationError is a ValueError
        receipt_head(data)
