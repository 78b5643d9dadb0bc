"""Signed checkpoints catch what the hash chain alone misses (TH-SEC-01).

The issue: on a copy of the demo database, ``rujai audit verify`` said "intact" after the newest
entries were deleted and the head moved back, after an edit with every later hash recomputed, after
a delete with renumbering, and after every entry was deleted. Every tampering case below is run
against a chain with a signed checkpoint outside the database, and each one is detected.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import anchor, service as audit_service
from rujai.audit.anchor_check import Anchors
from rujai.audit.models import AuditEntry, AuditHead
from rujai.audit.schemas import AuditVerifyReport, SignedHead
from rujai.audit.signing import Signer, load_or_create_signer
from tests.audit.chain import T0, build_chain, delete_entry, set_head, tamper
from tests.audit.rewrite import drop, edit, insert_at, keep_first, rewrite

LENGTH = 20
LATER = T0 + timedelta(hours=1)


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return load_or_create_signer(tmp_path / "audit-signing.key")


@pytest.fixture
def checkpoints(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.jsonl"


@pytest.fixture
def signed_chain(factory: sessionmaker[Session], signer: Signer, checkpoints: Path) -> SignedHead:
    """A chain of LENGTH entries whose head is checkpointed."""
    with factory() as s, s.begin():
        build_chain(s, LENGTH)
    with factory() as s:
        head = anchor.checkpoint(s, signer, checkpoints, LATER)
    assert head is not None
    return head


def verify(
    factory: sessionmaker[Session],
    signer: Signer,
    checkpoints: Path | None,
    receipts: tuple[tuple[str, SignedHead | None], ...] = (),
) -> AuditVerifyReport:
    anchors = Anchors(public_key=signer.public_key, checkpoint_file=checkpoints, receipts=receipts)
    with factory() as s:
        return audit_service.verify(s, anchors=anchors)


def _swap(engine: Engine, a: int, b: int) -> None:
    """Swap the content of two entries (their seq numbers stay in place)."""
    with engine.begin() as conn:
        rows = {
            r.seq: r._mapping
            for r in conn.execute(select(AuditEntry).where(AuditEntry.seq.in_([a, b])))
        }
        for seq, other in ((a, b), (b, a)):
            values = {k: v for k, v in rows[other].items() if k != "seq"}
            conn.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(**values))


def _insert_past_head(engine: Engine) -> None:
    """Append a well-formed entry #LENGTH+1 without moving the head."""
    with engine.begin() as conn:
        last = conn.execute(select(AuditEntry).where(AuditEntry.seq == LENGTH)).one()
        fields = {f: getattr(last, f) for f in ("actor", "action", "subject_id", "purpose",
                                                  "outcome", "detail")}  # fmt: skip
        at = last.at + timedelta(seconds=1)
        digest = audit_service.entry_hash(seq=LENGTH + 1, at=at, prev_hash=last.hash, **fields)
        conn.execute(insert(AuditEntry).values(seq=LENGTH + 1, at=at, prev_hash=last.hash,
                                               hash=digest, **fields))  # fmt: skip


def _truncate_and_move_head_back(engine: Engine) -> None:
    """Delete the newest 10 entries and move the head back onto the 10th."""
    with engine.begin() as conn:
        conn.execute(delete(AuditEntry).where(AuditEntry.seq > LENGTH - 10))
        kept = conn.execute(select(AuditEntry.hash).where(AuditEntry.seq == LENGTH - 10))
        conn.execute(update(AuditHead).values(seq=LENGTH - 10, hash=kept.scalar_one()))


def _delete_everything(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(AuditEntry))
        conn.execute(delete(AuditHead))


# Each case tampers with the stored log as someone with write access to the database would.
DATABASE_CASES: dict[str, Callable[[Engine], None]] = {
    "edit detail": lambda e: tamper(e, 5, detail={"i": 4, "reason": "edited"}),
    "edit actor": lambda e: tamper(e, 6, actor="key:forged"),
    "edit at": lambda e: tamper(e, 7, at=T0 - timedelta(days=1)),
    "delete a middle entry": lambda e: delete_entry(e, 10),
    "insert an entry past the head": _insert_past_head,
    "reorder two entries": lambda e: _swap(e, 8, 9),
    "change a hash": lambda e: tamper(e, 12, hash="f" * 64),
    "move the head forward": lambda e: set_head(e, seq=LENGTH + 5),
    "delete the newest 10 and move the head back": _truncate_and_move_head_back,
    "edit an entry and recompute every later hash": lambda e: rewrite(
        e, edit(4, detail={"i": 3, "reason": "rewritten"})
    ),
    "delete an entry, renumber and rehash": lambda e: rewrite(e, drop(11)),
    "insert an entry, renumber and rehash": lambda e: rewrite(e, insert_at(11)),
    "truncate and rehash": lambda e: rewrite(e, keep_first(LENGTH - 3)),
    "delete every entry and the head": _delete_everything,
}


@pytest.mark.parametrize("case", DATABASE_CASES)
def test_tampering_with_the_database_is_detected(
    case: str, signed_chain: SignedHead, factory, engine, signer, checkpoints
) -> None:
    """TH-SEC-01: each of the issue's tampering cases is detected against the checkpoint."""
    DATABASE_CASES[case](engine)
    report = verify(factory, signer, checkpoints)
    assert not report.ok, report
    assert report.problem
    assert report.first_bad_seq is not None


@pytest.mark.parametrize(
    "case",
    ["delete the newest 10 and move the head back", "edit an entry and recompute every later hash",
     "delete an entry, renumber and rehash", "delete every entry and the head"],
)  # fmt: skip
def test_the_four_cases_the_chain_alone_missed_are_named(
    case: str, signed_chain: SignedHead, factory, engine, signer, checkpoints
) -> None:
    DATABASE_CASES[case](engine)
    with factory() as s:
        assert audit_service.verify(s).ok  # the chain is consistent with itself again...
    report = verify(factory, signer, checkpoints)  # ...but not with what was signed
    assert not report.ok
    assert "checkpoint #20" in (report.problem or "")
    assert "truncated" in report.problem or "rewritten" in report.problem


def test_the_empty_log_against_a_checkpoint_is_truncated(
    signed_chain, factory, engine, signer, checkpoints
) -> None:
    _delete_everything(engine)
    report = verify(factory, signer, checkpoints)
    assert not report.ok
    assert report.first_bad_seq == 1
    assert "chain ends at #0" in (report.problem or "")


def test_a_forged_checkpoint_line_is_detected(
    signed_chain, factory, engine, signer, checkpoints, tmp_path
) -> None:
    """An attacker truncates the log and appends a head signed with their own key."""
    _truncate_and_move_head_back(engine)
    with factory() as s:
        seq, chain_hash = audit_service.read_head(s)
    forger = load_or_create_signer(tmp_path / "attacker.key")
    forged = forger.sign_head(seq=seq, chain_hash=chain_hash, at=LATER + timedelta(minutes=1))
    forged = forged.model_copy(update={"key_id": signer.key_id})  # claim the real key's id
    with checkpoints.open("a") as fh:
        fh.write(forged.model_dump_json() + "\n")
    report = verify(factory, signer, checkpoints)
    assert not report.ok
    assert "checkpoint line 2: signature does not verify" in (report.problem or "")


def test_an_edited_checkpoint_line_is_detected(signed_chain, factory, signer, checkpoints) -> None:
    line = json.loads(checkpoints.read_text())
    checkpoints.write_text(json.dumps({**line, "seq": 3}) + "\n")
    report = verify(factory, signer, checkpoints)
    assert not report.ok
    assert "signature does not verify" in (report.problem or "")


def test_a_checkpoint_file_that_goes_back_is_detected(
    signed_chain, factory, signer, checkpoints
) -> None:
    older = signer.sign_head(seq=3, chain_hash="a" * 64, at=LATER + timedelta(minutes=1))
    with checkpoints.open("a") as fh:
        fh.write(older.model_dump_json() + "\n")
    report = verify(factory, signer, checkpoints)
    assert not report.ok
    assert "goes back" in (report.problem or "")


def test_a_receipt_whose_head_no_longer_matches_is_detected(
    signed_chain, factory, engine, signer, checkpoints
) -> None:
    """The attacker rewrites history and deletes the checkpoint file; the receipt still tells."""
    rewrite(engine, edit(2, outcome="deny"))
    checkpoints.unlink()
    report = verify(factory, signer, None, receipts=(("consent-receipt.json", signed_chain),))
    assert not report.ok
    assert "receipt consent-receipt.json" in (report.problem or "")
    assert any("no checkpoint file" in w for w in report.warnings)


def test_a_receipt_with_a_forged_head_is_detected(signed_chain, factory, signer) -> None:
    raw = base64.b64decode(signed_chain.signature)
    bad = signed_chain.model_copy(
        update={"signature": base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode()}
    )
    report = verify(factory, signer, None, receipts=(("r.json", bad),))
    assert not report.ok
    assert "receipt r.json: signature does not verify" in (report.problem or "")


def test_an_intact_chain_matches_its_checkpoint_and_receipts(
    signed_chain, factory, signer, checkpoints
) -> None:
    report = verify(factory, signer, checkpoints, receipts=(("r.json", signed_chain),))
    assert report.ok, report
    assert report.checked == LENGTH
    assert report.checkpoint == signed_chain
    assert (report.checkpoints_checked, report.receipts_checked) == (1, 1)
    assert report.warnings == ()


def test_appends_after_the_checkpoint_are_not_flagged(
    signed_chain, factory, signer, checkpoints
) -> None:
    with factory() as s, s.begin():
        build_chain(s, 3, start=LATER)
    report = verify(factory, signer, checkpoints)
    assert report.ok, report
    assert report.checked == LENGTH + 3
    assert report.checkpoint is not None
    assert report.checkpoint.seq == LENGTH


def test_without_a_checkpoint_file_verify_warns_instead_of_saying_intact_silently(
    signed_chain, factory, signer, tmp_path
) -> None:
    report = verify(factory, signer, tmp_path / "absent.jsonl")
    assert report.ok
    assert report.checkpoint is None
    assert any("no checkpoint file" in w for w in report.warnings)


def test_without_a_public_key_checkpoints_are_not_trusted(
    signed_chain, factory, checkpoints
) -> None:
    anchors = Anchors(public_key=None, checkpoint_file=checkpoints)
    with factory() as s:
        report = audit_service.verify(s, anchors=anchors)
    assert not report.ok
    assert "no public key" in (report.problem or "")


def test_a_receipt_without_a_head_is_a_warning(signed_chain, factory, signer, checkpoints) -> None:
    report = verify(factory, signer, checkpoints, receipts=(("old.json", None),))
    assert report.ok
    assert report.warnings == ("receipt old.json carries no signed audit head",)
