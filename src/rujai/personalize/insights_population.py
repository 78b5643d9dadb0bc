"""The population models insights are scored with: BG/NBD (weekly units) and RFM cut points.

``insights.refresh_all`` fits them on the purchases it read and stores them here (parameters and
how many subjects they were fitted on: no row of a person); every later refresh scores with them.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from rujai.personalize import clv
from rujai.personalize.insights_compute import Population
from rujai.personalize.models import InsightModel
from rujai.personalize.rfm import WEEK_DAYS

BGNBD = "bgnbd"
RFM = "rfm"
_BGNBD = ("r", "alpha", "a", "b")


def load_population(session: Session) -> Population:
    """Return the population models stored by the last ``refresh_all`` (empty before one)."""
    columns = (InsightModel.name, InsightModel.params, InsightModel.n_subjects)
    rows = session.execute(select(*columns).where(InsightModel.name.in_([BGNBD, RFM])))
    stored = {row.name: row for row in rows}
    bgnbd, cuts = stored.get(BGNBD), stored.get(RFM)
    return Population(
        bgnbd=clv.BgNbdParams(**{k: bgnbd.params[k] for k in _BGNBD}) if bgnbd else None,
        bgnbd_subjects=bgnbd.n_subjects if bgnbd else 0,
        rfm_cuts=cuts.params["cuts"] if cuts else None,
        rfm_subjects=cuts.n_subjects if cuts else 0,
    )


def store_population(session: Session, population: Population, now: datetime) -> None:
    """Replace the stored models; a model that could not be fitted now is removed, not kept."""
    session.execute(delete(InsightModel).where(InsightModel.name.in_([BGNBD, RFM])))
    p, rows = population, []
    if p.bgnbd is not None:
        params = {**dataclasses.asdict(p.bgnbd), "unit_days": WEEK_DAYS}
        rows.append({"name": BGNBD, "params": params, "n_subjects": p.bgnbd_subjects})
    if p.rfm_cuts is not None:  # score = 1 + cut points exceeded; last_day: UTC day ordinals
        rows.append({"name": RFM, "params": {"cuts": p.rfm_cuts}, "n_subjects": p.rfm_subjects})
    if rows:
        session.execute(insert(InsightModel), [{**row, "fitted_at": now} for row in rows])
