"""Who is signed in to the privacy center: the subject's UUID in the session, nothing else."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from rujai.db import SessionDep
from rujai.profiles import service as profiles_service
from rujai.profiles.errors import SubjectNotFound
from rujai.web.security import SignInRequired, end_session, get_web_session

SIGN_IN_URL = "/privacy/"
SUBJECT_KEY = "subject"


def signed_in_subject(request: Request, session: SessionDep) -> uuid.UUID:
    """Return the signed-in subject's id; send everyone else to the sign-in page."""
    raw = get_web_session(request).get(SUBJECT_KEY)
    try:
        subject_id = uuid.UUID(raw) if raw else None
        if subject_id is not None:
            profiles_service.get(session, subject_id=subject_id)
    except (ValueError, SubjectNotFound):
        end_session(request)  # erased or unknown: the old session is worth nothing
        subject_id = None
    if subject_id is None:
        raise SignInRequired("sign in to the privacy center first", sign_in_url=SIGN_IN_URL)
    return subject_id


SubjectDep = Annotated[uuid.UUID, Depends(signed_in_subject)]
