"""Errors of the incidents domain. Messages name incidents by id or reference, never a person.

IncidentNotFound (404)
IncidentStateConflict (409)   a step the incident's status does not allow; ``field`` is ``status``
UnknownCategory (422)         a category the policy does not declare; ``field`` names it
"""

from __future__ import annotations

from rujai.errors import Conflict, Invalid, NotFound


class IncidentNotFound(NotFound):
    """No incident with this id or reference."""


class IncidentStateConflict(Conflict):
    """The incident's status does not allow this step (TH-BRE-01 life cycle)."""


class UnknownCategory(Invalid):
    """A data category that the policy does not declare."""
