"""indexes on foreign keys that erasure deletes through

Revision ID: 7b2e9c41d0aa
Revises: 5a7f3c2e9b10
Create Date: 2026-11-29 01:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7b2e9c41d0aa"
down_revision: str | None = "5a7f3c2e9b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_state_record_id"), ["record_id"], unique=False)
    with op.batch_alter_table("verification_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_code_identity_id"), ["identity_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("verification_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_code_identity_id"))
    with op.batch_alter_table("consent_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_state_record_id"))
