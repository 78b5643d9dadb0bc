"""Errors of the events domain. A dropped event is a result, not an error; these are for bad calls.

Invalid (422)
└── BatchTooLarge        more events than ``api.max_batch_events`` (field ``events``)
Conflict (409)
└── EventsSealedAway     a subject's data key is destroyed, its events cannot be opened
"""

from __future__ import annotations

from rujai.errors import Conflict, Invalid


class BatchTooLarge(Invalid):
    """A batch carries more events than the server accepts in one call."""


class EventsSealedAway(Conflict):
    """The subject was erased (crypto-shredded): its events can no longer be opened or moved."""
