"""identity verification evidence: when and how a brand verified an e-mail or phone (TH-SEC-01)

Revision ID: 7be3a91c05d4
Revises: 03744489d00b
Create Date: 2026-12-12 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "7be3a91c05d4"
down_revision: str | None = "03744489d00b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verification_method", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("verification_ref", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_column("verification_ref")
        batch_op.drop_column("verification_method")
        batch_op.drop_column("verified_at")
