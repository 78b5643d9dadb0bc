"""Fictional customers for the disclosure tests: a traits profile and consents per purpose."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.profiles import traits as profiles_traits
from tests.factories import NOW, make_consent, make_subject

TRAITS: dict[str, Any] = {"email": "somchai.j@example.com", "first_name": "สมชาย"}


def customer(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    *,
    grants: tuple[str, ...] = (),
    withdraws: tuple[str, ...] = (),
    traits: dict[str, Any] | None = None,
    now: datetime = NOW,
) -> uuid.UUID:
    """A customer with traits, granted (then perhaps withdrawn) purposes; returns the subject id."""
    subject = make_subject(session, keyring, customer_id, now=now)
    for purpose in grants:
        make_consent(session, keyring, policy, purpose, customer_id=customer_id, now=now)
    for purpose in withdraws:
        make_consent(
            session, keyring, policy, purpose, customer_id=customer_id, action="withdraw", now=now
        )
    profiles_traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=subject.id,
        traits=traits if traits is not None else TRAITS, source="api", now=now,
    )  # fmt: skip
    return subject.id


def edited(policy: Policy, recipient: str, **fields: Any) -> Policy:
    """The policy with some fields of one recipient changed (``agreement.x`` for its agreement)."""
    data = policy.model_dump(mode="json")
    target = data["recipients"][recipient]
    for key, value in fields.items():
        if key.startswith("agreement."):
            target["agreement"][key.split(".", 1)[1]] = value
        else:
            target[key] = value
    return Policy.model_validate(data)
