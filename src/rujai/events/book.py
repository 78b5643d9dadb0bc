"""What happened to each event of a batch, by index: the ingest's ledger and its summary."""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from rujai.events.schemas import EventResult, IngestSummary


class Book:
    """What happened to each event of a batch, by index."""

    def __init__(self, size: int) -> None:
        self.message_ids: list[str] = [""] * size
        self.types: list[str] = [""] * size
        self.status: list[str] = ["dropped"] * size
        self.reason: list[str | None] = [None] * size
        self.detail: list[str | None] = [None] * size
        self.dropped: list[list[str]] = [[] for _ in range(size)]

    def drop(self, index: int, reason: str, detail: str | None = None) -> None:
        self.status[index], self.reason[index], self.detail[index] = "dropped", reason, detail

    def summary(self, want_results: bool) -> IngestSummary:
        statuses = Counter(self.status)
        reasons = Counter(
            r for s, r in zip(self.status, self.reason, strict=True) if s == "dropped" and r
        )
        results = None
        if want_results:
            results = [
                EventResult(
                    index=i,
                    message_id=self.message_ids[i],
                    status=cast(Any, self.status[i]),
                    reason=self.reason[i],
                    detail=self.detail[i],
                    dropped_properties=self.dropped[i],
                )
                for i in range(len(self.status))
            ]
        return IngestSummary(
            accepted=statuses["accepted"],
            duplicates=statuses["duplicate"],
            dropped_by_reason=dict(sorted(reasons.items())),
            undeclared_properties=sum(
                len(names)
                for status, names in zip(self.status, self.dropped, strict=True)
                if status != "dropped"
            ),  # TH-MIN-02: dropped and counted, by number only (a name may be personal data)
            results=results,
        )
