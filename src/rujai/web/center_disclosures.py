"""The privacy center's "who received my data" (PDPA s.30, TH-DSR-01; s.27, TH-USE-01).

Read from the disclosure log through the subject's rights permit, grouped by recipient and
purpose: the recipient's name and country, the transfer mechanism if abroad, whether it acts for
the brand (a processor), how many times and when last. Names of recipients only, never a person.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from rujai.disclosures import service as disclosures_service
from rujai.disclosures.schemas import DisclosureRead
from rujai.policy import labels
from rujai.policy.schemas import Lang, Policy, TransferMechanism
from rujai.policy.service import Permit
from rujai.web.center import View


class RecipientView(View):
    name: str
    country: str
    purpose: str
    basis: str
    mechanism: str
    processor: bool
    count: int
    last_at: datetime


def recipients_view(
    session: Session, *, policy: Policy, permit: Permit, subject_id: uuid.UUID, lang: Lang
) -> list[RecipientView]:
    """Return one line per recipient and purpose the subject's data went to, newest first."""
    rows = disclosures_service.export_subject(
        session, policy=policy, permit=permit, subject_id=subject_id
    )
    grouped: dict[tuple[str, str], list[DisclosureRead]] = {}
    for row in rows:
        grouped.setdefault((row.recipient, row.purpose), []).append(row)
    views = [_view(policy, group, lang) for group in grouped.values()]
    return sorted(views, key=lambda v: v.last_at, reverse=True)


def _view(policy: Policy, group: list[DisclosureRead], lang: Lang) -> RecipientView:
    last = group[-1]
    purpose = policy.purposes.get(last.purpose)
    mechanism = TransferMechanism(last.mechanism)
    return RecipientView(
        name=last.recipient_name,
        country=last.country,
        purpose=purpose.title.get(lang) if purpose is not None else last.purpose,
        basis=labels.pick(labels.BASIS[purpose.basis], lang) if purpose else last.basis,
        mechanism=""
        if mechanism is TransferMechanism.NONE
        else labels.pick(labels.MECHANISM[mechanism], lang),
        processor=last.processor,
        count=len(group),
        last_at=last.at,
    )
