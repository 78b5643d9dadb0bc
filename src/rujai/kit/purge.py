"""Counting or deleting the rows a retention cut-off selects, in one statement either way."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session


def count_or_delete(session: Session, model: Any, *where: Any, dry_run: bool) -> int:
    """Delete the rows of ``model`` matching ``where`` (dry: count them); return how many."""
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    statement = delete(model).where(*where).execution_options(synchronize_session=False)
    return int(cast("CursorResult[Any]", session.execute(statement)).rowcount)
