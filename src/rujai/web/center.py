"""The privacy center's consents and "why am I seeing this?": domain services, for one subject.

Pages get plain view schemas in the page language. What a switch shows is what the chokepoint
enforces: the status comes from ``consent.service.current`` (``policy.rules.evaluate`` on the same
facts). The customer id those services are keyed by is opened with a permit for the rights purpose
(``rights.permits``, actor the subject). Every read of personal data is audited with the actor
``subject:<uuid>`` and only counts in the detail; every change is recorded by the consent service
with channel ``privacy_center``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.consent import history as consent_history, receipts, service as consent_service
from rujai.consent.receipts import ConsentReceipt
from rujai.consent.schemas import ConsentCreate, ConsentRecordRead, PurposeConsentRead
from rujai.errors import NotFound
from rujai.kit.crypto import Keyring
from rujai.personalize import decide as decide_service
from rujai.personalize.decision_schemas import DecisionRead
from rujai.policy import rules
from rujai.policy.schemas import Lang, Policy, Purpose
from rujai.profiles import service as profiles_service
from rujai.profiles.schemas import AgeBand
from rujai.rights.permits import RIGHTS_PURPOSE, rights_permit

CHANNEL = "privacy_center"
READ_ACTION = "privacy_center.read"
READ_PURPOSE = RIGHTS_PURPOSE
WHY_LIMIT = 20
# Statuses under which the subject's own "yes" still stands, though something else holds it back.
HELD_BACK = frozenset({"pending_guardian", "restricted", "objected"})
SUBJECT_ACTORS = frozenset({"self", "staff"})


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class PurposeCard(View):
    """One consent-based purpose in plain language, with its switch (TH-CON-01)."""

    id: str
    title: str
    description: str
    categories: list[str]
    places: list[str]
    consequence: str | None
    is_explicit: bool
    is_marketing: bool
    is_profiling: bool
    notice_version: int
    is_on: bool
    status: str
    status_text: str
    changed_at: datetime | None
    can_grant: bool
    asks_age: bool = False  # the age band is asked with the grant (TH-MIN-01)


class HistoryRow(View):
    record_id: uuid.UUID
    purpose: str
    purpose_title: str
    action: str
    recorded_at: datetime
    channel: str
    actor: str
    language: str
    notice_version: int


class ConsentsPage(View):
    purposes: list[PurposeCard]
    history: list[HistoryRow]


class WhyItem(View):
    name: str
    reason: str


class WhyDecision(View):
    """One decision shown to the subject with the reason and the consent it relied on."""

    id: uuid.UUID
    where: str
    at: datetime
    personalized: bool
    is_holdout: bool
    reason: str
    purpose: str
    purpose_title: str
    relied_on_consent: bool
    purpose_is_on: bool
    can_turn_off: bool
    items: list[WhyItem]
    offers: list[WhyItem]
    insights_used: list[str]


class WhyPage(View):
    decisions: list[WhyDecision]


def actor_of(subject_id: uuid.UUID) -> str:
    """Return the audit actor of a signed-in subject."""
    return f"subject:{subject_id}"


def audit_read(
    session: Session, *, subject_id: uuid.UUID, page: str, now: datetime, **counts: int
) -> None:
    """Audit one read of the subject's data by the subject (no personal data in the detail)."""
    audit_service.record(
        session,
        actor=actor_of(subject_id),
        action=READ_ACTION,
        now=now,
        subject_id=subject_id,
        purpose=READ_PURPOSE,
        outcome="shown",
        detail={"page": page, **counts},
    )


def customer_id_of(
    session: Session, *, keyring: Keyring, policy: Policy, subject_id: uuid.UUID, now: datetime
) -> str:
    """Open the signed-in subject's customer id with a permit for the rights purpose."""
    permit = rights_permit(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now,
        actor=actor_of(subject_id), categories=(profiles_service.CUSTOMER_ID_CATEGORY,),
    )  # fmt: skip
    return profiles_service.customer_id_of(session, keyring=keyring, permit=permit)


def consents_page(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    lang: Lang,
    now: datetime,
) -> ConsentsPage:
    """Return every consent-based purpose with its switch state and the subject's ledger."""
    customer_id = customer_id_of(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now
    )
    overview = consent_service.overview(
        session, keyring=keyring, policy=policy, customer_id=customer_id, now=now
    )
    own = own_choices(overview.history)
    age_known = overview.current.age_known
    cards = [
        purpose_card(policy, s, own.get(s.purpose), lang, age_known=age_known)
        for s in overview.current.purposes
    ]
    rows = [history_row(policy, r, lang) for r in reversed(overview.history)]
    audit_read(session, subject_id=subject_id, page="consents", now=now, records=len(rows))
    return ConsentsPage(purposes=cards, history=rows)


def own_choices(history: list[ConsentRecordRead]) -> dict[str, ConsentRecordRead]:
    """Return the subject's own latest record per purpose (guardians' records left out)."""
    latest: dict[str, ConsentRecordRead] = {}
    for row in history:
        if row.actor in SUBJECT_ACTORS:
            latest[row.purpose] = row
    return latest


def purpose_card(
    policy: Policy,
    state: PurposeConsentRead,
    own: ConsentRecordRead | None,
    lang: Lang,
    *,
    age_known: bool = True,
) -> PurposeCard:
    """Describe one purpose in plain language with the state its switch shows."""
    purpose = policy.purposes[state.purpose]
    asks_age = not age_known and rules.age_matters(purpose)
    own_yes = own is not None and own.action == "grant"
    return PurposeCard(
        id=state.purpose,
        title=purpose.title.get(lang),
        description=purpose.description.get(lang),
        categories=category_titles(policy, purpose.categories, lang),
        places=_places(policy, state.purpose, lang),
        consequence=purpose.consequence.get(lang) if purpose.consequence else None,
        is_explicit=state.basis.value == "explicit_consent",
        is_marketing=purpose.direct_marketing,
        is_profiling=purpose.profiling,
        notice_version=state.notice_version,
        is_on=state.status == "granted" or (own_yes and state.status in HELD_BACK),
        status=state.status,
        status_text=state.reason_text.get(lang),
        changed_at=state.last_recorded_at,
        can_grant=state.status != "guardian_required",
        asks_age=asks_age,
    )


def category_titles(policy: Policy, categories: list[str], lang: Lang) -> list[str]:
    """Return the plain-language titles of data categories."""
    known = policy.categories
    return [known[c].title.get(lang) if c in known else c for c in categories]


def _places(policy: Policy, purpose_id: str, lang: Lang) -> list[str]:
    return [
        p.title.get(lang) if p.title else name
        for name, p in policy.placements.items()
        if p.purpose == purpose_id
    ]


def history_row(policy: Policy, row: ConsentRecordRead, lang: Lang) -> HistoryRow:
    """Return one ledger row as the subject reads it."""
    return HistoryRow(
        record_id=row.id,
        purpose=row.purpose,
        purpose_title=_purpose_title(policy, row.purpose, lang),
        action=row.action,
        recorded_at=row.recorded_at,
        channel=row.channel,
        actor=row.actor,
        language=row.language,
        notice_version=row.notice_version,
    )


def _purpose_title(policy: Policy, purpose_id: str, lang: Lang) -> str:
    purpose: Purpose | None = policy.purposes.get(purpose_id)
    return purpose.title.get(lang) if purpose else purpose_id


def change_consent(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    purpose: str,
    grant: bool,
    explicit: bool,
    lang: Lang,
    now: datetime,
    evidence: tuple[str | None, str | None] = (None, None),
    age_band: AgeBand | None = None,
) -> PurposeCard:
    """Grant or withdraw one purpose as the subject (TH-CON-03: the same one step either way).

    A grant for profiling or marketing from a subject whose age is unknown carries the age band
    chosen on the form (TH-MIN-01); without one the consent service refuses it (age_required).
    """
    known = policy.purposes.get(purpose)
    change = ConsentCreate(
        purpose=purpose,
        action="grant" if grant else "withdraw",
        language=lang,
        channel=CHANNEL,
        actor="self",
        notice_version=known.notice.version if known else None,
        explicit=explicit and grant,
        age_band=age_band if grant else None,
    )
    customer_id = customer_id_of(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now
    )
    consent_service.record(
        session, keyring=keyring, policy=policy, customer_id=customer_id, change=change,
        now=now, evidence_ip=evidence[0], evidence_user_agent=evidence[1],
        by=actor_of(subject_id),
    )  # fmt: skip
    page = consents_page(
        session, keyring=keyring, policy=policy, subject_id=subject_id, lang=lang, now=now
    )
    return next(card for card in page.purposes if card.id == purpose)


def receipt(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    record_id: uuid.UUID,
    now: datetime,
) -> ConsentReceipt:
    """Return the signed receipt of one of the subject's own ledger rows (TH-CON-04)."""
    rows = consent_history.history(session, subject_id=subject_id)
    row = next((r for r in rows if r.id == record_id), None)
    if row is None:
        raise NotFound("no such consent record of yours", field="record_id")
    audit_read(session, subject_id=subject_id, page="consent_receipt", now=now, records=1)
    return receipts.issue(keyring, policy, row, audit_head=audit_service.current_head(session))


def why_page(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    lang: Lang,
    now: datetime,
) -> WhyPage:
    """Return the subject's recent decisions with reasons and the consent each relied on."""
    permit = rights_permit(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now,
        actor=actor_of(subject_id),
    )  # fmt: skip  # the subject's own view of what was decided about them (TH-DSR-01)
    decisions = decide_service.list_for_subject(
        session, permit=permit, subject_id=subject_id, limit=WHY_LIMIT
    )
    customer_id = customer_id_of(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now
    )
    state = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id=customer_id, now=now
    )
    allowed = {p.purpose: p.allowed for p in state.purposes}
    views = [_why(policy, d, allowed, lang) for d in decisions]
    audit_read(session, subject_id=subject_id, page="why", now=now, decisions=len(views))
    return WhyPage(decisions=views)


def _why(
    policy: Policy, decision: DecisionRead, allowed: dict[str, bool], lang: Lang
) -> WhyDecision:
    placement = policy.placements.get(decision.placement)
    is_on = allowed.get(decision.purpose, False)
    return WhyDecision(
        id=decision.id,
        where=placement.title.get(lang) if placement and placement.title else decision.placement,
        at=decision.created_at,
        personalized=decision.personalized,
        is_holdout=decision.is_holdout,
        reason=decision.reason_text.get(lang),
        purpose=decision.purpose,
        purpose_title=_purpose_title(policy, decision.purpose, lang),
        relied_on_consent=bool(decision.consent_record_ids),
        purpose_is_on=is_on,
        can_turn_off=is_on and decision.purpose in allowed,
        items=[WhyItem(name=i.name.get(lang), reason=i.reason.get(lang)) for i in decision.items],
        offers=[
            WhyItem(name=o.title.get(lang), reason=o.reason.get(lang)) for o in decision.offers
        ],
        insights_used=list(decision.insights_used),
    )
