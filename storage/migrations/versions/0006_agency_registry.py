"""Agency registry with history: status, successor, groups and the change log

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: rebuilding `agency` on SQLite drops the old table, and with
    # foreign keys on that deletes every alias and unlinks every member. Existing agencies are active.
    op.add_column('agency', sa.Column('status', sa.String(length=20), server_default='active', nullable=False))
    op.add_column('agency', sa.Column('status_since', sa.Date(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its REFERENCES clause in place; it cannot add the constraint apart.
        op.execute(
            'ALTER TABLE agency ADD COLUMN successor_id INTEGER '
            'CONSTRAINT fk_agency_successor_id_agency REFERENCES agency (id) ON DELETE SET NULL'
        )
    else:
        op.add_column('agency', sa.Column('successor_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f('fk_agency_successor_id_agency'), 'agency', 'agency', ['successor_id'], ['id'], ondelete='SET NULL'
        )
    op.add_column('agency', sa.Column('is_group', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('agency_group_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['agency.id'], name=op.f('fk_agency_group_member_group_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['agency.id'], name=op.f('fk_agency_group_member_member_id_agency'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_group_member')),
    sa.UniqueConstraint('group_id', 'member_id', name=op.f('uq_agency_group_member_group_id'))
    )
    with op.batch_alter_table('agency_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_group_member_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_group_member_member_id'), ['member_id'], unique=False)
    op.create_table('agency_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=True),
    sa.Column('successor_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_agency_event_agency_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['successor_id'], ['agency.id'], name=op.f('fk_agency_event_successor_id_agency'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_event'))
    )
    with op.batch_alter_table('agency_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_event_agency_id'), ['agency_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agency_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_event_agency_id'))
    op.drop_table('agency_event')
    with op.batch_alter_table('agency_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_group_member_member_id'))
        batch_op.drop_index(batch_op.f('ix_agency_group_member_group_id'))
    op.drop_table('agency_group_member')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_agency_successor_id_agency'), 'agency', type_='foreignkey')
    # SQLite drops a column in place (3.35+) as long as no index or constraint names it elsewhere;
    # the REFERENCES clause belongs to the column itself.
    with op.batch_alter_table('agency', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('is_group')
        batch_op.drop_column('successor_id')
        batch_op.drop_column('status_since')
        batch_op.drop_column('status')
