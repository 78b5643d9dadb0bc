"""Erasure reaches the breach register: a notice sent to an erased subject stays, unlinked.

``rights.erasure`` tells every domain above it through ``kit.signals.subject_narrowed`` with
``reason="erased"``; the register keeps which notice went out, when and through which channel,
and drops the subject's id (TH-DSR-04; TH-BRE-01 evidence kept), as rights requests do.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.orm import Session

from rujai.incidents.models import IncidentNotice
from rujai.kit import signals


@signals.on_subject_narrowed
def unlink_on_erasure(session: Session, *, subject_id: UUID, reason: str, **_context: Any) -> None:
    """Cut the link from the subject's breach notices when, and only when, they are erased."""
    if reason != "erased":
        return
    session.execute(
        update(IncidentNotice)
        .where(IncidentNotice.subject_id == subject_id)
        .values(subject_id=None)
    )
