"""The erasure cascade (TH-DSR-04): one orchestrated, atomic run over every domain.

Work in progress: the signature below is stable; the body is being written.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy


class ErasureReport(BaseModel):
    """What an erasure removed and kept, counts only (no personal data)."""

    model_config = ConfigDict(frozen=True)

    request_id: uuid.UUID | None
    profiles: int
    rows: dict[str, int]
    legal_holds: int
    suppressed: int
    model_version: str | None
    leftovers: dict[str, int]
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
    raise NotImplementedError
