"""The erasure cascade (TH-DSR-04, DESIGN "erase", invariant 3): one orchestrated, atomic run.

``erase`` runs in the caller's transaction, in this order:

1. audit ``rights.erase.start`` (the request id; the subject only by UUID);
2. legal holds: each tax invoice in the subject's purchases becomes a minimal ``legal_hold`` row
   (order id, amount, currency, date, hold-until) with no link to the person (PDPA s.33 para 2);
3. ``kit.signals.subject_narrowed(reason="erased")``: the recommender unlearns the subject exactly
   (a new version; older blobs emptied), the offer bandit subtracts their outcomes and insights
   go — before the rows those need disappear;
   — and ``disclosures.outbox`` queues a notice to every processor that received the subject's
   data, quoting the pseudonym each was given (TH-PRC-01), while the disclosure log still links
   the subject;
4. each domain's ``erase_subject``: recommender membership, decisions (outcomes cascade),
   insights, events, merge records, traits with their revisions and identities, consents,
   privacy-center sessions, the subject link of disclosures (the anonymous rows stay for s.39);
   and this domain's own rows (verification codes, outbox messages, the link of rights requests);
5. suppression (``profiles.suppression``, re-exported here): the blind indexes of the customer ref
   and of every identity, so that a later import of the same person is flagged instead of
   silently re-created; the same ids and blind indexes were appended to the erasure log
   (``rights.erasure_log``, a file outside the database) before step 2, so that a restored backup
   or a crash is finished by ``rights.replay``;
6. the data keys are destroyed (crypto-shredding), then the subject rows are deleted — but only
   when no table references them any more. A domain whose erasure left rows behind must not be
   hidden by ``ON DELETE CASCADE``: the subject then stays crypto-shredded (unreadable, the
   "temporary lockdown" of TH-DSR-04), the report says ``is_complete=False`` and names the
   tables, and ``rights verify-erasure`` reports them.

The anonymous profiles merged into the subject are the same person: they are erased with it.
Opening the purchases for the legal holds answers the request, a use of the person's data for
the policy's ``rights_requests`` purpose: each profile's permit comes from the door
(``rights.permits``, audited as ``policy.check``) before anything is deleted.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

import rujai.listeners  # noqa: F401 - the unlearning listeners must be registered before erasing
from rujai.audit import service as audit_service
from rujai.consent import history as consent_history
from rujai.disclosures import service as disclosures_service
from rujai.events import service as events_service
from rujai.kit import signals
from rujai.kit.crypto import Keyring
from rujai.kit.time import as_utc
from rujai.personalize import decide, insights, recommend, recommend_data
from rujai.policy.schemas import Policy
from rujai.profiles import (
    erasure as profiles_erasure,
    identities,
    service as profiles_service,
    suppression,
    traits as profiles_traits,
)
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.suppression import CUSTOMER_KIND, is_suppressed, suppress, suppressed_many
from rujai.rights import erasure_log, verify
from rujai.rights.models import LegalHold, OutboxMessage, RightsRequest, VerificationCode
from rujai.rights.permits import rights_permit
from rujai.sessions import service as sessions_service

HOLD_KIND = "tax_invoice"
HOLD_YEARS = 5
HOLD_BASIS = "Revenue Code s.87/3: keep tax invoices 5 years"
DEFAULT_CURRENCY = "THB"
# Not erased per subject: the audit log keeps pseudonymous UUIDs by design (rujai.audit.service).
# The subject table is deleted last, after the check that nothing else references it.
NOT_CASCADED = (verify.AUDIT_TABLE, verify.SUBJECT_TABLE)
CENT = Decimal("0.01")


class ErasureReport(BaseModel):
    """What an erasure removed and kept: counts only, no personal data, no subject id."""

    model_config = ConfigDict(frozen=True)

    request_id: uuid.UUID | None
    profiles: int = Field(description="Profiles erased: the subject and those merged into it.")
    rows: dict[str, int] = Field(description="Rows removed (or unlinked) per table.")
    legal_holds: int = Field(description="Minimal tax-invoice records kept apart (no link).")
    suppressed: int = Field(description="Blind indexes kept to flag a re-import.")
    model_version: str | None = Field(description="The recommender version after unlearning.")
    leftovers: dict[str, int] = Field(description="Rows a domain failed to erase, per table.")
    is_complete: bool
    seconds: float


def erase(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    request_id: uuid.UUID | None,
    now: datetime,
    actor: str,
) -> ErasureReport:
    """Erase a subject everywhere in the caller's transaction and report counts (TH-DSR-04)."""
    started = time.perf_counter()
    session.flush()  # the caller's pending changes, before the statements below read the tables
    family = profiles_erasure.family_of(session, subject_id=subject_id)
    _audit(session, "rights.erase.start", subject_id, request_id, now, actor, profiles=len(family))
    before = verify.subject_rows(session, family, skip=NOT_CASCADED)
    blinds = profiles_erasure.blind_indexes(session, subject_ids=family)
    # Durable before anything is deleted: a restore or a crash is finished from it (rights.replay).
    erasure_log.record(session, subjects=family, suppress=blinds, request_id=request_id, now=now)
    holds = sum(_keep_legal_holds(session, keyring, policy, sid, now, actor) for sid in family)
    version = _unlearn(session, family, now)
    for sid in family:
        _erase_domains(session, sid, now)
    suppressed = suppression.suppress(session, blinds, request_id=request_id, now=now)
    leftovers = _shred_and_delete(session, family, now, actor)
    report = ErasureReport(
        request_id=request_id, profiles=len(family), rows=_removed(before, leftovers, family),
        legal_holds=holds, suppressed=suppressed, model_version=version, leftovers=leftovers,
        is_complete=not leftovers, seconds=round(time.perf_counter() - started, 6),
    )  # fmt: skip
    counts = report.model_dump(mode="json", exclude={"request_id", "seconds", "model_version"})
    _audit(session, "rights.erase.done", subject_id, request_id, now, actor, **counts)
    return report


def _shred_and_delete(
    session: Session, family: Sequence[uuid.UUID], now: datetime, actor: str
) -> dict[str, int]:
    """Destroy the data keys; delete the subject rows unless something still references them."""
    for sid in family:
        identities.destroy_data_key(session, subject_id=sid, now=now, actor=actor)
    leftovers = verify.subject_rows(session, family, skip=NOT_CASCADED)
    if not leftovers:
        profiles_erasure.delete_subjects(session, subject_ids=family)
    return leftovers


def _removed(
    before: dict[str, int], leftovers: dict[str, int], family: Sequence[uuid.UUID]
) -> dict[str, int]:
    rows = {t: n - leftovers.get(t, 0) for t, n in before.items() if n - leftovers.get(t, 0)}
    if not leftovers:
        rows[verify.SUBJECT_TABLE] = len(family)
    return dict(sorted(rows.items()))


def erase_customer(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    now: datetime,
    actor: str,
) -> tuple[uuid.UUID, ErasureReport]:
    """``erase`` a brand customer id without a request (an operator's CLI); raise SubjectNotFound.

    Returns the erased subject's UUID with the report: ``rights verify-erasure --subject`` needs
    it, since without a request no suppression entry leads back to it.
    """
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    if subject_id is None:
        raise SubjectNotFound("no subject with this customer id")
    report = erase(
        session, keyring=keyring, policy=policy, subject_id=subject_id, request_id=None,
        now=now, actor=actor,
    )  # fmt: skip
    return subject_id, report


def _audit(
    session: Session,
    action: str,
    subject_id: uuid.UUID,
    request_id: uuid.UUID | None,
    now: datetime,
    actor: str,
    **detail: Any,
) -> None:
    audit_service.record(
        session, actor=actor, action=action, now=now, subject_id=subject_id, outcome="recorded",
        detail={"request_id": str(request_id) if request_id else None, **detail},
    )  # fmt: skip


# --- legal holds ---------------------------------------------------------------------------------


def _keep_legal_holds(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    now: datetime,
    actor: str,
) -> int:
    """Keep each still-held tax invoice as a minimal record without the person (s.33 para 2)."""
    permit = rights_permit(  # opening the purchases answers the request: through the door
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now, actor=actor
    )
    purchases = events_service.purchase_lines(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    # Kept apart and unlinkable: no subject, and the creation time coarsened to the day so that
    # it cannot be matched to the erasure's audit entry.
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    rows = [
        {"id": uuid.uuid4(), "record_kind": HOLD_KIND, "reference": order_id, "amount": amount,
         "currency": currency, "issued_on": issued_on, "hold_until": until, "basis": HOLD_BASIS,
         "created_at": day}
        for order_id, (amount, currency, issued_on) in sorted(tax_invoices(purchases).items())
        if (until := add_years(issued_on, HOLD_YEARS)) > now.date()
    ]  # fmt: skip
    if rows:
        session.execute(insert(LegalHold), rows)
    return len(rows)


def tax_invoices(
    purchases: Iterable[tuple[datetime, dict[str, Any]]],
) -> dict[str, tuple[Decimal, str, date]]:
    """Group purchase lines by order id: (total amount, currency, earliest date) per order."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    currency: dict[str, str] = {}
    issued: dict[str, date] = {}
    for occurred_at, properties in purchases:
        order = properties.get("order_id")
        if not isinstance(order, str) or not order:
            continue
        totals[order] += _money(properties.get("amount"))
        currency.setdefault(order, str(properties.get("currency") or DEFAULT_CURRENCY))
        day = as_utc(occurred_at).date()
        issued[order] = min(issued.get(order, day), day)
    return {o: (totals[o].quantize(CENT), currency[o][:3], issued[o]) for o in totals}


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return Decimal(0)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return amount if amount.is_finite() else Decimal(0)


def add_years(day: date, years: int) -> date:
    """Return ``day`` plus ``years`` calendar years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- unlearning and the domains ------------------------------------------------------------------


def _unlearn(session: Session, family: Sequence[uuid.UUID], now: datetime) -> str | None:
    """Tell every model listener first (TH-DSR-04: "including models"); return the new version."""
    members = [sid for sid in family if recommend.is_member(session, subject_id=sid)]
    for sid in family:
        signals.subject_narrowed(session, subject_id=sid, reason="erased", now=now)
    return recommend_data.newest_version(session) if members else None


def _erase_domains(session: Session, subject_id: uuid.UUID, now: datetime) -> None:
    """Call each domain's own erasure; each deletes only its own tables."""
    _erase_rights_rows(session, subject_id)
    recommend.erase_subject(session, subject_id=subject_id, now=now)
    decide.erase_subject(session, subject_id=subject_id, now=now)
    insights.erase_subject(session, subject_id=subject_id)
    events_service.erase_subject(session, subject_id=subject_id)
    profiles_erasure.erase_merges(session, subject_id=subject_id)
    profiles_traits.erase_subject(session, subject_id=subject_id)  # traits, revisions, identities
    consent_history.erase_subject(session, subject_id=subject_id)
    sessions_service.erase_subject(session, subject_id=subject_id)  # privacy-center sign-ins
    disclosures_service.erase_subject(session, subject_id=subject_id)  # link cut, s.39 rows stay


def _erase_rights_rows(session: Session, subject_id: uuid.UUID) -> None:
    """This domain's rows: codes and outbox messages go; requests stay, unlinked (TH-DSR-00)."""
    session.execute(delete(VerificationCode).where(VerificationCode.subject_id == subject_id))
    session.execute(delete(OutboxMessage).where(OutboxMessage.subject_id == subject_id))
    session.execute(
        update(RightsRequest).where(RightsRequest.subject_id == subject_id).values(subject_id=None)
    )


__all__ = [
    "CUSTOMER_KIND",
    "ErasureReport",
    "add_years",
    "erase",
    "erase_customer",
    "is_suppressed",
    "suppress",
    "suppressed_many",
    "tax_invoices",
]
