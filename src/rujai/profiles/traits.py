"""Traits: profile attributes the policy declares, typed, sealed and collected only when permitted.

A trait is kept only if the policy declares it (others are dropped ``undeclared``, TH-MIN-02) and
some purpose may collect its category for this subject now, as the chokepoint decides it
(``policy.service.decide`` with ``Action.COLLECT``); otherwise it is dropped
``no_permitting_purpose``. Values are sealed under the subject's data key, bound to the subject and
the trait name (TH-SEC-01). Identifier traits (email, phone, national id) also become identities;
``birth_date`` also sets the subject's sealed birth date, and a self-declared ``age_band`` (one of
``AGE_BANDS``) the subject's age band, so that minors' rules apply (TH-MIN-01).
A rectification (``rectify``) keeps each replaced sealed value in ``trait_revision`` (TH-DSR-06).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Invalid
from rujai.kit import signals
from rujai.kit.crypto import Keyring
from rujai.policy.permit import Permit
from rujai.policy.rules import Action, SubjectFacts, decide
from rujai.policy.schemas import Policy, PropertyType, Trait as TraitSpec
from rujai.profiles import identities, service as profiles_service
from rujai.profiles.models import Identity, Trait, TraitRevision
from rujai.profiles.schemas import (
    AGE_BANDS,
    ProfileDataExport,
    TraitDropReason,
    TraitsRectified,
    TraitsResult,
)
from rujai.profiles.sealing import (
    identity_read,
    normalise_identity,
    open_value,
    seal_value,
    subject_key,
)

STRING_MAX = 256
TEXT_MAX = 4096
BIRTH_DATE = "birth_date"
AGE_BAND = "age_band"
TRAIT_SOURCES = frozenset({"api", "import", "partner", "subject", "staff"})


# --- typing values -------------------------------------------------------------------------------


def parse_traits(
    policy: Policy, traits: Mapping[str, Any], *, now: datetime
) -> tuple[dict[str, Any], dict[str, TraitDropReason]]:
    """Type every declared trait (Invalid names ``traits.<name>``); list undeclared ones."""
    parsed: dict[str, Any] = {}
    dropped: dict[str, TraitDropReason] = {}
    for name, value in traits.items():
        spec = policy.traits.get(name)
        if spec is None:
            dropped[name] = "undeclared"  # TH-MIN-02: only declared fields are accepted
            continue
        parsed[name] = _typed(name, spec, value, now)
    return parsed, dropped


def _typed(name: str, spec: TraitSpec, value: Any, now: datetime) -> Any:
    field = f"traits.{name}"
    if value is None:
        raise Invalid(f"{field}: must not be null", field=field)
    if spec.identifier is not None:
        if not isinstance(value, str):
            raise Invalid(f"{field}: must be a string", field=field)
        try:
            return normalise_identity(spec.identifier, value)
        except Invalid as e:  # the same problem, named after the trait; never the value
            raise Invalid(f"{field}: not a valid {spec.identifier}", field=field) from e
    typed, problem = _COERCE[spec.type](value)
    if problem is None:
        problem = _age_problem(name, spec, typed, now)
    if problem is not None:
        raise Invalid(f"{field}: {problem}", field=field)
    return typed


def _age_problem(name: str, spec: TraitSpec, typed: Any, now: datetime) -> str | None:
    """A birth date in the future, or an age band that is not one of ``AGE_BANDS`` (TH-MIN-01)."""
    if name == BIRTH_DATE and spec.type == "date" and typed > now.date().isoformat():
        return "cannot be in the future"
    if name == AGE_BAND and typed not in AGE_BANDS:
        return f"must be one of {', '.join(AGE_BANDS)}"
    return None


def _string(limit: int) -> Callable[[Any], tuple[Any, str | None]]:
    def coerce(value: Any) -> tuple[Any, str | None]:
        if not isinstance(value, str):
            return None, "must be a string"
        text = value.strip()
        if not 1 <= len(text) <= limit:
            return None, f"must be 1 to {limit} characters"
        return text, None

    return coerce


def _number(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, "must be a number"
    if isinstance(value, float) and not math.isfinite(value):
        return None, "must be a finite number"
    return value, None


def _integer(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None, "must be a whole number"
    return value, None


def _boolean(value: Any) -> tuple[Any, str | None]:
    return (value, None) if isinstance(value, bool) else (None, "must be true or false")


def _date(value: Any) -> tuple[Any, str | None]:
    try:
        return date.fromisoformat(value).isoformat(), None
    except (TypeError, ValueError):
        return None, "must be a date YYYY-MM-DD"


def _datetime(value: Any) -> tuple[Any, str | None]:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None, "must be an ISO 8601 date and time"
    if parsed.tzinfo is None:
        return None, "must have a UTC offset (add Z or +07:00)"
    return parsed.astimezone(UTC).isoformat(), None


_COERCE: dict[PropertyType, Callable[[Any], tuple[Any, str | None]]] = {
    "string": _string(STRING_MAX),
    "text": _string(TEXT_MAX),
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
}


# --- storing ------------------------------------------------------------------------------------


def collectable_categories(
    policy: Policy, facts: SubjectFacts, categories: Iterable[str], now: datetime
) -> set[str]:
    """Return the categories some purpose may collect for this subject now (the chokepoint)."""
    return {
        category
        for category in set(categories)
        if any(
            decide(
                policy, facts, purpose=pid, categories=[category], action=Action.COLLECT, now=now
            ).allowed
            for pid, purpose in policy.purposes.items()
            if category in purpose.categories
        )
    }


def set_traits(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    traits: Mapping[str, Any],
    source: str,
    now: datetime,
) -> TraitsResult:
    """Store the declared, permitted traits sealed; report the others dropped (TH-MIN-02)."""
    if source not in TRAIT_SOURCES:
        raise Invalid(f"source must be one of {', '.join(sorted(TRAIT_SOURCES))}", field="source")
    if not traits:
        return TraitsResult(stored=[], dropped={})
    parsed, dropped = parse_traits(policy, traits, now=now)
    if not parsed:
        return _result(session, subject_id, [], dropped, now)
    key = subject_key(session, keyring=keyring, subject_id=subject_id)
    facts = signals.subject_facts(session, keyring=keyring, subject_id=subject_id, now=now)
    allowed = collectable_categories(
        policy, facts, (policy.traits[n].category for n in parsed), now
    )
    keep = {n: v for n, v in parsed.items() if policy.traits[n].category in allowed}
    dropped.update({n: "no_permitting_purpose" for n in parsed if n not in keep})
    _store(session, key, subject_id, policy, keep, source, now)
    _side_effects(session, keyring, policy, subject_id, keep, now)
    return _result(session, subject_id, sorted(keep), dropped, now)


def _store(
    session: Session,
    key: bytes,
    subject_id: uuid.UUID,
    policy: Policy,
    values: Mapping[str, Any],
    source: str,
    now: datetime,
) -> None:
    existing = {
        row.name: row
        for row in session.scalars(
            select(Trait).where(Trait.subject_id == subject_id, Trait.name.in_(list(values)))
        )
    }
    for name, value in values.items():
        row = existing.get(name) or Trait(subject_id=subject_id, name=name)
        row.category = policy.traits[name].category
        row.value_sealed = seal_trait(key, subject_id, name, value)
        row.source = source
        row.updated_at = now
        session.add(row)
    session.flush()


def _side_effects(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    kept: Mapping[str, Any],
    now: datetime,
) -> None:
    """Link identifier traits as identities; make a birth date count for minors' rules.

    An identifier another subject holds is not linked but queued for review, and the answer is
    the same as for a new one: it never tells whether someone else holds it (issue 12).
    """
    for name, value in kept.items():
        kind = policy.traits[name].identifier
        if kind is None:
            continue
        linked = identities.link_unless_held(
            session, keyring=keyring, subject_id=subject_id, kind=kind, value=value,
            verified=False, now=now,
        )  # fmt: skip
        if linked is None:
            identities.queue_conflict(
                session, keyring=keyring, subject_id=subject_id, kind=kind, value=value, now=now
            )
    if BIRTH_DATE in kept and policy.traits[BIRTH_DATE].type == "date":
        profiles_service.set_birth_date(
            session,
            keyring=keyring,
            subject_id=subject_id,
            birth_date=date.fromisoformat(kept[BIRTH_DATE]),
            now=now,
        )
    if kept.get(AGE_BAND) in AGE_BANDS:
        band = AGE_BANDS[AGE_BANDS.index(kept[AGE_BAND])]
        profiles_service.set_age_band(session, subject_id=subject_id, band=band, now=now)


def _result(
    session: Session,
    subject_id: uuid.UUID,
    stored: list[str],
    dropped: dict[str, TraitDropReason],
    now: datetime,
) -> TraitsResult:
    # One entry per call; trait names the policy declares, never values nor undeclared names.
    declared_dropped = sorted(n for n, r in dropped.items() if r != "undeclared")
    audit_service.record(
        session,
        actor="system",
        action="traits.set",
        now=now,
        subject_id=subject_id,
        outcome="stored" if stored else "nothing_stored",
        detail={
            "stored": stored,
            "not_permitted": declared_dropped,
            "undeclared_count": len(dropped) - len(declared_dropped),
        },
    )
    return TraitsResult(stored=stored, dropped=dropped)


def rectify(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    traits: Mapping[str, Any],
    source: str,
    now: datetime,
) -> TraitsRectified:
    """Store corrected traits, keeping each replaced sealed value as a revision (TH-DSR-06)."""
    previous = {
        row.name: row.value_sealed
        for row in session.scalars(
            select(Trait).where(Trait.subject_id == subject_id, Trait.name.in_(list(traits)))
        )
    }
    stored = set_traits(
        session, keyring=keyring, policy=policy, subject_id=subject_id, traits=traits,
        source=source, now=now,
    )  # fmt: skip
    kept = [name for name in stored.stored if name in previous]
    session.add_all(
        TraitRevision(subject_id=subject_id, name=name, value_sealed=previous[name],
                      replaced_at=now, reason="rectification")
        for name in kept
    )  # fmt: skip
    session.flush()
    return TraitsRectified(stored=stored.stored, dropped=stored.dropped, revisions=kept)


def seal_trait(key: bytes, subject_id: uuid.UUID, name: str, value: Any) -> bytes:
    """Seal a typed trait value (JSON) under the subject's key, bound to subject and name."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return seal_value(key, subject_id, f"trait.{name}", raw)


def open_trait(key: bytes, subject_id: uuid.UUID, name: str, sealed: bytes) -> Any:
    """Open a value made by ``seal_trait``."""
    return json.loads(open_value(key, subject_id, f"trait.{name}", sealed))


# --- reading, export, erasure --------------------------------------------------------------------


def get_traits(
    session: Session, *, keyring: Keyring, permit: Permit, subject_id: uuid.UUID
) -> dict[str, Any]:
    """Return the traits whose category the permit covers, decrypted (STYLE §3)."""
    rows = session.scalars(select(Trait).where(Trait.subject_id == subject_id)).all()
    covered = [row for row in rows if permit.covers(subject_id, row.category)]
    if not covered:
        return {}
    key = subject_key(session, keyring=keyring, subject_id=subject_id)
    return {row.name: open_trait(key, subject_id, row.name, row.value_sealed) for row in covered}


def export_subject(
    session: Session, *, keyring: Keyring, permit: Permit, subject_id: uuid.UUID
) -> ProfileDataExport:
    """Return the subject's identities and traits decrypted, for an access request (TH-DSR-01)."""
    permit.require_subject(subject_id)
    key = subject_key(session, keyring=keyring, subject_id=subject_id)
    rows = session.scalars(
        select(Identity).where(Identity.subject_id == subject_id).order_by(Identity.created_at)
    )
    traits = session.scalars(
        select(Trait).where(Trait.subject_id == subject_id).order_by(Trait.name)
    )
    return ProfileDataExport(
        subject_id=subject_id,
        identities=[identity_read(key, row) for row in rows],
        traits={t.name: open_trait(key, subject_id, t.name, t.value_sealed) for t in traits},
    )


def erase_subject(session: Session, *, subject_id: uuid.UUID) -> int:
    """Delete the subject's identities, traits and trait revisions; return how many rows went."""
    gone = 0
    for table in (TraitRevision, Trait, Identity):
        result = session.execute(delete(table).where(table.subject_id == subject_id))
        gone += cast("CursorResult[Any]", result).rowcount
    return gone
