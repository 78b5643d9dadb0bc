"""personalize: insights, recommender versions and members, offers and arms, decisions

Revision ID: 6860ddde5441
Revises: 8749250e0f15
Create Date: 2026-11-28 23:53:34.409977
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '6860ddde5441'
down_revision: str | None = '8749250e0f15'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('offer',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title_th', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=63), nullable=False),
    sa.Column('eligibility', sa.JSON(), nullable=False),
    sa.Column('variants', sa.JSON(), nullable=False),
    sa.Column('is_generic', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('budget_cap', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer'))
    )
    op.create_table('recommender_model',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('parent_version', sa.String(length=64), nullable=True),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('n_users', sa.Integer(), nullable=False),
    sa.Column('n_items', sa.Integer(), nullable=False),
    sa.Column('item_ids', sa.JSON(), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommender_model')),
    sa.UniqueConstraint('version', name=op.f('uq_recommender_model_version'))
    )
    op.create_table('decision',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('placement', sa.String(length=63), nullable=False),
    sa.Column('purpose', sa.String(length=63), nullable=False),
    sa.Column('personalized', sa.Boolean(), nullable=False),
    sa.Column('is_holdout', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=48), nullable=False),
    sa.Column('lawful_basis', sa.String(length=32), nullable=True),
    sa.Column('consent_record_ids', sa.JSON(), nullable=False),
    sa.Column('insights_used', sa.JSON(), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=True),
    sa.Column('segment', sa.String(length=48), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('offers', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_decision_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision'))
    )
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index('ix_decision_subject_time', ['subject_id', 'created_at'], unique=False)

    op.create_table('insight',
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=48), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_insight_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subject_id', 'name', name=op.f('pk_insight'))
    )
    op.create_table('offer_arm',
    sa.Column('offer_id', sa.String(length=63), nullable=False),
    sa.Column('segment', sa.String(length=48), nullable=False),
    sa.Column('impressions', sa.Integer(), nullable=False),
    sa.Column('conversions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['offer.id'], name=op.f('fk_offer_arm_offer_id_offer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('offer_id', 'segment', name=op.f('pk_offer_arm'))
    )
    op.create_table('recommender_member',
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('item_ids', sa.JSON(), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_recommender_member_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_recommender_member'))
    )
    op.create_table('decision_outcome',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('decision_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('offer_id', sa.String(length=63), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_decision_outcome_decision_id_decision'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_outcome')),
    sa.UniqueConstraint('decision_id', 'kind', name=op.f('uq_decision_outcome_decision_id_kind'))
    )
    with op.batch_alter_table('decision_outcome', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_outcome_decision_id'), ['decision_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('decision_outcome', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_outcome_decision_id'))

    op.drop_table('decision_outcome')
    op.drop_table('recommender_member')
    op.drop_table('offer_arm')
    op.drop_table('insight')
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_index('ix_decision_subject_time')

    op.drop_table('decision')
    op.drop_table('recommender_model')
    op.drop_table('offer')
