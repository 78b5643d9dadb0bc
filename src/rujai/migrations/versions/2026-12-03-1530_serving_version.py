"""Serving version: a per-subject stamp that every change to what decide reads moves.

``subject.serving_version`` is bumped by the database itself (triggers), whoever writes: a change
to the subject row (restriction, objection, birth date, erasure, merge), to its consent state, its
insights or its recommender membership. Serving caches key each subject's state by it, so a
withdrawal committed by any process is seen by the next decide in every process (TH-CON-03).

Revision ID: 9d4c1b7e3a20
Revises: 7b2e9c41d0aa
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "9d4c1b7e3a20"
down_revision: str | None = "7b2e9c41d0aa"
branch_labels = None
depends_on = None

# Tables whose rows belong to a subject and feed decide.
_CHILDREN = ("consent_state", "insight", "recommender_member")

_PG_SUBJECT = """
CREATE OR REPLACE FUNCTION rujai_subject_serving_bump() RETURNS trigger AS $$
BEGIN
  IF NEW.serving_version = OLD.serving_version THEN
    NEW.serving_version := OLD.serving_version + 1;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER subject_serving_bump BEFORE UPDATE ON subject
  FOR EACH ROW EXECUTE FUNCTION rujai_subject_serving_bump();
CREATE OR REPLACE FUNCTION rujai_child_serving_bump() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE subject SET serving_version = serving_version + 1 WHERE id = OLD.subject_id;
    RETURN OLD;
  END IF;
  UPDATE subject SET serving_version = serving_version + 1 WHERE id = NEW.subject_id;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""
_PG_CHILD = """
CREATE TRIGGER {table}_serving_bump AFTER INSERT OR UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION rujai_child_serving_bump();
"""
_SQLITE_SUBJECT = """
CREATE TRIGGER subject_serving_bump AFTER UPDATE ON subject
WHEN NEW.serving_version = OLD.serving_version
BEGIN
  UPDATE subject SET serving_version = OLD.serving_version + 1 WHERE id = NEW.id;
END
"""
_SQLITE_CHILD = """
CREATE TRIGGER {table}_serving_{op} AFTER {verb} ON {table}
BEGIN
  UPDATE subject SET serving_version = serving_version + 1 WHERE id = {row}.subject_id;
END
"""
_SQLITE_OPS = (("ins", "INSERT", "NEW"), ("upd", "UPDATE", "NEW"), ("del", "DELETE", "OLD"))


def upgrade() -> None:
    with op.batch_alter_table("subject") as batch:
        batch.add_column(
            sa.Column("serving_version", sa.BigInteger(), nullable=False, server_default="0")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_SUBJECT)
        for table in _CHILDREN:
            op.execute(_PG_CHILD.format(table=table))
        return
    op.execute(_SQLITE_SUBJECT)
    for table in _CHILDREN:
        for name, verb, row in _SQLITE_OPS:
            op.execute(_SQLITE_CHILD.format(table=table, op=name, verb=verb, row=row))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _CHILDREN:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_serving_bump ON {table}")
        op.execute("DROP TRIGGER IF EXISTS subject_serving_bump ON subject")
        op.execute("DROP FUNCTION IF EXISTS rujai_child_serving_bump()")
        op.execute("DROP FUNCTION IF EXISTS rujai_subject_serving_bump()")
    else:
        for table in _CHILDREN:
            for name, _verb, _row in _SQLITE_OPS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_serving_{name}")
        op.execute("DROP TRIGGER IF EXISTS subject_serving_bump")
    with op.batch_alter_table("subject") as batch:
        batch.drop_column("serving_version")
