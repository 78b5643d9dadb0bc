"""Disclosure log rows for the outbox tests, inserted directly as the log of what was sent.

The code that writes disclosures (the door's disclosure check, exports) is another part of the
domain; these tests only need the log to exist. All data is fictional.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from rujai.disclosures.models import Disclosure
from rujai.disclosures.pseudonym import subject_ref
from rujai.kit.crypto import Keyring

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def make_disclosure(
    session: Session,
    keyring: Keyring,
    *,
    subject_id: uuid.UUID,
    recipient: str,
    purpose: str,
    processor: bool = True,
    batch_id: uuid.UUID | None = None,
    at: datetime = NOW,
) -> Disclosure:
    """Log that ``recipient`` received the subject's data for ``purpose`` (flushed)."""
    row = Disclosure(
        subject_id=subject_id,
        subject_ref=subject_ref(keyring, recipient=recipient, subject_id=subject_id),
        batch_id=batch_id or uuid.uuid4(),
        recipient=recipient,
        purpose=purpose,
        basis="consent",
        with_consent=True,
        categories=["contact"],
        country="TH",
        mechanism="none",
        processor=processor,
        channel="processor_sync",
        policy_version="test",
        at=at,
    )
    session.add(row)
    session.flush()
    return row
