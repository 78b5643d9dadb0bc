"""Customer lookup (DPO, admin): a stated purpose and reason, the chokepoint, an audit entry.

The staff member picks one of the policy's purposes and a reason code. The lookup asks
``policy.service.authorize`` for that purpose and the categories the page can show (those the
purpose declares), so a purpose that may not use the data is refused and the refusal is audited;
what is shown is only what the permit covers (STYLE.md §3). Every lookup, found or not, is one
audit entry ``console.customer_lookup`` with actor ``staff:<username>``, the subject's UUID, the
purpose, the reason code and the categories (TH-SEC-01: an audit trail of access), so that the
customer's access copy can list it (TH-DSR-01). Nothing personal goes into the entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.db import WriteSessionDep
from rujai.deps import KeyringDep, PolicyDep
from rujai.errors import Invalid
from rujai.kit.crypto import Keyring
from rujai.kit.time import utcnow
from rujai.policy import service as policy_service
from rujai.policy.schemas import Policy
from rujai.profiles import identities, service as profiles_service, traits as profiles_traits
from rujai.profiles.schemas import IdentityRead
from rujai.staff.service import StaffRead
from rujai.web.i18n import Lang, resolve_lang
from rujai.web.routes.console_auth import StaffDep, console_router
from rujai.web.routes.console_view import show

router = console_router()

LOOKUP_ACTION = "console.customer_lookup"
REASONS = ("customer_contact", "order_support", "rights_request", "fraud_review", "complaint")
IDENTITY_CATEGORIES = frozenset({"contact", "identity"})


@dataclass(frozen=True)
class Lookup:
    """What one lookup found: the subject's UUID, the categories read and the data they cover."""

    purpose: str
    reason: str
    subject_id: uuid.UUID | None = None
    categories: list[str] = field(default_factory=list)
    identities: list[IdentityRead] = field(default_factory=list)
    traits: dict[str, Any] = field(default_factory=dict)


def shown_categories(policy: Policy, purpose_id: str) -> list[str]:
    """Return the categories of ``purpose_id`` that the lookup page can show."""
    purpose = policy.purposes.get(purpose_id)
    if purpose is None:
        raise Invalid("choose one of the policy's purposes", field="purpose")
    showable = IDENTITY_CATEGORIES | {t.category for t in policy.traits.values()}
    return [c for c in purpose.categories if c in showable]


def lookup(
    session: Session,
    *,
    policy: Policy,
    keyring: Keyring,
    staff: StaffRead,
    customer_id: str,
    purpose: str,
    reason: str,
    now: datetime,
) -> Lookup:
    """Find a customer for a stated purpose through the chokepoint; audit the access."""
    if reason not in REASONS:
        raise Invalid("choose a reason for this lookup", field="reason")
    categories = shown_categories(policy, purpose)
    if not categories:
        raise Invalid("this purpose uses no data this page shows", field="purpose")
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    found = Lookup(purpose=purpose, reason=reason, subject_id=subject_id, categories=categories)
    if subject_id is not None:
        found = _read(session, policy, keyring, staff, found, now)
    audit_service.record(
        session, actor=staff.actor, action=LOOKUP_ACTION, now=now, subject_id=subject_id,
        purpose=purpose, outcome="shown" if subject_id else "not_found",
        detail={"reason": reason, "categories": categories},
    )  # fmt: skip
    return found


def _read(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    staff: StaffRead,
    found: Lookup,
    now: datetime,
) -> Lookup:
    subject_id = found.subject_id
    permit = policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=found.purpose,
        categories=found.categories, now=now, actor=staff.actor,
    )  # fmt: skip
    assert subject_id is not None  # noqa: S101 - only called for a found subject
    ids = []
    if permit.covers(subject_id, "contact"):
        ids = identities.list_identities(
            session, keyring=keyring, permit=permit, subject_id=subject_id
        )
    traits = profiles_traits.get_traits(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    return Lookup(found.purpose, found.reason, subject_id, found.categories, ids, traits)


def _form_context(policy: Policy, lang: Lang) -> dict[str, Any]:
    return {
        "purposes": [(pid, p.title.get(lang)) for pid, p in policy.purposes.items()],
        "reasons": REASONS,
        "traits": {n: t.title.get(lang) if t.title else n for n, t in policy.traits.items()},
    }


@router.get("/customers", response_class=HTMLResponse)
def lookup_form(request: Request, policy: PolicyDep, staff: StaffDep) -> HTMLResponse:
    """Show the lookup form: customer id, purpose and reason."""
    context = {**_form_context(policy, resolve_lang(request)), "found": None}
    return show(request, "customers.html", staff=staff, page="customers", context=context)


@router.post("/customers", response_class=HTMLResponse)
def lookup_customer(
    request: Request,
    session: WriteSessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: StaffDep,
    customer_id: Annotated[str, Form(min_length=1, max_length=128)],
    purpose: Annotated[str, Form(max_length=63)] = "",
    reason: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    """Show what the stated purpose may see of one customer; the access is audited."""
    found = lookup(
        session, policy=policy, keyring=keyring, staff=staff, customer_id=customer_id,
        purpose=purpose, reason=reason, now=utcnow(),
    )  # fmt: skip
    context = {**_form_context(policy, resolve_lang(request)), "found": found}
    return show(
        request, "customers.html", staff=staff, page="customers", context=context,
        partial="console/_customer.html",
    )  # fmt: skip
