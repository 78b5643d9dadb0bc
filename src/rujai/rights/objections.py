"""Objections to legitimate-interest or public-task processing, in force from verification.

PDPA s.32 (TH-DSR-03), GDPR Art. 18(1)(d) and 21(1): once an objection to a purpose that rests on
legitimate interest or a public task is verified, that processing stops for the subject at once,
before anyone at the shop has looked at it; it resumes for a purpose only when staff record
compelling legitimate grounds for it (``rights.grounds``), and stays stopped when the request is
upheld. An objection names one purpose (``detail.purpose``) or, without one, every such purpose
of the policy. The block is a per-purpose objection on the profile (``legitimate_interest:<id>``,
which ``policy.rules`` refuses with ``objected_legitimate_interest``). Objections to direct
marketing and profiling are not here: they are carried out at once on verification, always.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.policy.rules import Objection
from rujai.policy.schemas import Policy
from rujai.profiles import service as profiles_service
from rujai.rights.models import RightsRequest

LI = Objection.LEGITIMATE_INTEREST.value


def is_li_objection(row: RightsRequest) -> bool:
    """Return True for an objection (not its lift) to legitimate-interest processing."""
    return row.kind == "objection" and (row.detail or {}).get("objection") == LI


def objected_purposes(policy: Policy, detail: dict[str, Any]) -> list[str]:
    """The purposes an LI objection stops: the one it names, else every LI or public-task one."""
    named = detail.get("purpose")
    if named is not None:
        return [named]
    return sorted(pid for pid, entry in policy.index.purposes.items() if entry.li_like)


def take_effect(
    session: Session, *, policy: Policy, row: RightsRequest, now: datetime, actor: str
) -> list[str]:
    """Stop the objected purposes for the subject now that the request is verified (TH-DSR-03)."""
    if not is_li_objection(row) or row.subject_id is None:
        return []
    purposes = objected_purposes(policy, row.detail or {})
    for purpose in purposes:
        profiles_service.set_purpose_objection(
            session, subject_id=row.subject_id, purpose=purpose, objected=True, now=now
        )
    row.detail = {**(row.detail or {}), "blocked": purposes}
    session.flush()
    _audit(session, row, "effective", now=now, actor=actor, purposes=purposes)
    return purposes


def still_blocked(row: RightsRequest) -> list[str]:
    """The purposes the request blocks for which no compelling grounds were recorded."""
    detail = row.detail or {}
    grounds = detail.get("grounds") or {}
    return [p for p in detail.get("blocked") or [] if p not in grounds]


def release(
    session: Session, *, row: RightsRequest, purposes: list[str], now: datetime, actor: str
) -> None:
    """Let the purposes run again for the subject (grounds recorded, or the request refused)."""
    if row.subject_id is None or not purposes:
        return
    for purpose in purposes:
        profiles_service.set_purpose_objection(
            session, subject_id=row.subject_id, purpose=purpose, objected=False, now=now
        )
    _audit(session, row, "released", now=now, actor=actor, purposes=purposes)


def uphold(row: RightsRequest) -> dict[str, Any] | None:
    """The result of processing an LI objection that is already in force per purpose, or None.

    A request naming a purpose, or one for which staff recorded grounds for some purposes, is
    upheld for the purposes still blocked: they stay blocked (nothing to change on the profile).
    Otherwise the caller records the objection to all legitimate-interest processing as before.
    """
    detail = row.detail or {}
    if not is_li_objection(row) or not (detail.get("purpose") or detail.get("grounds")):
        return None
    return {"upheld": still_blocked(row), "grounds_for": sorted(detail.get("grounds") or {})}


def _audit(
    session: Session,
    row: RightsRequest,
    step: str,
    *,
    now: datetime,
    actor: str,
    purposes: list[str],
) -> None:
    # Ids and purpose ids only: never the grounds' text or anything about the person.
    audit_service.record(
        session,
        actor=actor,
        action=f"rights.objection.{step}",
        now=now,
        subject_id=row.subject_id,
        purpose="rights_requests",
        outcome=step,
        detail={"request_id": str(row.id), "purposes": purposes, "count": len(purposes)},
    )
