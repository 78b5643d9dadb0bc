"""Per-subject insights with lineage: RFM, VIP tier, churn, category affinity, last visit.

``refresh_all`` recomputes every subject: it reads the permitted histories chunk by chunk, fits
BG/NBD (weekly units) and the RFM quintile cut points on them, stores those population parameters
in ``insight_model`` and writes the insights, one transaction per chunk, audited once.
``refresh_subjects`` recomputes a few subjects with the stored parameters (called after each
ingest batch, in its transaction). What may feed an insight is decided in ``insights_compute``.

Every insight row records the data categories it was computed from. ``read_for_use`` hands a
purpose only the insights whose lineage its verdict permits; ``export_subject`` lists them all with
their sources (TH-DSR-01). A subject's removed interests are kept as ``suppressed_interests`` with
an empty lineage and never come back on refresh (TH-DSR-06). When a subject's permissions narrow
(withdrawal TH-CON-03, objection TH-DSR-03, restriction TH-DSR-05) the ``subject_narrowed`` signal
deletes their derived insights in the same transaction, so no later decision reads stale ones.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from rujai.consent import service as consent_service
from rujai.db import session_scope
from rujai.errors import Invalid
from rujai.kit import signals
from rujai.kit.crypto import Keyring
from rujai.personalize import clv
from rujai.personalize.insights_compute import (
    SUPPRESSED,
    History,
    Population,
    fit_population,
    insight_rows,
    permitted_categories,
    read_histories,
    scope_of,
)
from rujai.personalize.models import Insight, InsightModel
from rujai.personalize.rfm import WEEK_DAYS
from rujai.personalize.schemas import InsightRead, RefreshSummary
from rujai.policy.schemas import Policy
from rujai.profiles import service as profiles_service
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.models import Subject

CHUNK = 500  # subjects per transaction; also bounds every IN (...) list
BGNBD = "bgnbd"
RFM = "rfm"
MAX_INTEREST_LENGTH = 64
Progress = Callable[[int, int], None]

AFFINITY = "category_affinity"


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
    started, run = time.perf_counter(), _Refresh(keyring, policy, now)
    with session_scope(session_factory) as session:
        ids = list(session.scalars(select(Subject.id).order_by(Subject.id)))
    report = progress or (lambda _done, _total: None)
    histories = _read_all(session_factory, run, ids, report)
    population = fit_population(histories.values(), now)
    with session_scope(session_factory) as session:
        _store_population(session, population, now)
    subjects, rows = _write_all(session_factory, run, ids, histories, population, report)
    summary = RefreshSummary(
        subjects=len(ids), with_insights=subjects, without_insights=len(ids) - subjects,
        insights=rows, purchasers=population.rfm_subjects,
        bgnbd_fitted=population.bgnbd is not None, seconds=round(time.perf_counter() - started, 3),
    )  # fmt: skip
    with session_scope(session_factory) as session:
        _audit(session, actor, now, summary.model_dump(exclude={"seconds"}))
    return summary


def _read_all(
    factory: sessionmaker[Session], run: _Refresh, ids: list[uuid.UUID], report: Progress
) -> dict[uuid.UUID, History]:
    """Read every permitted history, one transaction per chunk (first half of the progress)."""
    histories: dict[uuid.UUID, History] = {}
    for done, chunk in _chunks(ids):
        with session_scope(factory) as session:
            histories.update(run.read(session, chunk))
        report(done, 2 * len(ids))
    return histories


def _write_all(
    factory: sessionmaker[Session],
    run: _Refresh,
    ids: list[uuid.UUID],
    histories: dict[uuid.UUID, History],
    population: Population,
    report: Progress,
) -> tuple[int, int]:
    """Rewrite every chunk in its own transaction; return (subjects with insights, rows)."""
    subjects = rows = 0
    for done, chunk in _chunks(ids):
        with session_scope(factory) as session:
            added = run.rewrite(session, chunk, histories, population)
        subjects, rows = subjects + added[0], rows + added[1]
        report(len(ids) + done, 2 * len(ids))
    return subjects, rows


def refresh_subjects(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_ids: Collection[uuid.UUID],
    now: datetime,
) -> int:
    """Recompute some subjects' insights with the stored population models; return rows written.

    Cheap enough for every ingest batch: a constant number of queries per 500 subjects. Not
    audited: it runs inside the audited operation that changed the subjects' data.
    """
    population, run = load_population(session), _Refresh(keyring, policy, now)
    chunks = _chunks(sorted(set(subject_ids)))
    return sum(run.rewrite(session, chunk, {}, population)[1] for _, chunk in chunks)


def refresh_subject(
    session: Session, *, keyring: Keyring, policy: Policy, subject_id: uuid.UUID, now: datetime
) -> list[InsightRead]:
    """Recompute one subject's insights with the stored population models and return them."""
    refresh_subjects(session, keyring=keyring, policy=policy, subject_ids={subject_id}, now=now)
    return export_subject(session, subject_id=subject_id)


def refresh_customer(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    now: datetime,
    actor: str,
) -> list[InsightRead]:
    """Recompute one customer's insights on an operator's request; audited."""
    subject_id = _customer(session, keyring, customer_id)
    rows = refresh_subject(session, keyring=keyring, policy=policy, subject_id=subject_id, now=now)
    _audit(session, actor, now, {"subjects": 1, "insights": len(rows)}, subject_id)
    return rows


class _Refresh:
    """Reads and rewrites chunks of subjects under one policy, key ring and time."""

    def __init__(self, keyring: Keyring, policy: Policy, now: datetime) -> None:
        self.keyring, self.policy, self.now = keyring, policy, now
        self.scope = scope_of(policy)

    def permitted(self, session: Session, chunk: Sequence[uuid.UUID]) -> dict[Any, frozenset[str]]:
        """Return the categories profiling may use now, per known subject (two queries)."""
        facts = consent_service.subject_facts_many(
            session, keyring=self.keyring, subject_ids=chunk, now=self.now
        )
        return {
            sid: permitted_categories(self.policy, f, self.now, self.scope)
            for sid, f in facts.items()
        }

    def read(
        self, session: Session, chunk: Sequence[uuid.UUID], permitted: Any = None
    ) -> dict[uuid.UUID, History]:
        return read_histories(
            session,
            keyring=self.keyring,
            policy=self.policy,
            permitted=self.permitted(session, chunk) if permitted is None else permitted,
            now=self.now,
        )

    def rewrite(
        self,
        session: Session,
        chunk: Sequence[uuid.UUID],
        read: dict[uuid.UUID, History],
        population: Population,
    ) -> tuple[int, int]:
        """Replace the chunk's derived insights; return (subjects with insights, rows written).

        Permissions are read again: a history read earlier is used only if the subject's
        permitted categories are unchanged, else it is read again (a withdrawal meanwhile wins).
        """
        permitted = self.permitted(session, chunk)
        kept = {sid: read.pop(sid) for sid in chunk if sid in read}
        kept = {sid: h for sid, h in kept.items() if permitted.get(sid) == h.permitted}
        stale = {sid: cats for sid, cats in permitted.items() if sid not in kept}
        histories = {**kept, **self.read(session, chunk, stale)}
        suppressed = _suppressed(session, chunk)
        rows = insight_rows(
            histories.values(), population=population, policy=self.policy,
            suppressed=suppressed, now=self.now,
        )  # fmt: skip
        _delete_derived(session, chunk)
        if rows:
            session.execute(insert(Insight), rows)
        return len({row["subject_id"] for row in rows}), len(rows)


def _chunks(ids: Sequence[uuid.UUID]) -> Iterator[tuple[int, Sequence[uuid.UUID]]]:
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        yield start + len(chunk), chunk


def _suppressed(session: Session, chunk: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    rows = session.execute(
        select(Insight.subject_id, Insight.value).where(
            Insight.subject_id.in_(list(chunk)), Insight.name == SUPPRESSED
        )
    )
    return {row.subject_id: list(row.value or []) for row in rows}


def _delete_derived(session: Session, subject_ids: Sequence[uuid.UUID]) -> int:
    """Delete the subjects' derived insights, keeping their removed interests (TH-DSR-06)."""
    return _delete(session, Insight.subject_id.in_(list(subject_ids)), Insight.name != SUPPRESSED)


# --- population models ---------------------------------------------------------------------------


def load_population(session: Session) -> Population:
    """Return the population models stored by the last ``refresh_all`` (empty before one)."""
    stored = {
        row.name: row
        for row in session.execute(
            select(InsightModel.name, InsightModel.params, InsightModel.n_subjects).where(
                InsightModel.name.in_([BGNBD, RFM])
            )
        )
    }
    bgnbd, rfm_row = stored.get(BGNBD), stored.get(RFM)
    params = bgnbd.params if bgnbd is not None else None
    return Population(
        bgnbd=clv.BgNbdParams(**{k: params[k] for k in ("r", "alpha", "a", "b")})
        if params
        else None,
        bgnbd_subjects=bgnbd.n_subjects if bgnbd is not None else 0,
        rfm_cuts=dict(rfm_row.params["cuts"]) if rfm_row is not None else None,
        rfm_subjects=rfm_row.n_subjects if rfm_row is not None else 0,
    )


def _store_population(session: Session, population: Population, now: datetime) -> None:
    """Replace the stored models; a model that could not be fitted now is removed, not kept."""
    session.execute(delete(InsightModel).where(InsightModel.name.in_([BGNBD, RFM])))
    rows: list[dict[str, Any]] = []
    if population.bgnbd is not None:
        params = population.bgnbd
        values = {"r": params.r, "alpha": params.alpha, "a": params.a, "b": params.b}
        rows.append(
            _model(BGNBD, {**values, "unit_days": WEEK_DAYS}, population.bgnbd_subjects, now)
        )
    if population.rfm_cuts is not None:
        note = "score = 1 + cut points exceeded; last_day is a UTC day ordinal"
        cuts = {"cuts": dict(population.rfm_cuts), "note": note}
        rows.append(_model(RFM, cuts, population.rfm_subjects, now))
    if rows:
        session.execute(insert(InsightModel), rows)


def _model(name: str, params: dict[str, Any], n: int, now: datetime) -> dict[str, Any]:
    return {"name": name, "params": params, "n_subjects": n, "fitted_at": now}


# --- reading, export, erasure, rectification -----------------------------------------------------


def read_for_use(
    session: Session, *, subject_id: uuid.UUID, permitted_categories: Collection[str]
) -> dict[str, InsightRead]:
    """Return the insights whose lineage the purpose's verdict permits, by name."""
    allowed = set(permitted_categories)
    rows = _reads(session, Insight.subject_id == subject_id, Insight.name != SUPPRESSED)
    return {row.name: row for row in rows if set(row.categories) <= allowed}


def export_subject(session: Session, *, subject_id: uuid.UUID) -> list[InsightRead]:
    """Return every insight of the subject with its sources (access requests, TH-DSR-01)."""
    return _reads(session, Insight.subject_id == subject_id)


def show_customer(
    session: Session, *, keyring: Keyring, customer_id: str, now: datetime, actor: str
) -> list[InsightRead]:
    """Return a customer's insights with their lineage for an operator; the viewing is audited."""
    subject_id = _customer(session, keyring, customer_id)
    rows = export_subject(session, subject_id=subject_id)
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
) -> InsightRead:
    """Remove an inferred interest and keep it out of later refreshes (TH-DSR-06).

    The caller (a rectification request) audits the change.
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
    return _reads(session, Insight.subject_id == subject_id, Insight.name == SUPPRESSED)[0]


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


def _audit(
    session: Session, actor: str, now: datetime, detail: dict[str, Any], subject_id: Any = None
) -> None:
    audit_service.record(
        session, actor=actor, action="insights.refresh", now=now, subject_id=subject_id,
        outcome="recorded", detail=detail,
    )  # fmt: skip


# --- narrowing -----------------------------------------------------------------------------------


@signals.on_subject_narrowed
def _on_subject_narrowed(
    session: Session, *, subject_id: uuid.UUID, reason: str, **context: Any
) -> None:
    """Withdrawal, objection, restriction (TH-CON-03, TH-DSR-03, TH-DSR-05): no stale insights.

    With ``keyring``, ``policy`` and ``now`` in the context the subject is recomputed under the
    narrower permissions; otherwise its derived insights are deleted until the next refresh.
    """
    if reason == "erased":
        erase_subject(session, subject_id=subject_id)
        return
    keyring, policy, now = context.get("keyring"), context.get("policy"), context.get("now")
    if isinstance(keyring, Keyring) and isinstance(policy, Policy) and isinstance(now, datetime):
        refresh_subjects(session, keyring=keyring, policy=policy, subject_ids={subject_id}, now=now)
        return
    _delete_derived(session, [subject_id])
