"""Retention (TH-RET-01, PDPA s.37(3)): purge what no purpose may keep any more; keep a report.

Cut-offs come from the policy:

- events: per category, the longest ``retention_days`` among the purposes that declare the
  category (so purchases stay 5 years under ``accounting_records``, a legal obligation), counted
  from ``occurred_at``. Purposes that do not collect (``collects: false``, e.g. ``rights_requests``:
  they only use data held for others) do not extend retention. A category no purpose declares has
  no reason to be kept (TH-PUR-01): its events all go. That is the policy-wide upper bound; with
  the keyring, events are then purged per subject past the longest retention of the purposes
  that apply to *that* subject now (``retention_subject``: a withdrawal shortens retention).
- decisions: the longest retention among the purposes decisions are made for (placements).
- verification codes a day after they expired; outbox messages after ``outbox_days``; legal holds
  whose ``hold_until`` has passed; closed rights requests after the ``rights_requests`` purpose's
  retention.
- consent records are kept as proof of consent (TH-CON-04, GDPR Art. 7(1)); the report says so.

Each domain purges its own rows (``events.retention``, ``personalize.retention``; consent records
are only counted, ``consent.history.count_records``); this module sets the cut-offs and keeps the
report. ``run_in`` works in the caller's transaction (``run`` in one of its own, for the CLI) and
stores its report in ``retention_run`` (a dry run too, marked as such, having changed nothing
else).
``start_scheduler`` runs it periodically from a daemon thread as one unit of the server's writer;
the server starts it in its lifespan and stops it on shutdown.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from rujai.consent import history as consent_history
from rujai.errors import AppError
from rujai.events import retention as events_retention
from rujai.kit.crypto import Keyring
from rujai.kit.purge import count_or_delete
from rujai.kit.time import utcnow
from rujai.personalize import retention as decisions_retention
from rujai.policy.schemas import Policy
from rujai.rights import retention_subject
from rujai.rights.models import (
    LegalHold,
    OutboxMessage,
    RetentionRun,
    RightsRequest,
    VerificationCode,
)
from rujai.rights.schemas import RetentionItem, RetentionReport
from rujai.writer import session_scope

logger = logging.getLogger(__name__)

OUTBOX_RETENTION_DAYS = 90
CODE_GRACE = timedelta(days=1)
NO_PURPOSE = "no purpose declares this category (TH-PUR-01)"


def run(
    session_factory: sessionmaker[Session],
    *,
    policy: Policy,
    now: datetime,
    dry_run: bool,
    outbox_days: int = OUTBOX_RETENTION_DAYS,
    actor: str = "system:retention",
    keyring: Keyring | None = None,
) -> RetentionReport:
    """Purge (or, dry, count) in a transaction of its own (the CLI); see ``run_in``."""
    with session_scope(session_factory) as session:
        return run_in(
            session, policy=policy, now=now, dry_run=dry_run, outbox_days=outbox_days,
            actor=actor, keyring=keyring,
        )  # fmt: skip


def run_in(
    session: Session,
    *,
    policy: Policy,
    now: datetime,
    dry_run: bool,
    outbox_days: int = OUTBOX_RETENTION_DAYS,
    actor: str = "system:retention",
    keyring: Keyring | None = None,
) -> RetentionReport:
    """Purge (or, dry, count) what is past retention; store and return the report (TH-RET-01).

    With the ``keyring`` (to read the subjects' consent facts) events are also purged per
    subject: past the longest retention of the purposes that apply to that subject now.
    """
    started = time.perf_counter()
    items = [
        *_event_items(session, policy, now, dry_run),
        *_subject_items(session, keyring, policy, now, dry_run),
        _decision_item(session, policy, now, dry_run),
        _purge(session, VerificationCode, "verification_code", now - CODE_GRACE,
               "one day after the code expired", dry_run, VerificationCode.expires_at),
        _purge(session, OutboxMessage, "outbox_message", now - timedelta(days=outbox_days),
               f"{outbox_days} days after the message", dry_run, OutboxMessage.created_at),
        _legal_hold_item(session, now, dry_run),
        _request_item(session, policy, now, dry_run),
    ]  # fmt: skip
    report = RetentionReport(
        id=uuid.uuid4(), started_at=now,
        finished_at=now + timedelta(seconds=time.perf_counter() - started),
        is_dry_run=dry_run, policy_version=policy.version, items=items,
        kept=[_consent_kept(session)],
    )  # fmt: skip
    _store(session, report, actor)
    return report


def category_retention(policy: Policy) -> dict[str, tuple[int, str]]:
    """Return, per category, the longest retention in days and the purpose that sets it."""
    longest: dict[str, tuple[int, str]] = {}
    for pid, purpose in policy.purposes.items():
        if not bool(getattr(purpose, "collects", True)):
            continue  # uses data held for other purposes; no reason to keep it longer
        for category in purpose.categories:
            if category not in longest or purpose.retention_days > longest[category][0]:
                longest[category] = (purpose.retention_days, pid)
    return longest


def _event_items(
    session: Session, policy: Policy, now: datetime, dry_run: bool
) -> list[RetentionItem]:
    longest = category_retention(policy)
    stored = events_retention.stored_categories(session)
    declared = {event_type.category for event_type in policy.event_types.values()}
    items = []
    for category in sorted(stored | declared):
        days, pid = longest.get(category, (0, ""))
        basis = f"{pid} ({days} days)" if pid else NO_PURPOSE
        cut_off = now - timedelta(days=days)
        count = events_retention.purge_older_than(
            session, category=category, cut_off=cut_off, dry_run=dry_run
        )
        items.append(
            RetentionItem(what=f"event:{category}", cut_off=cut_off, basis=basis, count=count)
        )
    return items


def _subject_items(
    session: Session, keyring: Keyring | None, policy: Policy, now: datetime, dry_run: bool
) -> list[RetentionItem]:
    if keyring is None:
        return []
    return retention_subject.purge_items(
        session, keyring=keyring, policy=policy, longest=category_retention(policy), now=now,
        dry_run=dry_run,
    )  # fmt: skip


def _decision_item(session: Session, policy: Policy, now: datetime, dry_run: bool) -> RetentionItem:
    purposes = {p.purpose for p in policy.placements.values()} & set(policy.purposes)
    if not purposes:
        return RetentionItem(what="decision", cut_off=None, basis="no placements", count=0)
    days, pid = max((policy.purposes[p].retention_days, p) for p in purposes)
    cut_off = now - timedelta(days=days)
    count = decisions_retention.purge_decisions(session, cut_off=cut_off, dry_run=dry_run)
    basis = f"{pid} ({days} days)"
    return RetentionItem(what="decision", cut_off=cut_off, basis=basis, count=count)


def _legal_hold_item(session: Session, now: datetime, dry_run: bool) -> RetentionItem:
    count = count_or_delete(session, LegalHold, LegalHold.hold_until < now.date(), dry_run=dry_run)
    cut_off = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return RetentionItem(
        what="legal_hold", cut_off=cut_off, basis="the hold period ended", count=count
    )


def _request_item(session: Session, policy: Policy, now: datetime, dry_run: bool) -> RetentionItem:
    purpose = policy.purposes.get("rights_requests")
    if purpose is None:
        return RetentionItem(what="rights_request", cut_off=None, basis="kept", count=0)
    cut_off = now - timedelta(days=purpose.retention_days)
    closed = RightsRequest.status.in_(["completed", "refused"])
    return _purge(session, RightsRequest, "rights_request", cut_off,
                  f"rights_requests ({purpose.retention_days} days after closing)", dry_run,
                  RightsRequest.completed_at, closed)  # fmt: skip


def _purge(
    session: Session,
    model: Any,
    what: str,
    cut_off: datetime,
    basis: str,
    dry_run: bool,
    column: Any,
    *where: Any,
) -> RetentionItem:
    count = count_or_delete(session, model, column < cut_off, *where, dry_run=dry_run)
    return RetentionItem(what=what, cut_off=cut_off, basis=basis, count=count)


def _consent_kept(session: Session) -> RetentionItem:
    count = consent_history.count_records(session)
    basis = "kept as proof of consent and withdrawal (TH-CON-04, GDPR Art. 7(1))"
    return RetentionItem(what="consent_record", cut_off=None, basis=basis, count=count)


def _store(session: Session, report: RetentionReport, actor: str) -> None:
    session.add(
        RetentionRun(
            id=report.id,
            started_at=report.started_at,
            finished_at=report.finished_at,
            is_dry_run=report.is_dry_run,
            report=report.model_dump(mode="json"),
        )
    )
    session.flush()
    audit_service.record(
        session,
        actor=actor,
        action="retention.run",
        now=report.started_at,
        outcome="dry_run" if report.is_dry_run else "purged",
        detail={"run_id": str(report.id), "rows": report.total, "dry_run": report.is_dry_run},
    )


def list_runs(session: Session, *, limit: int = 20) -> list[RetentionReport]:
    """Return the latest retention reports, newest first (kept purge reports, TH-RET-01)."""
    rows = session.scalars(
        select(RetentionRun).order_by(RetentionRun.started_at.desc()).limit(limit)
    )
    return [RetentionReport.model_validate(row.report) for row in rows]


# --- the schedule inside the server ---------------------------------------------------------------


class RetentionScheduler:
    """Runs retention every ``interval_seconds`` in a daemon thread until ``stop``."""

    def __init__(
        self,
        write: Callable[[Callable[[Session], RetentionReport]], RetentionReport],
        policy: Callable[[], Policy],
        *,
        interval_seconds: float,
        initial_delay_seconds: float,
        clock: Callable[[], datetime] = utcnow,
        keyring: Keyring | None = None,
    ) -> None:
        self._write, self._policy, self._clock = write, policy, clock
        self._keyring = keyring
        self._interval, self._delay = interval_seconds, initial_delay_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rujai-retention", daemon=True)
        self.runs = 0
        self.last_report: RetentionReport | None = None

    def start(self) -> RetentionScheduler:
        """Start the thread; return self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for a run in progress to finish."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive()

    def run_once(self) -> RetentionReport | None:
        """Run retention now; a failure is logged (no personal data) and the schedule goes on."""
        work = partial(
            run_in, policy=self._policy(), now=self._clock(), dry_run=False, keyring=self._keyring
        )
        try:
            report = self._write(work)
        except (SQLAlchemyError, AppError, OSError):
            logger.exception("scheduled retention run failed; retrying at the next interval")
            return None
        self.runs += 1
        self.last_report = report
        return report

    def _loop(self) -> None:
        if self._stopped.wait(self._delay):
            return
        while True:
            self.run_once()
            if self._stopped.wait(self._interval):
                return


def start_scheduler(
    app_state: Any, interval_hours: float, *, initial_delay_seconds: float = 60.0
) -> RetentionScheduler:
    """Start periodic retention through ``app_state.writer`` with ``app_state.policy``."""
    if interval_hours <= 0:
        raise ValueError(
            "interval_hours must be positive; do not start the scheduler to turn it off"
        )
    return RetentionScheduler(
        app_state.writer.run_sync,
        lambda: cast(Policy, app_state.policy),
        interval_seconds=interval_hours * 3600,
        initial_delay_seconds=initial_delay_seconds,
        keyring=getattr(app_state, "keyring", None),
    ).start()
