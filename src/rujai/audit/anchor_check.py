"""Checking the chain against signed heads: checkpoints and receipts (TH-SEC-01).

The chain walk (``audit.checker``) proves the log is consistent with itself. This module proves it
is the log that was signed: every checkpoint line must carry a valid Ed25519 signature, their seqs
must never go down, and the chain must still hold each signed hash at its seq. A chain shorter than
a checkpoint is truncated; a different hash at a checkpointed seq means history was rewritten
(edited and rehashed, renumbered, emptied). Receipts' embedded heads are checked the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from rujai.audit.anchor import read_checkpoints
from rujai.audit.chain import entry_hashes
from rujai.audit.schemas import AuditVerifyReport, SignedHead
from rujai.audit.signing import head_signature_ok


@dataclass(frozen=True)
class Anchors:
    """What to check the chain against: the public key, a checkpoint file, receipt heads."""

    public_key: Ed25519PublicKey | None
    checkpoint_file: Path | None
    receipts: Sequence[tuple[str, SignedHead | None]] = field(default_factory=tuple)


@dataclass
class _Problem(Exception):
    """The first problem found; carries the seq to report."""

    seq: int
    message: str


def verify_anchored(
    session: Session, chain: AuditVerifyReport, anchors: Anchors
) -> AuditVerifyReport:
    """Check an intact chain against checkpoints and receipts; report the first mismatch."""
    if not chain.ok:
        return chain
    warnings: list[str] = []
    heads: list[SignedHead] = []
    try:
        heads = _checkpoints(anchors, warnings)
        _match_chain(session, chain.checked, [("checkpoint", h) for h in heads])
        checked_receipts = _receipts(session, chain.checked, anchors, warnings)
    except _Problem as p:
        return chain.model_copy(
            update={"ok": False, "first_bad_seq": p.seq, "problem": p.message,
                    "checkpoints_checked": len(heads), "warnings": tuple(warnings)}
        )  # fmt: skip
    return chain.model_copy(
        update={
            "checkpoint": max(heads, key=lambda h: h.seq) if heads else None,
            "checkpoints_checked": len(heads),
            "receipts_checked": checked_receipts,
            "warnings": tuple(warnings),
        }
    )


def receipt_head(data: object) -> SignedHead | None:
    """Return the signed head a receipt (parsed JSON) carries; None if it has none.

    Raises ``ValueError`` when ``data`` is not a receipt object or its head is malformed.
    """
    if not isinstance(data, dict) or "signature" not in data:
        raise ValueError("not a receipt (a JSON object with a signature)")
    head = data.get("audit_head")
    return None if head is None else SignedHead.model_validate(head)


def _checkpoints(anchors: Anchors, warnings: list[str]) -> list[SignedHead]:
    """Read every checkpoint line; raise at a forged, unreadable or backward line."""
    path = anchors.checkpoint_file
    if path is None or not path.exists():
        warnings.append(
            f"no checkpoint file{f' at {path}' if path else ''}: the chain was checked only "
            "against itself, so truncation or a rewritten history would go unnoticed"
        )
        return []
    heads: list[SignedHead] = []
    for number, head in read_checkpoints(path):
        if head is None:
            raise _Problem(1, f"checkpoint line {number} is unreadable")
        _check_signature(anchors.public_key, head, f"checkpoint line {number}")
        if heads:
            _check_order(heads[-1], head, number)
        heads.append(head)
    if not heads:
        warnings.append(f"checkpoint file {path} is empty: the chain was checked only by itself")
    return heads


def _check_signature(key: Ed25519PublicKey | None, head: SignedHead, label: str) -> None:
    if key is None:
        raise _Problem(head.seq, f"{label}: no public key to check its signature")
    if not head_signature_ok(head, key):
        raise _Problem(head.seq, f"{label}: signature does not verify (forged or another key)")


def _check_order(previous: SignedHead, head: SignedHead, number: int) -> None:
    """Checkpoints only move forward: seq never down, time never back, one hash per seq."""
    if head.seq < previous.seq or head.at < previous.at:
        raise _Problem(
            head.seq, f"checkpoint line {number} goes back (#{previous.seq} to #{head.seq})"
        )
    if head.seq == previous.seq and head.hash != previous.hash:
        raise _Problem(head.seq, f"checkpoint line {number} contradicts the one before it")


def _match_chain(session: Session, length: int, heads: list[tuple[str, SignedHead]]) -> None:
    """Raise unless the chain holds every head's hash at its seq (first problem by seq)."""
    distinct = sorted({(h.seq, h.hash): (label, h) for label, h in heads}.values(),
                      key=lambda pair: pair[1].seq)  # fmt: skip
    stored = entry_hashes(session, [h.seq for _, h in distinct if h.seq <= length])
    for label, head in distinct:
        signed = f"{label} #{head.seq} signed at {head.at.isoformat()}"
        if head.seq > length:
            raise _Problem(
                length + 1,
                f"chain is truncated: {signed} covers it but the chain ends at #{length}",
            )
        if stored.get(head.seq) != head.hash:
            raise _Problem(
                head.seq,
                f"entry #{head.seq} does not match {signed}: history up to it was rewritten",
            )


def _receipts(session: Session, length: int, anchors: Anchors, warnings: list[str]) -> int:
    """Check each receipt's signed head like a checkpoint; return how many were checked."""
    signed: list[tuple[str, SignedHead]] = []
    for label, head in anchors.receipts:
        if head is None:
            warnings.append(f"receipt {label} carries no signed audit head")
            continue
        _check_signature(anchors.public_key, head, f"receipt {label}")
        signed.append((f"receipt {label}: head", head))
    _match_chain(session, length, signed)
    return len(signed)
