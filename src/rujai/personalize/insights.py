"""Per-subject insights with lineage: RFM, VIP tier, churn, category affinity, last visit.

``refresh_all`` rewrites every subject's insights chunk by chunk (a transaction each) with the
models stored so far, refits BG/NBD (weeks) and the RFM cut points on the purchases it read (kept
in ``insight_model``) and rescores the model-based insights it wrote that no withdrawal deleted
meanwhile; audited once. ``refresh_subjects`` recomputes a few with the stored models (after each
ingest batch). ``read_for_use`` gives a purpose only insights whose lineage it may use;
``export_subject`` lists all with their sources (TH-DSR-01). Removed interests stay removed
(``suppressed_interests``, TH-DSR-06). When permissions narrow (TH-CON-03, TH-DSR-03, TH-DSR-05)
the ``subject_narrowed`` listener drops derived insights in the same transaction.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, bindparam, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from rujai.errors import Invalid
from rujai.kit import signals
from rujai.kit.crypto import Keyring
from rujai.personalize.insights_compute import (
    MODELS,
    SUPPRESSED,
    History,
    Population,
    fit_population,
    insight_rows,
    model_rows,
    permits_for,
    read_histories,
    scope_of,
)
from rujai.personalize.insights_population import load_population, store_population
from rujai.personalize.models import Insight
from rujai.personalize.schemas import InsightRead, RefreshSummary
from rujai.policy import service as policy_service
from rujai.policy.schemas import Policy
from rujai.policy.service import Permit
from rujai.profiles import bulk as profiles_bulk, service as profiles_service
from rujai.profiles.errors import SubjectNotFound
from rujai.writer import session_scope

CHUNK = 500  # subjects per transaction; also bounds every IN (...) list
MAX_INTEREST_LENGTH = 64
Progress = Callable[[int, int], None]

AFFINITY = "category_affinity"
RECENCY = "recency_days"
REFRESH = "insights.refresh"
_TABLE = cast(Table, Insight.__table__)


# --- refreshing ----------------------------------------------------------------------------------


def refresh_all(
    session_factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    policy: Policy,
    now: datetime,
    progress: Progress | None = None,
    actor: str = "system",
) -> RefreshSummary:
    """Recompute every subject's insights and the population models; audit the run once."""
    started, run = time.perf_counter(), _Refresh(keyring, policy, now, actor)
    with session_scope(session_factory) as session:
        ids = profiles_bulk.subject_ids(session)
        previous = load_population(session)
    report = progress or (lambda _done, _total: None)
    buyers, subjects, rows = _first_pass(session_factory, run, ids, previous, report)
    population = fit_population(buyers.values(), now)
    rows += _second_pass(session_factory, ids, buyers, population, now, report)
    summary = RefreshSummary(
        subjects=len(ids), with_insights=subjects, without_insights=len(ids) - subjects,
        insights=rows, purchasers=population.rfm_subjects,
        bgnbd_fitted=population.bgnbd is not None, seconds=round(time.perf_counter() - started, 3),
    )  # fmt: skip
    with session_scope(session_factory) as session:
        audit_service.record(session, actor=actor, action=REFRESH, now=now, outcome="recorded",
                             detail=summary.model_dump(exclude={"seconds"}))  # fmt: skip
    return summary


def _first_pass(
    factory: sessionmaker[Session],
    run: _Refresh,
    ids: list[uuid.UUID],
    previous: Population,
    report: Progress,
) -> tuple[dict[uuid.UUID, History], int, int]:
    """Rewrite every chunk; return the purchasers' histories, subjects with insights, rows."""
    buyers: dict[uuid.UUID, History] = {}
    subjects = rows = 0
    for done, chunk in _chunks(ids):
        with session_scope(factory) as session:
            histories, written = run.rewrite(session, chunk, previous)
        buyers.update((sid, h) for sid, h in histories.items() if h.orders)
        subjects, rows = subjects + len({r["subject_id"] for r in written}), rows + len(written)
        report(done, 2 * len(ids))
    return buyers, subjects, rows


def _second_pass(
    factory: sessionmaker[Session],
    ids: list[uuid.UUID],
    buyers: dict[uuid.UUID, History],
    population: Population,
    now: datetime,
    report: Progress,
) -> int:
    """Store the new models and rescore the model-based insights; return the change in rows."""
    with session_scope(factory) as session:
        store_population(session, population, now)
    change = 0
    for done, chunk in _chunks(ids):
        group = [buyers[sid] for sid in chunk if sid in buyers]
        if group:
            with session_scope(factory) as session:
                change += _rescore(session, group, population, now)
        report(len(ids) + done, 2 * len(ids))
    return change


def _rescore(session: Session, group: list[History], population: Population, now: datetime) -> int:
    """Replace the model-based rows this run wrote (``computed_at == now``) that are still there."""
    ids = [h.subject_id for h in group]
    mine = (Insight.name == RECENCY, Insight.computed_at == now)  # not a later refresh_subjects
    written = set(
        session.scalars(select(Insight.subject_id).where(Insight.subject_id.in_(ids), *mine))
    )
    removed = _delete(session, Insight.subject_id.in_(list(written)), Insight.name.in_(MODELS))
    rows = model_rows([h for h in group if h.subject_id in written], population, now)
    _insert(session, rows)
    return len(rows) - removed


def refresh_subjects(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_ids: Collection[uuid.UUID],
    now: datetime,
    actor: str = "system",
) -> int:
    """Recompute some subjects' insights with the stored population models; return rows written.

    Cheap enough for every ingest batch: a constant number of queries per 500 subjects. What
    may be read is asked of the door (``authorize_many``, audited once per purpose and chunk).
    """
    population, run = load_population(session), _Refresh(keyring, policy, now, actor)
    chunks = _chunks(sorted(set(subject_ids)))
    return sum(len(run.rewrite(session, chunk, population)[1]) for _, chunk in chunks)


def refresh_customer(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    now: datetime,
    actor: str,
) -> int:
    """Recompute one customer's insights on an operator's request; audited. Return how many."""
    subject_id = _customer(session, keyring, customer_id)
    count = refresh_subjects(
        session, keyring=keyring, policy=policy, subject_ids={subject_id}, now=now, actor=actor
    )
    audit_service.record(session, actor=actor, action=REFRESH, now=now, subject_id=subject_id,
                         outcome="recorded", detail={"insights": count})  # fmt: skip
    return count


class _Refresh:
    """Rewrites chunks of subjects under one policy, key ring and time."""

    def __init__(self, keyring: Keyring, policy: Policy, now: datetime, actor: str) -> None:
        self.keyring, self.policy, self.now, self.actor = keyring, policy, now, actor
        self.scope = scope_of(policy)

    def rewrite(
        self, session: Session, chunk: Sequence[uuid.UUID], population: Population
    ) -> tuple[dict[uuid.UUID, History], list[dict[str, Any]]]:
        """Replace the chunk's derived insights; return the histories read and the rows."""
        permits = permits_for(
            session, keyring=self.keyring, policy=self.policy, subject_ids=chunk, now=self.now,
            scope=self.scope, actor=self.actor,
        )  # fmt: skip
        histories = read_histories(
            session, keyring=self.keyring, permits=permits, scope=self.scope, now=self.now
        )
        rows = insight_rows(
            histories.values(), population=population, policy=self.policy,
            suppressed=_suppressed(session, chunk), now=self.now,
        )  # fmt: skip
        _delete_derived(session, chunk)
        _insert(session, rows)
        return histories, rows


def _chunks(ids: Sequence[uuid.UUID]) -> Iterator[tuple[int, Sequence[uuid.UUID]]]:
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        yield start + len(chunk), chunk


def _suppressed(session: Session, chunk: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    where = (Insight.subject_id.in_(list(chunk)), Insight.name == SUPPRESSED)
    rows = session.execute(select(Insight.subject_id, Insight.value).where(*where))
    return {row.subject_id: list(row.value or []) for row in rows}


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert rows with one executemany at the driver, each distinct value bound once by its
    column's type: over 2x faster than ``insert(Insight)`` on SQLite (parameter handling)."""
    if not rows:
        return
    connection = session.connection()
    dialect, names = connection.dialect, [c.name for c in _TABLE.columns]
    columns = [
        _bound(column, dialect, [row[column.name] for row in rows]) for column in _TABLE.columns
    ]
    params = list(zip(*columns, strict=True))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO insight ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"  # noqa: S608 - names from the table metadata, values bound
    connection.exec_driver_sql(sql, params)


def _bound(column: Any, dialect: Any, values: list[Any]) -> list[Any]:
    """Return ``values`` as the driver takes them for ``column``."""
    bind = column.type.dialect_impl(dialect).bind_processor(dialect)
    if bind is None:
        return values
    if column.name == "value":
        return [bind(v) for v in values]
    memo = {v: bind(v) for v in set(values)}  # subject, lineage, time: few distinct
    return [memo[v] for v in values]


def _delete_derived(session: Session, subject_ids: Sequence[uuid.UUID]) -> int:
    """Delete the subjects' derived insights, keeping their removed interests (TH-DSR-06)."""
    return _delete(session, Insight.subject_id.in_(list(subject_ids)), Insight.name != SUPPRESSED)


# --- reading, export, erasure, rectification -----------------------------------------------------


_FOR_USE = (  # prebuilt: read_for_use runs on every decision
    select(_TABLE)
    .where(_TABLE.c.subject_id == bindparam("subject_id"), _TABLE.c.name != SUPPRESSED)
    .order_by(_TABLE.c.name)
)


def read_for_use(session: Session, *, permit: Permit) -> dict[str, InsightRead]:
    """Return the subject's insights whose lineage the permit covers, by name."""
    subject_id = permit.subject_id
    if subject_id is None:
        return {}
    allowed = {c for c in permit.verdict.categories if permit.covers(subject_id, c)}
    rows = session.execute(_FOR_USE, {"subject_id": subject_id})
    reads = (InsightRead.model_construct(**row._asdict()) for row in rows)  # stored: valid
    return {read.name: read for read in reads if set(read.categories) <= allowed}


def export_subject(session: Session, *, permit: Permit, subject_id: uuid.UUID) -> list[InsightRead]:
    """Return every insight of the subject with its sources (access requests, TH-DSR-01)."""
    permit.require_subject(subject_id)
    return _reads(session, Insight.subject_id == subject_id)


def show_customer(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    purpose: str,
    now: datetime,
    actor: str,
) -> list[InsightRead]:
    """Return the insights ``purpose`` may use of a customer, for an operator, through the door.

    The operator names why they look; ``authorize`` refuses a purpose the customer's consent does
    not allow (PolicyDenied) and audits the check; the viewing itself is audited too.
    """
    subject_id = _customer(session, keyring, customer_id)
    declared = policy.purposes.get(purpose)
    permit = policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=purpose,
        categories=declared.categories if declared else [], now=now, actor=actor,
    )  # fmt: skip
    rows = sorted(read_for_use(session, permit=permit).values(), key=lambda r: r.name)
    audit_service.record(
        session, actor=actor, action="insights.viewed", now=now, subject_id=subject_id,
        outcome="shown", detail={"insights": len(rows)},
    )  # fmt: skip
    return rows


def erase_subject(session: Session, *, subject_id: uuid.UUID) -> int:
    """Delete every insight of the subject, removed interests included (TH-DSR-04)."""
    return _delete(session, Insight.subject_id == subject_id)


def remove_interest(
    session: Session, *, subject_id: uuid.UUID, category: str, now: datetime
) -> list[str]:
    """Remove an inferred interest and keep it out of later refreshes (TH-DSR-06).

    Return the interests now kept out (the subject's own words back, no other data). The caller
    (a rectification request) audits the change.
    """
    value = category.strip()
    if not 1 <= len(value) <= MAX_INTEREST_LENGTH:
        raise Invalid(f"category must be 1 to {MAX_INTEREST_LENGTH} characters", field="category")
    profiles_service.get(session, subject_id=subject_id)  # SubjectNotFound for an unknown id
    suppressed = sorted({*_suppressed(session, [subject_id]).get(subject_id, []), value})
    _put(session, InsightRead(subject_id=subject_id, name=SUPPRESSED, value=suppressed,
                              categories=[], computed_at=now))  # fmt: skip
    for affinity in _reads(session, Insight.subject_id == subject_id, Insight.name == AFFINITY):
        kept = [entry for entry in affinity.value if entry.get("category") != value]
        _put(session, affinity.model_copy(update={"value": kept}) if kept else None, affinity)
    return suppressed


def _reads(session: Session, *where: ColumnElement[bool]) -> list[InsightRead]:
    rows = session.execute(select(Insight.__table__).where(*where).order_by(Insight.name))
    return [InsightRead.model_validate(row._asdict()) for row in rows]


def _put(session: Session, row: InsightRead | None, old: InsightRead | None = None) -> None:
    """Replace ``old`` (or the row ``row`` replaces) by ``row``; ``None`` only deletes."""
    gone = old or row
    if gone is not None:
        _delete(session, Insight.subject_id == gone.subject_id, Insight.name == gone.name)
    if row is not None:
        session.execute(insert(Insight).values(**row.model_dump()))


def _delete(session: Session, *where: ColumnElement[bool]) -> int:
    statement = delete(Insight).where(*where).execution_options(synchronize_session=False)
    return cast("CursorResult[Any]", session.execute(statement)).rowcount


def _customer(session: Session, keyring: Keyring, customer_id: str) -> uuid.UUID:
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    if subject_id is None:
        raise SubjectNotFound("no subject with this customer id")
    return subject_id


# --- narrowing -----------------------------------------------------------------------------------


@signals.on_subject_narrowed
def _on_subject_narrowed(
    session: Session, *, subject_id: uuid.UUID, reason: str, **_context: Any
) -> None:
    """Withdrawal, objection, restriction (TH-CON-03, TH-DSR-03, TH-DSR-05): no stale insights.

    The derived insights go at once, in the narrowing transaction; the next ingest or refresh
    recomputes whatever the narrower permissions still allow. Erasure removes everything.
    """
    if reason == "erased":
        erase_subject(session, subject_id=subject_id)
    else:
        _delete_derived(session, [subject_id])
