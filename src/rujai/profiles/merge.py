"""Merging an anonymous profile into a known customer's, undoing it, and ``identify``.

A merge moves the anonymous profile's identities, the traits the known profile lacks and its events
into the known profile, every value re-sealed under the target's data key (TH-SEC-01), and applies
the consent rule of ``consent.merge`` (TH-CON-03: the most restrictive state wins). Objections and a
restriction of either side hold for the merged profile (TH-DSR-03, TH-DSR-05). The anonymous
subject stays, pointing at the target (``merged_into_id``), and a ``subject_merge`` row records the
moved row ids (no personal data), so ``undo`` can move them back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Conflict, NotFound
from rujai.kit import signals
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.profiles import identities, identity_resolve, traits as profiles_traits
from rujai.profiles.errors import SubjectErased, SubjectNotFound
from rujai.profiles.models import Identity, Subject, SubjectMerge, Trait
from rujai.profiles.schemas import (
    ConsentMergeChange,
    IdentifyCreate,
    IdentifyRead,
    MergeRead,
    SubjectRef,
)
from rujai.profiles.sealing import open_value, seal_value, unwrap_key

MAX_LIST = 500
# The domains above profiles that hold a subject's rows: they move them on ``signals``, so that
# profiles imports neither (registered by ``rujai.listeners``; a merge refuses to run without).
MERGED_PARTS = ("consent", "events")


class MergeNotFound(NotFound):
    """No merge with this id."""


def identify(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    body: IdentifyCreate,
    now: datetime,
    actor: str,
) -> IdentifyRead:
    """Link an anonymous id to a known customer, merging the anonymous profile, and set traits."""
    profiles_traits.parse_traits(policy, body.traits, now=now)  # a 422 before any write
    ref = SubjectRef(customer_id=body.customer_id, anonymous_id=None)
    known = identity_resolve.resolve_many(session, keyring=keyring, refs=[ref], now=now)[ref]
    if known.data_key is None:
        raise SubjectErased(f"subject {known.subject_id} has been erased")
    merge_id = None
    if body.anonymous_id is not None:
        merge_id = _link_anonymous(
            session, keyring, policy, known.subject_id, body.anonymous_id, now, actor
        )
    result = profiles_traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=known.subject_id,
        traits=body.traits, source="api", now=now,
    )  # fmt: skip
    return IdentifyRead(
        subject_id=known.subject_id,
        stored=result.stored,
        dropped=result.dropped,
        anonymous_id_linked=body.anonymous_id is not None,
        merged=merge_id is not None,
        merge_id=merge_id,
    )


def _link_anonymous(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    anonymous_id: str,
    now: datetime,
    actor: str,
) -> uuid.UUID | None:
    """Tie the anonymous id to the subject; merge its profile if it has one. Return the merge id.

    An anonymous id that belongs to another known customer is queued for review, not merged, and
    the answer is the same as for a new one (it never tells that another customer holds it).
    """
    ref = SubjectRef(customer_id=None, anonymous_id=anonymous_id)
    found = identity_resolve.resolve_many(
        session, keyring=keyring, refs=[ref], now=now, create=False
    )
    if ref not in found:
        identities.add_identity(
            session, keyring=keyring, subject_id=subject_id, kind="anonymous",
            value=anonymous_id, verified=False, now=now,
        )  # fmt: skip
        return None
    holder = found[ref].subject_id
    if holder == subject_id:
        return None
    if _subject(session, holder).customer_ref is not None:  # another customer's device: review
        identities.queue_conflict(
            session, keyring=keyring, subject_id=subject_id, kind="anonymous",
            value=anonymous_id, now=now,
        )  # fmt: skip
        return None
    merged = merge(
        session, keyring=keyring, policy=policy, from_subject_id=found[ref].subject_id,
        into_subject_id=subject_id, now=now, actor=actor,
    )  # fmt: skip
    return merged.id


def merge(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    from_subject_id: uuid.UUID,
    into_subject_id: uuid.UUID,
    now: datetime,
    actor: str,
) -> MergeRead:
    """Merge an anonymous profile into a known one: identities, missing traits, events, consent."""
    source, target = _mergeable(session, from_subject_id, into_subject_id)
    keys = _keys(keyring, source, target)
    moved = signals.subject_merged(
        session, parts=MERGED_PARTS, keyring=keyring, policy=policy,
        from_subject_id=source.id, into_subject_id=target.id, now=now,
    )  # fmt: skip  # event_ids, consent_changes
    detail = {
        "identity_ids": [str(i) for i in _move_identities(session, keys, source.id, target.id)],
        "trait_names": _move_traits(session, keys, source.id, target.id),
        **moved,
        "facts": _merge_facts(keys, source, target),
    }
    source.merged_into_id = target.id
    source.updated_at = target.updated_at = now
    row = SubjectMerge(
        id=uuid.uuid4(), into_subject_id=target.id, from_subject_id=source.id, actor=actor,
        detail=detail, merged_at=now, undone_at=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _audit(session, row, "subject.merged", now)
    return _read(row)


def undo(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    merge_id: uuid.UUID,
    now: datetime,
    actor: str,
) -> MergeRead:
    """Move the recorded rows back and clear ``merged_into_id``; consent is compensated.

    Consent records the merge appended are NOT deleted: the ledger is append-only (TH-CON-04).
    ``consent.merge.unmerge_consents`` appends compensating records that restore the target's
    previous state instead; the anonymous side's ledger was never changed.
    """
    row, source, target = _undoable(session, merge_id)
    keys = _keys(keyring, source, target)[::-1]
    detail = dict(row.detail)
    _move_identities(session, keys, target.id, source.id, detail["identity_ids"])
    _move_traits(session, keys, target.id, source.id, detail["trait_names"])
    undone = signals.subject_unmerged(
        session, parts=MERGED_PARTS, detail=detail, keyring=keyring, policy=policy,
        from_subject_id=source.id, into_subject_id=target.id, now=now,
    )  # fmt: skip  # undo_consent_changes
    _unmerge_facts(target, detail.get("facts", {}))
    source.merged_into_id = None
    source.updated_at = target.updated_at = now
    row.detail = {**detail, **undone}
    row.undone_at = now
    session.flush()
    _audit(session, row, "subject.merge.undone", now, by=actor)
    return _read(row)


def list_merges(
    session: Session, *, subject_id: uuid.UUID | None = None, limit: int = 100
) -> list[MergeRead]:
    """Return merges, newest first; with ``subject_id``, those it took part in (either side)."""
    stmt = select(SubjectMerge)
    if subject_id is not None:
        stmt = stmt.where(
            or_(
                SubjectMerge.into_subject_id == subject_id,
                SubjectMerge.from_subject_id == subject_id,
            )
        )
    stmt = stmt.order_by(SubjectMerge.merged_at.desc()).limit(max(1, min(limit, MAX_LIST)))
    return [_read(row) for row in session.scalars(stmt)]


def _mergeable(
    session: Session, from_subject_id: uuid.UUID, into_subject_id: uuid.UUID
) -> tuple[Subject, Subject]:
    if from_subject_id == into_subject_id:
        raise Conflict("a subject cannot be merged into itself", field="anonymous_id")
    source = _subject(session, from_subject_id)
    target = _subject(session, into_subject_id)
    if source.customer_ref is not None:
        raise Conflict(
            f"subject {source.id} is a known customer: only an anonymous profile can be merged",
            field="anonymous_id",
        )
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise Conflict("a profile that was merged away cannot take part in a merge")
    return source, target


def _undoable(session: Session, merge_id: uuid.UUID) -> tuple[SubjectMerge, Subject, Subject]:
    row = session.get(SubjectMerge, merge_id)
    if row is None:
        raise MergeNotFound(f"merge {merge_id} not found", field="merge_id")
    if row.undone_at is not None:
        raise Conflict(f"merge {merge_id} was already undone", field="merge_id")
    source = _subject(session, row.from_subject_id)
    target = _subject(session, row.into_subject_id)
    if source.merged_into_id != target.id:
        raise Conflict(f"merge {merge_id} is no longer in effect", field="merge_id")
    return row, source, target


def _subject(session: Session, subject_id: uuid.UUID) -> Subject:
    row = session.get(Subject, subject_id)
    if row is None:
        raise SubjectNotFound(f"subject {subject_id} not found")
    return row


def _keys(keyring: Keyring, source: Subject, target: Subject) -> tuple[bytes, bytes]:
    return (
        unwrap_key(keyring, source.id, source.data_key_wrapped),
        unwrap_key(keyring, target.id, target.data_key_wrapped),
    )


def _move_identities(
    session: Session,
    keys: tuple[bytes, bytes],
    from_id: uuid.UUID,
    to_id: uuid.UUID,
    ids: Sequence[str] | None = None,
) -> list[uuid.UUID]:
    """Move identities (all, or the listed ones) re-sealed under the other subject's key."""
    stmt = select(Identity).where(Identity.subject_id == from_id)
    if ids is not None:
        stmt = stmt.where(Identity.id.in_([uuid.UUID(i) for i in ids]))
    moved = []
    for row in session.scalars(stmt.order_by(Identity.created_at)):
        if row.value_sealed is not None:
            field = f"identity.{row.kind}"
            value = open_value(keys[0], from_id, field, row.value_sealed)
            row.value_sealed = seal_value(keys[1], to_id, field, value)
        row.subject_id = to_id
        moved.append(row.id)
    session.flush()
    return moved


def _move_traits(
    session: Session,
    keys: tuple[bytes, bytes],
    from_id: uuid.UUID,
    to_id: uuid.UUID,
    names: Sequence[str] | None = None,
) -> list[str]:
    """Move traits the other subject lacks (or the listed ones), re-sealed under its key."""
    taken = set(session.scalars(select(Trait.name).where(Trait.subject_id == to_id)))
    stmt = select(Trait).where(Trait.subject_id == from_id)
    if names is not None:
        stmt = stmt.where(Trait.name.in_(list(names)))
    moved = []
    for row in session.scalars(stmt.order_by(Trait.name)):
        if row.name in taken:
            continue
        value = profiles_traits.open_trait(keys[0], from_id, row.name, row.value_sealed)
        row.value_sealed = profiles_traits.seal_trait(keys[1], to_id, row.name, value)
        row.subject_id = to_id
        moved.append(row.name)
    session.flush()
    return moved


def _merge_facts(keys: tuple[bytes, bytes], source: Subject, target: Subject) -> dict[str, Any]:
    """Objections and restriction of either side hold (TH-DSR-03/05); an age is kept (TH-MIN-01).

    The target's own birth date and age band stand; the anonymous side's fill in what it lacks.
    """
    added = sorted(set(source.objections or []) - set(target.objections or []))
    target.objections = sorted({*(target.objections or []), *added})
    restricted = source.is_restricted and not target.is_restricted
    target.is_restricted = target.is_restricted or source.is_restricted
    return {"objections_added": added, "restricted": restricted, **_merge_age(keys, source, target)}


def _merge_age(keys: tuple[bytes, bytes], source: Subject, target: Subject) -> dict[str, bool]:
    """Fill in the target's missing birth date and age band from the source (TH-MIN-01)."""
    dated = source.birth_date_sealed is not None and target.birth_date_sealed is None
    if dated and source.birth_date_sealed is not None:
        value = open_value(keys[0], source.id, "birth_date", source.birth_date_sealed)
        target.birth_date_sealed = seal_value(keys[1], target.id, "birth_date", value)
    banded = source.age_band is not None and target.age_band is None
    if banded:
        target.age_band = source.age_band
    return {"dated": dated, "banded": banded}


def _unmerge_facts(target: Subject, facts: dict[str, Any]) -> None:
    """Take back from the target only what the merge gave it."""
    added = set(facts.get("objections_added", []))
    target.objections = sorted(set(target.objections or []) - added)
    if facts.get("restricted"):
        target.is_restricted = False
    if facts.get("dated"):
        target.birth_date_sealed = None
    if facts.get("banded"):
        target.age_band = None


def _audit(session: Session, row: SubjectMerge, action: str, now: datetime, by: str = "") -> None:
    detail = row.detail
    audit_service.record(
        session,
        actor=by or row.actor,
        action=action,
        now=now,
        subject_id=row.into_subject_id,
        detail={
            "merge_id": str(row.id),
            "from_subject_id": str(row.from_subject_id),
            "identities_moved": len(detail["identity_ids"]),
            "traits_moved": len(detail["trait_names"]),
            "events_moved": len(detail["event_ids"]),
            "consent_records_appended": len(detail["consent_changes"])
            + len(detail.get("undo_consent_changes", [])),
        },
    )


def _read(row: SubjectMerge) -> MergeRead:
    detail = row.detail
    changes = [*detail.get("consent_changes", []), *detail.get("undo_consent_changes", [])]
    return MergeRead(
        id=row.id,
        into_subject_id=row.into_subject_id,
        from_subject_id=row.from_subject_id,
        actor=row.actor,
        merged_at=row.merged_at,
        undone_at=row.undone_at,
        identities_moved=len(detail.get("identity_ids", [])),
        traits_moved=list(detail.get("trait_names", [])),
        events_moved=len(detail.get("event_ids", [])),
        consent_changes=[ConsentMergeChange.model_validate(c) for c in changes],
    )
