"""The disclosures domain's public API: the one way data leaves rujai, and the log it leaves.

``disclose`` is what every flow calls (an audience export, a partner pull, a processor sync, a
channel send): it asks the door (``policy.service.authorize_disclosure``: the recipient, its
transfer mechanism and agreement, then each subject's basis now), writes one ``disclosure`` row
per allowed subject with the recipient's pseudonym of the subject, and one ``disclosure.sent``
audit entry with counts, in the same transaction (on a request's read session both are staged
for the writer, which commits them as one unit). The caller then reads the data through the
returned ``PermitSet`` and sends it keyed by ``refs`` (never rujai's subject id). TH-USE-01,
TH-XB-01, TH-PRC-01.

The log feeds the subject's copy (``export_subject``, TH-DSR-01), the record of processing
(``ropa_stats``, s.39, TH-ROPA-01) and the DPO's read-only list (``list_batches``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, cast

from sqlalchemy import CursorResult, Integer, case, func, insert, select, update
from sqlalchemy.orm import Session

from rujai import db
from rujai.audit import service as audit_service
from rujai.disclosures.models import Disclosure
from rujai.disclosures.pseudonym import subject_ref
from rujai.disclosures.schemas import (
    DisclosureBatchRead,
    DisclosureFilter,
    DisclosureRead,
    DisclosureStat,
)
from rujai.kit.crypto import Keyring
from rujai.policy import service as policy_service
from rujai.policy.ropa import DisclosureCount
from rujai.policy.schemas import Policy
from rujai.policy.service import DisclosurePermitSet, Permit

IN_CHUNK = 500  # rows per insert; bounds every statement


@dataclass(frozen=True, slots=True)
class Disclosed:
    """A flow the door allowed and the log recorded: whom to send, under which pseudonym."""

    __personal__: ClassVar[bool] = True  # maps subjects to their pseudonyms

    batch_id: uuid.UUID
    permits: DisclosurePermitSet
    refs: Mapping[uuid.UUID, str]

    @property
    def refused(self) -> Mapping[str, int]:
        """Subjects left out, counted by reason (never listed)."""
        return self.permits.refused


def disclose(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    subject_ids: Collection[uuid.UUID],
    recipient: str,
    purpose: str,
    categories: Sequence[str],
    channel: str,
    now: datetime,
    actor: str,
) -> Disclosed:
    """Ask the door, log every allowed subject and audit the flow; raise PolicyDenied if refused."""
    permits = policy_service.authorize_disclosure(
        session, policy=policy, keyring=keyring, subject_ids=subject_ids, recipient=recipient,
        purpose=purpose, categories=categories, channel=channel, now=now, actor=actor,
    )  # fmt: skip
    batch_id = uuid.uuid4()
    refs = {
        sid: subject_ref(keyring, recipient=recipient, subject_id=sid)
        for sid in permits.subject_ids
    }
    rows = [_row(permits, batch_id, sid, refs[sid], now) for sid in permits.subject_ids]
    if rows:
        db.write(session, lambda s: _insert(s, rows))
    audit_service.record(
        session, actor=actor, action="disclosure.sent", now=now, purpose=purpose,
        outcome="recorded",
        detail={"batch_id": str(batch_id), "recipient": recipient, "channel": channel,
                "country": permits.country, "mechanism": permits.mechanism,
                "categories": list(categories), "disclosed": len(rows),
                "refused": dict(permits.refused)},
    )  # fmt: skip
    return Disclosed(batch_id=batch_id, permits=permits, refs=refs)


def _row(
    permits: DisclosurePermitSet, batch_id: uuid.UUID, sid: uuid.UUID, ref: str, now: datetime
) -> dict[str, Any]:
    verdict = permits.verdicts[sid]
    basis = verdict.lawful_basis
    return {
        "id": uuid.uuid4(), "subject_id": sid, "subject_ref": ref, "batch_id": batch_id,
        "recipient": permits.recipient, "purpose": permits.purpose,
        "basis": basis.value if basis is not None else "",
        "with_consent": bool(basis is not None and basis.is_consent),
        "categories": list(permits.categories), "country": permits.country,
        "mechanism": permits.mechanism, "processor": permits.processor,
        "channel": permits.channel, "policy_version": permits.policy_version, "at": now,
    }  # fmt: skip


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), IN_CHUNK):
        session.execute(insert(Disclosure), rows[start : start + IN_CHUNK])


def disclosed_to(
    session: Session, *, recipient: str, subject_ref: str
) -> tuple[uuid.UUID, str, list[str]] | None:
    """Return (subject, purpose, categories) last disclosed to ``recipient`` under this pseudonym.

    None when nothing was disclosed to it under ``subject_ref``, or the subject was erased since
    (the link is cut). Ids only: the caller asks the door again before reading anything.
    """
    row = session.execute(
        select(Disclosure.subject_id, Disclosure.purpose, Disclosure.categories)
        .where(
            Disclosure.recipient == recipient,
            Disclosure.subject_ref == subject_ref,
            Disclosure.subject_id.is_not(None),
        )
        .order_by(Disclosure.at.desc(), Disclosure.id)
        .limit(1)
    ).first()
    if row is None or row.subject_id is None:
        return None
    return row.subject_id, row.purpose, list(row.categories)


def batch_audience(
    session: Session, *, recipient: str, batch_id: uuid.UUID
) -> tuple[list[uuid.UUID], str, list[str]] | None:
    """Return the still linked subjects, purpose and categories of a flow sent to ``recipient``."""
    rows = session.execute(
        select(Disclosure.subject_id, Disclosure.purpose, Disclosure.categories).where(
            Disclosure.recipient == recipient, Disclosure.batch_id == batch_id
        )
    ).all()
    if not rows:
        return None
    subjects = sorted({r.subject_id for r in rows if r.subject_id is not None})
    return subjects, rows[0].purpose, list(rows[0].categories)


def export_subject(
    session: Session, *, policy: Policy, permit: Permit, subject_id: uuid.UUID
) -> list[DisclosureRead]:
    """Return every disclosure of the subject's data, oldest first (TH-DSR-01: recipients)."""
    permit.require_subject(subject_id)
    rows = session.scalars(
        select(Disclosure)
        .where(Disclosure.subject_id == subject_id)
        .order_by(Disclosure.at, Disclosure.id)
    )
    return [_read(policy, row) for row in rows]


def _read(policy: Policy, row: Disclosure) -> DisclosureRead:
    declared = policy.recipients.get(row.recipient)
    return DisclosureRead(
        id=row.id, recipient=row.recipient,
        recipient_name=declared.name if declared is not None else row.recipient,
        purpose=row.purpose, basis=row.basis, with_consent=row.with_consent,
        categories=list(row.categories), country=row.country, mechanism=row.mechanism,
        processor=row.processor, channel=row.channel, subject_ref=row.subject_ref,
        policy_version=row.policy_version, at=row.at,
    )  # fmt: skip


def erase_subject(session: Session, *, subject_id: uuid.UUID) -> int:
    """Cut the subject's link from its disclosures; the anonymous rows keep the s.39 record.

    The recipient's pseudonym stays, so that a processor can still be told to erase (TH-DSR-04,
    TH-PRC-01); the outbox reads the log before the erasure cuts the link.
    """
    result = session.execute(
        update(Disclosure).where(Disclosure.subject_id == subject_id).values(subject_id=None)
    )
    return cast("CursorResult[Any]", result).rowcount


_WITHOUT_CONSENT = func.sum(case((Disclosure.with_consent.is_(False), 1), else_=0), type_=Integer)


def list_batches(session: Session, *, filters: DisclosureFilter) -> list[DisclosureBatchRead]:
    """Return the flows of the log, newest first, with counts only (the DPO's read-only view)."""
    keys = (Disclosure.batch_id, Disclosure.recipient, Disclosure.purpose, Disclosure.basis,
            Disclosure.channel, Disclosure.country, Disclosure.mechanism, Disclosure.processor,
            Disclosure.policy_version)  # fmt: skip
    at = func.min(Disclosure.at).label("at")
    stmt = select(*keys, at, func.count().label("n"), _WITHOUT_CONSENT.label("without"))
    for column, value in (
        (Disclosure.recipient, filters.recipient),
        (Disclosure.purpose, filters.purpose),
        (Disclosure.channel, filters.channel),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.since is not None:
        stmt = stmt.where(Disclosure.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Disclosure.at < filters.until)
    stmt = stmt.group_by(*keys).order_by(at.desc(), Disclosure.batch_id).limit(filters.limit)
    rows = session.execute(stmt).all()
    categories = _batch_categories(session, [r.batch_id for r in rows])
    return [
        DisclosureBatchRead(
            batch_id=r.batch_id, recipient=r.recipient, purpose=r.purpose, basis=r.basis,
            channel=r.channel, country=r.country, mechanism=r.mechanism, processor=r.processor,
            categories=categories.get(r.batch_id, []), subjects=r.n,
            without_consent=int(r.without or 0), policy_version=r.policy_version, at=r.at,
        )
        for r in rows
    ]  # fmt: skip


def _batch_categories(session: Session, batch_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """One row's categories per batch (every row of a flow has the same)."""
    found: dict[uuid.UUID, list[str]] = {}
    for batch_id in batch_ids:
        categories = session.scalar(
            select(Disclosure.categories).where(Disclosure.batch_id == batch_id).limit(1)
        )
        found[batch_id] = list(categories or [])
    return found


def ropa_stats(session: Session) -> list[DisclosureStat]:
    """Per recipient and purpose: disclosures, subjects, and those made without consent (s.39)."""
    keys = (Disclosure.recipient, Disclosure.purpose, Disclosure.basis, Disclosure.country,
            Disclosure.mechanism, Disclosure.processor)  # fmt: skip
    stmt = (
        select(
            *keys,
            func.count().label("n"),
            func.count(func.distinct(Disclosure.subject_ref)).label("subjects"),
            _WITHOUT_CONSENT.label("without"),
        )
        .group_by(*keys)
        .order_by(Disclosure.recipient, Disclosure.purpose, Disclosure.basis)
    )
    return [
        DisclosureStat(
            recipient=r.recipient, purpose=r.purpose, basis=r.basis, country=r.country,
            mechanism=r.mechanism, processor=r.processor, disclosures=r.n,
            subjects=r.subjects, without_consent=int(r.without or 0),
        )
        for r in session.execute(stmt)
    ]  # fmt: skip


def ropa_counts(session: Session) -> list[DisclosureCount]:
    """Return ``ropa_stats`` as the record of processing takes it (``policy.ropa.build_ropa``)."""
    return [
        DisclosureCount(
            recipient=s.recipient, purpose=s.purpose, basis=s.basis, country=s.country,
            mechanism=s.mechanism, disclosures=s.disclosures, subjects=s.subjects,
            without_consent=s.without_consent,
        )
        for s in ropa_stats(session)
    ]  # fmt: skip
