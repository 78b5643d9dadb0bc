"""profiles: identities, traits, merges; events and drop counts; catalog items

Revision ID: 8749250e0f15
Revises: 0a7f4fab50cf
Create Date: 2026-11-28 23:40:15.072765
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '8749250e0f15'
down_revision: str | None = '0a7f4fab50cf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('event_drop_count',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('event_type', sa.String(length=63), nullable=False),
    sa.Column('reason', sa.String(length=48), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'event_type', 'reason', name=op.f('pk_event_drop_count'))
    )
    op.create_table('item',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name_th', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('product_category', sa.String(length=63), nullable=False),
    sa.Column('price_thb', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item'))
    )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_product_category'), ['product_category'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=63), nullable=False),
    sa.Column('category', sa.String(length=63), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('properties_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('is_partner_data', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_event_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sa.UniqueConstraint('message_id', name=op.f('uq_event_message_id'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_subject_time', ['subject_id', 'occurred_at'], unique=False)

    op.create_table('identity',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('blind', sa.String(length=64), nullable=False),
    sa.Column('value_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('is_verified', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_identity_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity')),
    sa.UniqueConstraint('kind', 'blind', name=op.f('uq_identity_kind_blind'))
    )
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_subject_id'), ['subject_id'], unique=False)

    op.create_table('subject_merge',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('into_subject_id', sa.Uuid(), nullable=False),
    sa.Column('from_subject_id', sa.Uuid(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['from_subject_id'], ['subject.id'], name=op.f('fk_subject_merge_from_subject_id_subject'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['into_subject_id'], ['subject.id'], name=op.f('fk_subject_merge_into_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_merge'))
    )
    with op.batch_alter_table('subject_merge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_merge_from_subject_id'), ['from_subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_merge_into_subject_id'), ['into_subject_id'], unique=False)

    op.create_table('trait',
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('category', sa.String(length=63), nullable=False),
    sa.Column('value_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_trait_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subject_id', 'name', name=op.f('pk_trait'))
    )
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('partner_notified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('customer_ref',
               existing_type=sa.VARCHAR(length=64),
               nullable=True)
        batch_op.alter_column('customer_id_sealed',
               existing_type=sa.BLOB(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_subject_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_subject_merged_into_id_subject'), 'subject', ['merged_into_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('subject', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_subject_merged_into_id_subject'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_subject_merged_into_id'))
        batch_op.alter_column('customer_id_sealed',
               existing_type=sa.BLOB(),
               nullable=False)
        batch_op.alter_column('customer_ref',
               existing_type=sa.VARCHAR(length=64),
               nullable=False)
        batch_op.drop_column('partner_notified_at')
        batch_op.drop_column('merged_into_id')

    op.drop_table('trait')
    with op.batch_alter_table('subject_merge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_merge_into_subject_id'))
        batch_op.drop_index(batch_op.f('ix_subject_merge_from_subject_id'))

    op.drop_table('subject_merge')
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_subject_id'))

    op.drop_table('identity')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_subject_time')

    op.drop_table('event')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_product_category'))

    op.drop_table('item')
    op.drop_table('event_drop_count')
