"""The one door to personal data: ``check`` answers, ``authorize`` hands out a ``Permit`` or raises.

Both load the subject's consent facts, call the pure ``rules.evaluate`` and audit the decision: an
allow in the caller's transaction, a refusal by ``authorize`` at the end of the unit of work, in a
fresh transaction if the caller's rolls back (``db.keep_even_on_rollback``). Only this module can
make a ``Permit``; every service function that
returns personal data takes one and checks ``permit.covers(subject_id, category)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.consent import service as consent_service
from rujai.db import keep_even_on_rollback
from rujai.errors import PolicyDenied
from rujai.kit.crypto import Keyring
from rujai.policy import disclosure as disclosure_rules
from rujai.policy.api_schemas import CheckCreate, VerdictRead
from rujai.policy.permit import PERMIT_SEAL, DisclosurePermitSet, Permit, PermitSet
from rujai.policy.rules import Action, Reason, SubjectFacts, Verdict, decide
from rujai.policy.schemas import Policy
from rujai.profiles import service as profiles_service

__all__ = [  # the proofs and the pure evaluation are re-exported: callers import the door only
    "DisclosurePermitSet", "Permit", "PermitSet", "authorize", "authorize_disclosure",
    "authorize_many", "check", "check_customer",
    "check_facts", "decide", "issue_batch_permit", "verdict_detail",
]  # fmt: skip

BULK_CHUNK = 500  # subjects per consent query in ``authorize_many``; bounds every IN (...) list
_PER_CATEGORY = frozenset(  # refusals that depend on the category asked about
    {Reason.UNKNOWN_CATEGORY, Reason.CATEGORY_NOT_IN_PURPOSE,
     Reason.SENSITIVE_NEEDS_EXPLICIT_CONSENT}
)  # fmt: skip


def check(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    subject_id: UUID | None,
    purpose: str,
    categories: Sequence[str],
    now: datetime,
    actor: str,
    action: Action = Action.USE,
    recipient: str | None = None,
) -> Verdict:
    """Return the verdict for one use of a subject's data, audited in the caller's transaction.

    ``Action.DISCLOSE`` is decided with ``recipient`` (``policy.disclosure``; none: refused).
    """
    facts = consent_service.subject_facts(session, keyring=keyring, subject_id=subject_id, now=now)
    return check_facts(
        session, policy=policy, facts=facts, purpose=purpose, categories=categories,
        now=now, actor=actor, action=action, recipient=recipient,
    )  # fmt: skip


def check_facts(
    session: Session,
    *,
    policy: Policy,
    facts: SubjectFacts,
    purpose: str,
    categories: Sequence[str],
    now: datetime,
    actor: str,
    action: Action = Action.USE,
    recipient: str | None = None,
) -> Verdict:
    """``check`` on facts the caller read (decide's serving cache, keyed by serving version).

    The facts must be the subject's current ones: ``consent_service.subject_facts`` as of a
    serving version read in this request. The verdict is evaluated and audited here, as always.
    """
    verdict = _decide(policy, facts, purpose, categories, action, now, recipient)
    audit_service.record(session, **_audit_fields(verdict, action, actor, now))
    return verdict


def check_customer(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    body: CheckCreate,
    now: datetime,
    actor: str,
) -> VerdictRead:
    """Answer ``POST /v1/check`` for a brand customer id (an unknown customer has no consents)."""
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=body.customer_id)
    verdict = check(
        session,
        policy=policy,
        keyring=keyring,
        subject_id=subject_id,
        purpose=body.purpose,
        categories=body.categories,
        now=now,
        actor=actor,
        action=Action(body.action),
        recipient=body.recipient,
    )
    return VerdictRead.of(verdict)


def authorize(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    subject_id: UUID | None,
    purpose: str,
    categories: Sequence[str],
    now: datetime,
    actor: str,
    action: Action = Action.USE,
    recipient: str | None = None,
) -> Permit:
    """Return a Permit for the use or raise PolicyDenied; a refusal is audited even on rollback."""
    facts = consent_service.subject_facts(session, keyring=keyring, subject_id=subject_id, now=now)
    verdict = _decide(policy, facts, purpose, categories, action, now, recipient)
    fields = _audit_fields(verdict, action, actor, now)
    if not verdict.allowed:
        keep_even_on_rollback(session, lambda s: audit_service.record(s, **fields))
        raise PolicyDenied(
            f"purpose {purpose!r} may not use {', '.join(categories)}: {verdict.reason.value}",
            reason=verdict.reason.value,
        )
    audit_service.record(session, **fields)
    return Permit(verdict=verdict, issued_at=now, _seal=PERMIT_SEAL)


def authorize_many(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    subject_ids: Collection[UUID],
    uses: Mapping[str, Sequence[str]],
    now: datetime,
    actor: str,
    action: Action = Action.USE,
    per_category: bool = False,
) -> PermitSet:
    """Return the permits of every subject some use (purpose -> categories) allows now.

    One consent query per 500 subjects for all the purposes, one audit entry for the batch with
    counts only (asked; allowed and refusals by reason per purpose). A subject's grant is the
    union of the categories of the purposes that allow it. ``per_category``: a subject refused
    for a reason that depends on a category (a sensitive one, say) is asked again category by
    category and gets the categories that pass.
    """
    grants: dict[UUID, frozenset[str]] = {}
    tally: dict[str, Counter[str]] = {purpose: Counter() for purpose in uses}
    for chunk in _chunks(subject_ids):
        facts = consent_service.subject_facts_many(
            session, keyring=keyring, subject_ids=chunk, now=now
        )
        for sid in chunk:
            fact = facts.get(sid)
            for purpose, categories in uses.items():
                if fact is None:  # erased or never known: nothing to read
                    tally[purpose]["unknown_subject"] += 1
                    continue
                allowed, reason = _allowed(
                    policy, fact, purpose, categories, action, now, per_category
                )
                tally[purpose]["allowed" if allowed else reason.value] += 1
                if allowed:
                    grants[sid] = grants.get(sid, frozenset()) | allowed
    audit_service.record(
        session, actor=actor, action="policy.authorize_many", now=now, subject_id=None,
        purpose=",".join(uses), outcome="recorded",
        detail={"uses": {p: list(c) for p, c in uses.items()}, "action": action.value,
                "asked": len(set(subject_ids)), "granted": len(grants),
                "verdicts": {p: dict(sorted(t.items())) for p, t in tally.items()},
                "policy_version": policy.version},
    )  # fmt: skip
    return PermitSet(tuple(uses), grants, now, _seal=PERMIT_SEAL)


def authorize_disclosure(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    subject_ids: Collection[UUID],
    recipient: str,
    purpose: str,
    categories: Sequence[str],
    channel: str,
    now: datetime,
    actor: str,
) -> DisclosurePermitSet:
    """Return which subjects ``recipient`` may get ``categories`` of for ``purpose`` now.

    The recipient is decided once (``policy.disclosure.recipient_refusal``: declared for the
    purpose, transfer mechanism abroad, processor agreement; TH-USE-01, TH-XB-01, TH-PRC-01): a
    refusal raises PolicyDenied naming the recipient and country, audited even on rollback. Then
    each subject's basis now (``Action.DISCLOSE``), one consent query per 500 subjects; subjects
    refused are counted by reason, never listed. One audit entry for the batch, counts only.
    """
    refusal = disclosure_rules.recipient_refusal(
        policy, recipient=recipient, purpose=purpose, categories=categories, now=now
    )
    asked = list(dict.fromkeys(subject_ids))
    if refusal is not None:
        detail = _disclosure_detail(policy, recipient, channel, categories, len(asked), {})
        fields: dict[str, Any] = {
            "actor": actor, "action": "policy.authorize_disclosure", "now": now,
            "purpose": purpose, "outcome": refusal.value, "detail": detail,
        }  # fmt: skip
        keep_even_on_rollback(session, lambda s: audit_service.record(s, **fields))
        text = disclosure_rules.refusal_text(policy, recipient=recipient, reason=refusal, lang="en")
        raise PolicyDenied(f"disclosure refused: {text}", reason=refusal.value)
    verdicts, refused = _disclosure_verdicts(
        session, policy, keyring, asked, purpose, categories, now
    )
    detail = _disclosure_detail(policy, recipient, channel, categories, len(asked), refused)
    audit_service.record(
        session, actor=actor, action="policy.authorize_disclosure", now=now, subject_id=None,
        purpose=purpose, outcome="recorded", detail={**detail, "granted": len(verdicts)},
    )  # fmt: skip
    transfer = disclosure_rules.transfer_of(policy, recipient)
    grants = {sid: frozenset(categories) for sid in verdicts}
    return DisclosurePermitSet(
        recipient=recipient, country=transfer.country, mechanism=transfer.mechanism,
        processor=transfer.processor, purpose=purpose, categories=tuple(categories),
        channel=channel, permits=PermitSet((purpose,), grants, now, _seal=PERMIT_SEAL),
        verdicts=verdicts, refused=refused, policy_version=policy.version, issued_at=now,
        _seal=PERMIT_SEAL,
    )  # fmt: skip


def _disclosure_verdicts(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    subject_ids: list[UUID],
    purpose: str,
    categories: Sequence[str],
    now: datetime,
) -> tuple[dict[UUID, Verdict], dict[str, int]]:
    verdicts: dict[UUID, Verdict] = {}
    refused: Counter[str] = Counter()
    for chunk in _chunks(subject_ids):
        facts = consent_service.subject_facts_many(
            session, keyring=keyring, subject_ids=chunk, now=now
        )
        for sid in chunk:
            fact = facts.get(sid)
            if fact is None:  # erased or never known: nothing to send
                refused["unknown_subject"] += 1
                continue
            verdict = decide(
                policy, fact, purpose=purpose, categories=categories,
                action=Action.DISCLOSE, now=now,
            )  # fmt: skip
            if verdict.allowed:
                verdicts[sid] = verdict
            else:
                refused[verdict.reason.value] += 1
    return verdicts, dict(sorted(refused.items()))


def _disclosure_detail(
    policy: Policy,
    recipient: str,
    channel: str,
    categories: Sequence[str],
    asked: int,
    refused: Mapping[str, int],
) -> dict[str, Any]:
    declared = policy.recipients.get(recipient)
    return {
        "recipient": recipient, "country": declared.country if declared else None,
        "channel": channel, "categories": list(categories), "action": Action.DISCLOSE.value,
        "asked": asked, "refused": dict(refused), "policy_version": policy.version,
    }  # fmt: skip


def _allowed(
    policy: Policy,
    facts: SubjectFacts,
    purpose: str,
    categories: Sequence[str],
    action: Action,
    now: datetime,
    per_category: bool,
) -> tuple[frozenset[str], Reason]:
    verdict = _decide(policy, facts, purpose, categories, action, now, None)
    if verdict.allowed or not per_category or verdict.reason not in _PER_CATEGORY:
        return frozenset(categories) if verdict.allowed else frozenset(), verdict.reason
    ask = partial(decide, policy, facts, purpose=purpose, action=action, now=now)
    allowed = frozenset(c for c in categories if ask(categories=(c,)).allowed)
    return allowed, verdict.reason


def _decide(
    policy: Policy,
    facts: SubjectFacts,
    purpose: str,
    categories: Sequence[str],
    action: Action,
    now: datetime,
    recipient: str | None,
) -> Verdict:
    """``decide``, but a disclosure is decided with its recipient (none: ``unknown_recipient``)."""
    if action is Action.DISCLOSE:
        return disclosure_rules.evaluate_disclosure(
            policy, facts, recipient=recipient or "", purpose=purpose, categories=categories,
            now=now,
        )  # fmt: skip
    return decide(policy, facts, purpose=purpose, categories=categories, action=action, now=now)


def _chunks(values: Collection[UUID]) -> Iterator[list[UUID]]:
    items = list(dict.fromkeys(values))
    return (items[i : i + BULK_CHUNK] for i in range(0, len(items), BULK_CHUNK))


def issue_batch_permit(verdict: Verdict, *, now: datetime) -> Permit:
    """Wrap an allowing verdict from ``decide`` (batch paths audit the batch once themselves)."""
    if not verdict.allowed:
        raise PolicyDenied("a refused verdict cannot become a permit", reason=verdict.reason.value)
    return Permit(verdict=verdict, issued_at=now, _seal=PERMIT_SEAL)


def verdict_detail(verdict: Verdict, action: Action) -> dict[str, Any]:
    """Return what an audit entry keeps about a verdict (no personal data)."""
    return {
        "categories": list(verdict.categories),
        "action": action.value,
        "allowed": verdict.allowed,
        "basis": verdict.lawful_basis.value if verdict.lawful_basis else None,
        "consent_record_ids": [str(i) for i in verdict.consent_record_ids],
        "policy_version": verdict.policy_version,
    }


def _audit_fields(verdict: Verdict, action: Action, actor: str, now: datetime) -> dict[str, Any]:
    return {
        "actor": actor,
        "action": "policy.check",
        "now": now,
        "subject_id": verdict.subject_id,
        "purpose": verdict.purpose,
        "outcome": verdict.reason.value,
        "detail": verdict_detail(verdict, action),
    }
