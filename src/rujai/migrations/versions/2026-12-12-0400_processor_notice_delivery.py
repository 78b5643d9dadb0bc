"""processor_notice delivery: next attempt (backoff) and the last error (TH-PRC-01)

Revision ID: 03744489d00b
Revises: c4d2e9a1f380
Create Date: 2026-12-12 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "03744489d00b"
down_revision: str | None = "c4d2e9a1f380"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processor_notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processor_notice", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("next_attempt_at")
