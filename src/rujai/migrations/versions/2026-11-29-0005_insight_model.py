"""personalize: population parameters behind insights (insight_model)

Revision ID: 3c1d2e4f5a60
Revises: 6860ddde5441
Create Date: 2026-11-29 00:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c1d2e4f5a60"
down_revision: str | None = "6860ddde5441"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insight_model",
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("n_subjects", sa.Integer(), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_insight_model")),
    )


def downgrade() -> None:
    op.drop_table("insight_model")
