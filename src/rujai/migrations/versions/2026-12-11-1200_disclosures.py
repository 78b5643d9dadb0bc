"""disclosures: the per-subject disclosure log and the processor outbox (TH-USE-01, TH-PRC-01)

Revision ID: c4d2e9a1f380
Revises: b81e5c0d2f47
Create Date: 2026-12-11 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d2e9a1f380"
down_revision: str | None = "b81e5c0d2f47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "processor_notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_reference", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processor_notice")),
    )
    with op.batch_alter_table("processor_notice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processor_notice_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_processor_notice_recipient"), ["recipient"], unique=False
        )

    op.create_table(
        "disclosure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("with_consent", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("mechanism", sa.String(length=32), nullable=False),
        sa.Column("processor", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.id"],
            name=op.f("fk_disclosure_subject_id_subject"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure")),
    )
    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosure_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_disclosure_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disclosure_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_disclosure_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disclosure_subject_ref"), ["subject_ref"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_subject_ref"))
        batch_op.drop_index(batch_op.f("ix_disclosure_subject_id"))
        batch_op.drop_index(batch_op.f("ix_disclosure_recipient"))
        batch_op.drop_index(batch_op.f("ix_disclosure_batch_id"))
        batch_op.drop_index(batch_op.f("ix_disclosure_at"))

    op.drop_table("disclosure")
    with op.batch_alter_table("processor_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processor_notice_recipient"))
        batch_op.drop_index(batch_op.f("ix_processor_notice_created_at"))

    op.drop_table("processor_notice")
