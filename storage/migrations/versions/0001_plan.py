"""plan and agencies

Revision ID: 0001
Revises: 
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('short_name', sa.String(length=100), nullable=True),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency')),
    sa.UniqueConstraint('key', name=op.f('uq_agency_key'))
    )
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('issued', sa.Date(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('reporting_deadlines', sa.JSON(), nullable=False),
    sa.Column('source_name', sa.String(length=500), nullable=True),
    sa.Column('source_sha256', sa.String(length=64), nullable=True),
    sa.Column('imported_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan')),
    sa.UniqueConstraint('number', name=op.f('uq_plan_number'))
    )
    op.create_table('agency_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=300), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_agency_alias_agency_id_agency'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_alias')),
    sa.UniqueConstraint('key', name=op.f('uq_agency_alias_key'))
    )
    with op.batch_alter_table('agency_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_alias_agency_id'), ['agency_id'], unique=False)
    op.create_table('section',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('numeral', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('heading', sa.Text(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_section_agency_id_agency'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_section_plan_id_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_section')),
    sa.UniqueConstraint('plan_id', 'numeral', name=op.f('uq_section_plan_id_numeral'))
    )
    with op.batch_alter_table('section', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_section_plan_id'), ['plan_id'], unique=False)
    op.create_table('task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('timeframe_text', sa.String(length=300), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=True),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('lead_text', sa.Text(), nullable=False),
    sa.Column('coordinating_text', sa.Text(), nullable=False),
    sa.Column('responsible', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_task_plan_id_plan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['section_id'], ['section.id'], name=op.f('fk_task_section_id_section'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task')),
    sa.UniqueConstraint('section_id', 'number', name=op.f('uq_task_section_id_number'))
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_section_id'), ['section_id'], unique=False)
    op.create_table('task_agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_task_agency_agency_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_task_agency_task_id_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_agency')),
    sa.UniqueConstraint('task_id', 'agency_id', 'role', name=op.f('uq_task_agency_task_id_agency_id_role'))
    )
    with op.batch_alter_table('task_agency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_agency_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_agency_task_id'), ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_table('task_agency')
    op.drop_table('task')
    op.drop_table('section')
    op.drop_table('agency_alias')
    op.drop_table('plan')
    op.drop_table('agency')
