"""How the write path refuses or fails a unit (``rujai.writer``): each a 503 with ``Retry-After``.

``Overloaded`` (the queue is full) is the one deliberate 5xx; ``WriteFailed`` means nothing of the
unit was stored; ``WriterStopped`` means the writer is not running (starting or shutting down).
"""

from __future__ import annotations

from rujai.errors import AppError

RETRY_AFTER_S = 1


class Overloaded(AppError):
    """The write queue is full: try again shortly (503 with ``Retry-After``)."""

    status = 503
    code = "overloaded"
    title = "Busy, try again shortly"

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=RETRY_AFTER_S)


class WriteFailed(AppError):
    """The batch holding this write could not be committed; nothing of it was stored (503)."""

    status = 503
    code = "write_failed"
    title = "Could not store the change"

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=RETRY_AFTER_S)


class WriterStopped(WriteFailed):
    """The writer is not running (the server is starting or shutting down)."""

    code = "writer_stopped"
