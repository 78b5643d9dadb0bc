"""Errors of the rights domain. Messages name requests and subjects by internal UUID only.

RequestNotFound (404)
RequestStateConflict (409)   an illegal life-cycle step; ``field`` is ``status`` (or the field)
RefusalCodeRequired (422)    a refusal without a valid reason code; ``field`` is refusal_code
CodeRejected (422)           a wrong, expired or exhausted one-time code; ``field`` is code
  WrongCode (422)            a wrong code whose attempt was counted (the count stays committed)
TooManyCodes (409)           too many codes asked for in an hour
ExportNotAvailable (409)     no export to deliver for this request
"""

from __future__ import annotations

from rujai.db import KeepsWrites
from rujai.errors import Conflict, Invalid, NotFound


class RequestNotFound(NotFound):
    """No rights request with this id."""


class RequestStateConflict(Conflict):
    """The request's status does not allow this step (TH-DSR-00)."""


class RefusalCodeRequired(Invalid):
    """A refusal needs a reason code from the fixed list (TH-DSR-00, s.39(7))."""


class CodeRejected(Invalid):
    """A one-time code is wrong, expired or has no attempts left."""


class WrongCode(CodeRejected, KeepsWrites):
    """A wrong code: its attempt was claimed before the comparison and stays counted."""


class TooManyCodes(Conflict):
    """Too many codes were sent for one request or sign-in within an hour."""


class ExportNotAvailable(Conflict):
    """The request is not a completed access or portability request, or the subject is gone."""
