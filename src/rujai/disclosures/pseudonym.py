"""The pseudonym a recipient knows a subject by: never the internal subject id (TH-SEC-01).

Each recipient gets its own keyed pseudonym of the subject, so two recipients cannot join their
copies on it, and a leaked file does not reveal rujai's ids. The value is written into the
disclosure log when the data is sent; later notices to that recipient (erasure, withdrawal, ...)
quote the logged value, so a master-key rotation does not change what the recipient was told.
"""

from __future__ import annotations

import uuid

from rujai.kit.crypto import Keyring

REF_LENGTH = 32


def subject_ref(keyring: Keyring, *, recipient: str, subject_id: uuid.UUID) -> str:
    """Return ``recipient``'s pseudonym for ``subject_id`` (hex, 32 characters)."""
    return keyring.blind("recipient-ref", f"{recipient}\x00{subject_id}")[:REF_LENGTH]
