"""Stop-gaps for the privacy center until the domains offer by-subject variants.

The privacy center's session holds only the subject's UUID, while ``consent.service.record`` /
``current`` and ``rights.service.submit`` take the brand's customer id, and ``rights.service`` has
no per-subject list. Each function here says which domain function should replace it; once those
exist, delete this module (it is the only place in ``web`` that touches a domain's tables).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.kit.crypto import Keyring
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.models import Subject
from rujai.profiles.sealing import open_value, subject_key
from rujai.rights import service as rights_service
from rujai.rights.schemas import RequestRead

MAX_REQUESTS = 500


def customer_id_of(session: Session, *, keyring: Keyring, subject_id: uuid.UUID) -> str:
    """Open the subject's sealed customer id (to become ``profiles.service.customer_id_of``)."""
    sealed = session.scalar(select(Subject.customer_id_sealed).where(Subject.id == subject_id))
    if sealed is None:
        raise SubjectNotFound(f"subject {subject_id} has no customer id", field="subject_id")
    key = subject_key(session, keyring=keyring, subject_id=subject_id)
    return open_value(key, subject_id, "customer_id", sealed).decode()


def requests_of_subject(
    session: Session, *, subject_id: uuid.UUID, now: datetime
) -> list[RequestRead]:
    """Return the subject's requests, newest first (for ``rights.service.list_for_subject``)."""
    rows = rights_service.list_requests(session, now=now, limit=MAX_REQUESTS)
    mine = [row for row in rows if row.subject_id == subject_id]
    return sorted(mine, key=lambda row: row.received_at, reverse=True)
