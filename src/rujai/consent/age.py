"""Age before consent: a profiling or marketing grant needs the age (TH-MIN-01, EU-03).

rujai never assumes that someone whose age it does not know is an adult. A grant for a purpose
whose consent depends on age (profiling or direct marketing, ``rules.age_matters``) from a subject
with neither a birth date nor a declared age band is refused with the problem ``age_required``
(422), which names the field to ask for (``age_band`` where the policy declares that trait, else
``birth_date``) and lists what is accepted; the same request may carry the age, which is then
stored first, through the trait gate, for the policy's age-checking purpose (a legal obligation,
PDPA s.20), self-declared (source ``subject``) when the subject acts.

Why refuse rather than record a pending grant: the moment of consent is when the person is there
to answer; a grant kept "pending an age" that never comes looks given to the person and does
nothing, and the website banner (issue 14) can ask for the band on this very answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rujai.consent.errors import AgeRequired
from rujai.consent.schemas import ConsentCreate
from rujai.errors import Invalid
from rujai.kit.crypto import Keyring
from rujai.policy import rules
from rujai.policy.schemas import Policy, Purpose
from rujai.profiles import service as profiles_service, traits as profiles_traits
from rujai.profiles.schemas import AGE_BANDS

AGE_FIELDS = ("birth_date", "age_band")


def learn(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    change: ConsentCreate,
    now: datetime,
) -> None:
    """Store the birth date or age band sent with a change, through the trait gate (TH-MIN-01)."""
    values: dict[str, Any] = {}
    if change.birth_date is not None:
        values["birth_date"] = change.birth_date.isoformat()
    if change.age_band is not None:
        values["age_band"] = change.age_band
    if not values:
        return
    source = "staff" if change.actor == "staff" else "subject"  # self-declared, recorded as such
    try:
        profiles_traits.set_traits(
            session, keyring=keyring, policy=policy, subject_id=subject_id, traits=values,
            source=source, now=now,
        )  # fmt: skip
    except Invalid as e:  # the same problem, named after the consent's own field
        field = (e.field or "").removeprefix("traits.") or None
        raise Invalid(e.message.removeprefix("traits."), field=field) from e


def require(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    purpose: Purpose,
    subject_id: uuid.UUID,
    change: ConsentCreate,
    now: datetime,
) -> None:
    """Refuse a grant whose effect depends on an age nobody knows (422 ``age_required``)."""
    if change.action != "grant" or not rules.age_matters(purpose):
        return
    profile = profiles_service.facts(session, keyring=keyring, subject_id=subject_id, now=now)
    if profile.age is not None or profile.is_of_age:
        return
    accepted = [name for name in AGE_FIELDS if name in policy.traits] or ["birth_date"]
    raise AgeRequired(
        "this purpose uses profiling or direct marketing: the subject's age must be known "
        f"first; send {' or '.join(accepted)} with the grant (TH-MIN-01, EU-03)",
        field=accepted[-1],
        accepts=accepted,
        age_bands=list(AGE_BANDS) if "age_band" in accepted else [],
    )
