"""The rights domain's way through the door: a permit to answer a subject's own request.

Answering a request (a copy, a correction, an erasure, a message about it) is a use of the
person's data for the policy's ``rights_requests`` purpose, a legal obligation. ``rights_permit``
asks ``policy.service.authorize`` with ``Action.ANSWER_RIGHTS``, which a restriction (TH-DSR-05)
or an objection does not stop (PDPA s.30-34), and which only a legal-obligation purpose allows.
Every permit is audited by the door as ``policy.check``. A policy that declares no rights purpose
cannot answer requests: the door refuses (TH-DSR-01).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from rujai.errors import PolicyDenied
from rujai.kit.crypto import Keyring
from rujai.policy import service as policy_service
from rujai.policy.rules import Action
from rujai.policy.schemas import Policy
from rujai.policy.service import Permit

RIGHTS_PURPOSE = "rights_requests"


def rights_permit(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    now: datetime,
    actor: str,
    categories: Sequence[str] | None = None,
) -> Permit:
    """Return a permit to answer the subject's request (default: all the purpose's categories)."""
    purpose = policy.purposes.get(RIGHTS_PURPOSE)
    if categories is None:
        categories = purpose.categories if purpose is not None else ()
    try:
        return policy_service.authorize(
            session, policy=policy, keyring=keyring, subject_id=subject_id,
            purpose=RIGHTS_PURPOSE, categories=categories, now=now, actor=actor,
            action=Action.ANSWER_RIGHTS,
        )  # fmt: skip
    except PolicyDenied as e:
        if purpose is not None:
            raise
        raise PolicyDenied(
            f"the policy declares no {RIGHTS_PURPOSE!r} purpose (a legal obligation): "
            "requests of data subjects cannot be answered (TH-DSR-01)",
            reason=e.reason,
        ) from e
