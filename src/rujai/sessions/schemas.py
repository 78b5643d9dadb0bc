"""Schemas of sign-in sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

SessionKind = Literal["subject", "staff"]
EndReason = Literal[
    "sign_out", "replaced", "password_changed", "role_changed", "staff_removed", "erased"
]


class WebSessionRead(BaseModel):
    """An active sign-in: who (a subject's or a staff member's id) and since when."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    kind: SessionKind
    subject_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    created_at: datetime
    last_seen_at: datetime
