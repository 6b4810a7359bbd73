"""abuse limits: one active focal point per agency, buttons tied to their chat, counted attempts

Revision ID: 0008
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = '0008'
down_revision = '0009'
branch_labels = None
depends_on = None

ACTIVE_FOCAL_WHERE = "role = 'focal' AND status = 'active'"


def upgrade() -> None:
    # Databases that saw two registrations race can hold two active focal points for one agency.
    # The hand-over rule says the later one holds the post: the earlier ones are retired, their
    # reports kept, before the index that forbids the state goes in.
    op.execute(
        sa.text(
            f"""
            UPDATE member SET status = 'retired'
            WHERE {ACTIVE_FOCAL_WHERE} AND agency_id IS NOT NULL
              AND EXISTS (
                SELECT 1 FROM member AS later
                WHERE later.agency_id = member.agency_id
                  AND later.role = 'focal' AND later.status = 'active'
                  AND later.id > member.id
              )
            """
        )
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(
            'uq_member_active_focal',
            ['agency_id'],
            unique=True,
            sqlite_where=sa.text(ACTIVE_FOCAL_WHERE),
            postgresql_where=sa.text(ACTIVE_FOCAL_WHERE),
        )
    with op.batch_alter_table('callback_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_id', sa.String(length=100), nullable=True))
    op.create_table('attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt'))
    )
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.create_index('ix_attempt_kind_subject_created', ['kind', 'subject', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_created_at'))
        batch_op.drop_index('ix_attempt_kind_subject_created')
    op.drop_table('attempt')
    with op.batch_alter_table('callback_action', schema=None) as batch_op:
        batch_op.drop_column('chat_id')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index('uq_member_active_focal')
