"""Helpers shared by the consent and profiles tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session


@contextmanager
def count_queries(session: Session) -> Iterator[list[str]]:
    """Collect every SQL statement the session's engine sends while the block runs."""
    engine = session.get_bind()
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def raw_rows(session: Session, table: str) -> list[tuple[Any, ...]]:
    """Return every row of ``table`` exactly as stored, bypassing the ORM."""
    return [tuple(row) for row in session.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608 - fixed table names from tests


def stored_text(session: Session, table: str) -> str:
    """Return every stored value of ``table`` as one string, to search for leaked personal data."""
    return "\n".join(repr(value) for row in raw_rows(session, table) for value in row)
