"""Access and portability copies (TH-DSR-01, TH-DSR-02). Work in progress: signature is stable."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy


def build_export(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    now: datetime,
) -> bytes:
    """Return the subject's copy as a ZIP: export.json, one CSV per table, summary.html."""
    raise NotImplementedError
