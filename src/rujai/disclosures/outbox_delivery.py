"""Deliver processor notices to the webhook each processor declared (TH-PRC-01).

A pass reads the due notices (not yet sent, not acknowledged, past their next try) on one short
session, POSTs each as JSON to its recipient's ``notify.webhook`` outside any transaction (the
writer never waits on a processor), then records every outcome in one write. The body is the
recipient's pseudonym (``subject_ref``), the kind, the purpose, the notice id and times, nothing
else; ``X-Rujai-Signature: sha256=<hex>`` is the HMAC-SHA256 of that body in canonical JSON under
a key shared with that recipient only (``Keyring.recipient_key``, printed by ``rujai processors
key RECIPIENT``), so the processor can check it came from the controller, and cannot forge consent
receipts or another recipient's notices with it.
A failure (an answer other than 2xx, a timeout, a refused connection) counts an attempt and moves
the next try back exponentially (one minute, doubling, at most six hours). Delivery is at least
once: a processor may get a notice twice and answers with the same acknowledgement.

No other network use: no redirect is followed and no proxy from the environment is used, so the
only host contacted is the one the policy names.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from rujai.disclosures.models import ProcessorNotice
from rujai.disclosures.outbox_schemas import DeliveryReport
from rujai.errors import AppError
from rujai.kit.crypto import Keyring, canonical_json
from rujai.kit.time import as_utc, utcnow
from rujai.policy.schemas import Policy
from rujai.writer import session_scope

logger = logging.getLogger(__name__)
T = TypeVar("T")
Run = Callable[[Callable[[Session], T]], T]

BACKOFF_FIRST_S = 60
BACKOFF_MAX_S = 6 * 3600
BATCH = 100
SIGNATURE_HEADER = "X-Rujai-Signature"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notice ready to POST: where, the body, its signature."""

    notice_id: uuid.UUID
    url: str
    body: bytes
    signature: str


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try after ``attempts`` failed ones (exponential, capped)."""
    exponent = min(max(attempts, 1) - 1, 20)
    return timedelta(seconds=min(BACKOFF_FIRST_S * 2**exponent, BACKOFF_MAX_S))


def payload(row: ProcessorNotice, *, now: datetime) -> dict[str, Any]:
    """The JSON a processor receives: its own pseudonym of the subject and the change, no more."""
    return {
        "notice_id": str(row.id), "recipient": row.recipient, "subject_ref": row.subject_ref,
        "kind": row.kind, "purpose": row.purpose,
        "created_at": as_utc(row.created_at).isoformat(), "sent_at": now.isoformat(),
    }  # fmt: skip


def webhook_of(policy: Policy, recipient: str) -> str | None:
    """Return the webhook the policy declares for ``recipient``, if any."""
    declared = policy.recipients.get(recipient)
    notify = declared.notify if declared is not None else None
    return notify.webhook if notify is not None else None


def due(
    session: Session, *, policy: Policy, keyring: Keyring, now: datetime, limit: int = BATCH
) -> tuple[list[Outgoing], int]:
    """Return the notices to POST now, signed, and how many wait without a webhook."""
    query = (
        select(ProcessorNotice)
        .where(
            ProcessorNotice.sent_at.is_(None),
            ProcessorNotice.acknowledged_at.is_(None),
            or_(ProcessorNotice.next_attempt_at.is_(None), ProcessorNotice.next_attempt_at <= now),
        )
        .order_by(ProcessorNotice.created_at)
        .limit(limit)
    )
    outgoing: list[Outgoing] = []
    no_webhook = 0
    for row in session.scalars(query):
        url = webhook_of(policy, row.recipient)
        if url is None:
            no_webhook += 1
            continue
        body = payload(row, now=now)
        outgoing.append(
            Outgoing(row.id, url, canonical_json(body), keyring.sign_for(row.recipient, body))
        )
    return outgoing, no_webhook


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a redirect is a failure: only the declared host is contacted


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post(item: Outgoing, *, timeout: float) -> str | None:
    """POST one notice; return None when the processor answered 2xx, else a short error code."""
    request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked by the policy
        item.url, data=item.body, method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: f"sha256={item.signature}",
                 "X-Rujai-Notice": str(item.notice_id)},
    )  # fmt: skip
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as e:
        return f"http_{e.code}"
    except TimeoutError:
        return "timeout"
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None)
        return "timeout" if isinstance(reason, TimeoutError) else "unreachable"
    return None if 200 <= status < 300 else f"http_{status}"


def record(
    session: Session,
    *,
    outcomes: Sequence[tuple[uuid.UUID, str | None]],
    no_webhook: int,
    now: datetime,
    actor: str,
) -> DeliveryReport:
    """Store each outcome: sent, or one more attempt and the next try; audit counts and ids."""
    sent: list[uuid.UUID] = []
    failed: list[uuid.UUID] = []
    for notice_id, error in outcomes:
        row = session.get(ProcessorNotice, notice_id)
        if row is None or row.sent_at is not None or row.acknowledged_at is not None:
            continue  # another pass got there first (delivery is at least once)
        _apply(row, error, now)
        (sent if error is None else failed).append(notice_id)
    report = DeliveryReport(sent=sent, failed=failed, no_webhook=no_webhook)
    if sent or failed:
        audit_service.record(
            session, actor=actor, action="processor_notice.delivered", now=now,
            detail={"sent": [str(i) for i in sent], "failed": [str(i) for i in failed]},
        )  # fmt: skip
    return report


def _apply(row: ProcessorNotice, error: str | None, now: datetime) -> None:
    """Count the attempt; sent now, or the next try after the backoff."""
    row.attempts += 1
    row.last_error = error
    if error is None:
        row.sent_at, row.next_attempt_at = now, None
    else:
        row.next_attempt_at = now + backoff(row.attempts)


def deliver(
    read: Run[Any],
    write: Run[Any],
    *,
    policy: Policy,
    keyring: Keyring,
    now: datetime,
    timeout: float,
    actor: str = "system",
) -> DeliveryReport:
    """One pass: read what is due, POST each, record the outcomes in one write."""
    outgoing, no_webhook = read(partial(due, policy=policy, keyring=keyring, now=now))
    outcomes = [(item.notice_id, post(item, timeout=timeout)) for item in outgoing]
    work = partial(record, outcomes=outcomes, no_webhook=no_webhook, now=now, actor=actor)
    report: DeliveryReport = write(work)
    return report


class DeliveryScheduler:
    """A daemon thread that runs ``deliver`` every ``interval_seconds`` in the server."""

    def __init__(self, run_pass: Callable[[], DeliveryReport], *, interval_seconds: float) -> None:
        self._run_pass, self._interval = run_pass, interval_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rujai-processors", daemon=True)
        self.runs = 0

    def start(self) -> DeliveryScheduler:
        """Start the thread; return self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for a pass in progress to finish."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run_once(self) -> DeliveryReport | None:
        """Run one pass; a failure is logged by type (no personal data) and the schedule goes on."""
        try:
            report = self._run_pass()
        except (SQLAlchemyError, AppError, OSError) as e:
            logger.warning("processor notice delivery failed: %s", type(e).__name__)
            return None
        self.runs += 1
        return report

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            self.run_once()


def scoped(factory: sessionmaker[Session]) -> Run[Any]:
    """Run work in its own ``session_scope`` of ``factory`` (the CLI: the process is the writer)."""

    def run(work: Callable[[Session], T]) -> T:
        with session_scope(factory) as session:
            return work(session)

    return run


def start_delivery(app_state: Any, interval_seconds: float, timeout: float) -> DeliveryScheduler:
    """Start periodic delivery with the app's read sessions, writer, policy and keyring."""

    def run_pass() -> DeliveryReport:
        return deliver(
            scoped(app_state.session_factory), app_state.writer.run_sync,
            policy=app_state.policy, keyring=app_state.keyring, now=utcnow(), timeout=timeout,
        )  # fmt: skip

    return DeliveryScheduler(run_pass, interval_seconds=interval_seconds).start()
