"""Who is signed in to the privacy center: an active session record of the subject, or nobody."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from rujai.db import SessionDep
from rujai.profiles import service as profiles_service
from rujai.profiles.errors import SubjectNotFound
from rujai.web import signin
from rujai.web.security import SignInRequired, end_session

SIGN_IN_URL = "/privacy/"


def find_subject(request: Request, session: SessionDep) -> uuid.UUID | None:
    """Return the signed-in subject's id, or None when nobody (or no such subject) is."""
    found = signin.current(request, session, kind="subject")
    subject_id = found.subject_id if found is not None else None
    if subject_id is None:
        return None
    try:
        profiles_service.get(session, subject_id=subject_id)
    except SubjectNotFound:
        end_session(request)  # erased or unknown: the old session is worth nothing
        return None
    return subject_id


def signed_in_subject(subject_id: Annotated[uuid.UUID | None, Depends(find_subject)]) -> uuid.UUID:
    """Return the signed-in subject's id; send everyone else to the sign-in page."""
    if subject_id is None:
        raise SignInRequired("sign in to the privacy center first", sign_in_url=SIGN_IN_URL)
    return subject_id


MaybeSubjectDep = Annotated[uuid.UUID | None, Depends(find_subject)]
SubjectDep = Annotated[uuid.UUID, Depends(signed_in_subject)]
