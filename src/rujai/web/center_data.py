"""The privacy center's "my data": what the brand holds, the copy, and the subject's requests.

Data is read through each domain's ``export_subject`` with a permit for the rights purpose (as an
access request would, TH-DSR-01) and grouped by data category with its source. Requests go through
the rights domain: submitted on the ``privacy_center`` channel, verified with a code sent to a
verified identity on file (TH-DSR-00), then carried out by ``rights.processing``. Every read is
audited (``center.audit_read``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from rujai.errors import NotFound
from rujai.events import service as events_service
from rujai.events.schemas import EventRead
from rujai.kit.crypto import Keyring
from rujai.personalize import insights as insights_service
from rujai.personalize.schemas import InsightRead
from rujai.policy.rules import Objection
from rujai.policy.schemas import Lang, Policy
from rujai.profiles import service as profiles_service, traits as profiles_traits
from rujai.rights import (
    export as rights_export,
    intake,
    processing,
    service as rights_service,
    verification,
)
from rujai.rights.notifier import kind_title, reference
from rujai.rights.permits import rights_permit
from rujai.rights.schemas import RequestCreate, RequestDetail, RequestKind, RequestRead
from rujai.web.center import View, actor_of, audit_read, category_titles, customer_id_of
from rujai.web.center_disclosures import RecipientView, recipients_view
from rujai.web.i18n import translate

AFFINITY = "category_affinity"
HIDDEN_INSIGHTS = frozenset({"suppressed_interests"})
IDENTITY_CATEGORY = {"email": "contact", "phone": "contact", "anonymous": "device"}
SUBJECT_KINDS: tuple[RequestKind, ...] = (
    "rectification",
    "erasure",
    "restriction",
    "restriction_lift",
    "objection",
    "objection_lift",
)


class DataEntry(View):
    label: str
    value: str
    source: str


class DataGroup(View):
    category: str
    title: str
    description: str
    entries: list[DataEntry]


class EventSummary(View):
    title: str
    category: str
    count: int
    first_at: datetime
    last_at: datetime
    sources: list[str]


class InsightView(View):
    name: str
    label: str
    value: str
    sources: list[str]
    interests: list[str]


class RequestView(View):
    id: uuid.UUID
    ref: str
    kind: str
    title: str
    status: str
    received_at: datetime
    due_at: datetime
    is_overdue: bool
    needs_code: bool


class RetentionView(View):
    category: str
    title: str
    purpose: str | None
    days: int
    purge_after: date


class DataPage(View):
    groups: list[DataGroup]
    retention: list[RetentionView]
    events: list[EventSummary]
    insights: list[InsightView]
    requests: list[RequestView]
    recipients: list[RecipientView]
    traits: list[tuple[str, str]]
    is_restricted: bool
    objected: list[str]
    can_object: list[str]


def data_page(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    lang: Lang,
    now: datetime,
) -> DataPage:
    """Return what the brand holds about the subject, grouped by category, and their requests."""
    permit = rights_permit(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now,
        actor=actor_of(subject_id),
    )  # fmt: skip
    profile = profiles_traits.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    events = events_service.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    insights = insights_service.export_subject(session, permit=permit, subject_id=subject_id)
    requests = rights_service.list_for_subject(session, subject_id=subject_id, now=now)
    subject = profiles_service.get(session, subject_id=subject_id)
    entries = _trait_entries(policy, profile.traits, lang) + _identity_entries(profile, lang)
    audit_read(session, subject_id=subject_id, page="my_data", now=now,
               traits=len(profile.traits), events=len(events), insights=len(insights))  # fmt: skip
    return DataPage(
        groups=_groups(policy, entries, lang),
        retention=_retention(session, keyring, policy, subject_id, lang, now),
        events=_event_summaries(policy, events, lang),
        insights=[_insight(policy, i, lang) for i in insights if i.name not in HIDDEN_INSIGHTS],
        requests=[request_view(r, lang) for r in requests],
        recipients=recipients_view(
            session, policy=policy, permit=permit, subject_id=subject_id, lang=lang
        ),
        traits=[(n, t.title.get(lang) if t.title else n) for n, t in policy.traits.items()],
        is_restricted=subject.is_restricted,
        # legitimate_interest:<purpose> (in force from verification, TH-DSR-03) lifts as one kind
        objected=sorted({o.partition(":")[0] for o in subject.objections}),
        can_object=[o.value for o in Objection if o.value not in subject.objections],
    )


def _retention(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    lang: Lang,
    now: datetime,
) -> list[RetentionView]:
    """Per category held, how long it is kept for this subject and why (TH-RET-01)."""
    rows = rights_export.subject_retention(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now
    )
    titles = category_titles(policy, [r.category for r in rows], lang)
    return [
        RetentionView(
            category=r.category, title=title, days=r.days, purge_after=r.purge_after,
            purpose=policy.purposes[r.purpose].title.get(lang) if r.purpose else None,
        )
        for r, title in zip(rows, titles, strict=True)
        if r.purpose or r.category not in policy.index.sensitive_categories
    ]  # fmt: skip


def _trait_entries(
    policy: Policy, traits: dict[str, Any], lang: Lang
) -> list[tuple[str, DataEntry]]:
    source = translate("data.source.profile", lang)
    out = []
    for name, value in traits.items():
        spec = policy.traits.get(name)
        if spec is not None and spec.identifier is not None:
            continue  # shown once, as an identity (with whether it is verified)
        label = spec.title.get(lang) if spec and spec.title else name
        category = spec.category if spec else "other"
        out.append((category, DataEntry(label=label, value=_text(value), source=source)))
    return out


def _identity_entries(profile: Any, lang: Lang) -> list[tuple[str, DataEntry]]:
    out = []
    for identity in profile.identities:
        verified = "data.source.verified" if identity.is_verified else "data.source.unverified"
        entry = DataEntry(
            label=translate(f"identity.{identity.kind}", lang),
            value=identity.value,
            source=translate(verified, lang),
        )
        out.append((IDENTITY_CATEGORY.get(identity.kind, "identity"), entry))
    return out


def _groups(policy: Policy, entries: list[tuple[str, DataEntry]], lang: Lang) -> list[DataGroup]:
    by_category: dict[str, list[DataEntry]] = defaultdict(list)
    for category, entry in entries:
        by_category[category].append(entry)
    groups = []
    for category, items in by_category.items():
        spec = policy.categories.get(category)
        groups.append(
            DataGroup(
                category=category,
                title=spec.title.get(lang) if spec else category,
                description=spec.description.get(lang) if spec and spec.description else "",
                entries=items,
            )
        )
    return groups


def _event_summaries(policy: Policy, events: list[EventRead], lang: Lang) -> list[EventSummary]:
    by_type: dict[str, list[EventRead]] = defaultdict(list)
    for event in events:
        by_type[event.type].append(event)
    out = []
    for kind, rows in sorted(by_type.items(), key=lambda kv: -len(kv[1])):
        spec = policy.event_types.get(kind)
        sources = sorted({_source(e, lang) for e in rows})
        out.append(
            EventSummary(
                title=spec.title.get(lang) if spec and spec.title else kind,
                category=category_titles(policy, [rows[0].category], lang)[0],
                count=len(rows),
                first_at=min(e.occurred_at for e in rows),
                last_at=max(e.occurred_at for e in rows),
                sources=sources,
            )
        )
    return out


def _source(event: EventRead, lang: Lang) -> str:
    if event.is_partner_data:
        return translate("data.source.partner", lang)
    return translate(f"data.source.{event.source}", lang)


def _insight(policy: Policy, insight: InsightRead, lang: Lang) -> InsightView:
    interests = []
    if insight.name == AFFINITY and isinstance(insight.value, list):
        interests = [str(e.get("category")) for e in insight.value if isinstance(e, dict)]
    value = ", ".join(interests) if interests else _text(insight.value)
    return InsightView(
        name=insight.name,
        label=translate(f"insight.{insight.name}", lang),
        value=value,
        sources=category_titles(policy, insight.categories, lang),
        interests=interests,
    )


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def request_view(row: RequestRead, lang: Lang) -> RequestView:
    """Return a request as the subject follows it: kind, status and deadline."""
    return RequestView(
        id=row.id,
        ref=reference(row.id),
        kind=row.kind,
        title=kind_title(row.kind, lang),
        status=row.status,
        received_at=row.received_at,
        due_at=row.effective_due_at,
        is_overdue=row.is_overdue,
        needs_code=row.status == "received",
    )


def submit_request(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    kind: RequestKind,
    detail: RequestDetail,
    lang: Lang,
    now: datetime,
) -> RequestView:
    """Submit a request on the privacy-center channel and send its verification code."""
    customer_id = customer_id_of(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now
    )
    body = RequestCreate(
        kind=kind, channel="privacy_center", customer_id=customer_id, language=lang, detail=detail
    )
    actor = actor_of(subject_id)
    row = intake.submit(
        session, keyring=keyring, policy=policy, body=body, now=now, actor=actor, staff=False
    )
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=row.id, now=now, actor=actor
    )
    return request_view(row, lang)


def own_request(
    session: Session, *, subject_id: uuid.UUID, request_id: uuid.UUID, lang: Lang, now: datetime
) -> RequestView:
    """Return one of the subject's own requests; another's is not found (404)."""
    mine = rights_service.list_for_subject(session, subject_id=subject_id, now=now)
    row = next((r for r in mine if r.id == request_id), None)
    if row is None:
        raise NotFound("no such request of yours", field="request_id")
    return request_view(row, lang)


def confirm_request(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    request_id: uuid.UUID,
    code: str,
    lang: Lang,
    now: datetime,
) -> RequestView:
    """Check the request's code and carry it out at once when its kind allows (TH-DSR-00)."""
    own_request(session, subject_id=subject_id, request_id=request_id, lang=lang, now=now)
    row = processing.confirm_and_run(
        session, keyring=keyring, policy=policy, request_id=request_id, code=code, now=now,
        actor=actor_of(subject_id),
    )  # fmt: skip
    return request_view(row, lang)


def download_copy(
    session: Session, *, keyring: Keyring, policy: Policy, subject_id: uuid.UUID, now: datetime
) -> IO[bytes]:
    """Return the subject's access copy (ZIP, a spooled file to stream) built by the rights domain
    (TH-DSR-01, TH-DSR-02)."""
    return rights_export.open_export(
        session, keyring=keyring, policy=policy, subject_id=subject_id, now=now,
        actor=actor_of(subject_id),
    )  # fmt: skip


def stream_copy(spool: IO[bytes]) -> Iterator[bytes]:
    """Yield a copy made by ``download_copy`` in chunks and close it (a streamed response)."""
    return rights_export.iter_file(spool)
