"""members, invites, progress updates, conversation state

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callback_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_action')),
    sa.UniqueConstraint('key', name=op.f('uq_callback_action_key'))
    )
    with op.batch_alter_table('callback_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_action_expires_at'), ['expires_at'], unique=False)
    op.create_table('conversation_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('flow', sa.String(length=50), nullable=False),
    sa.Column('step', sa.String(length=50), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_state')),
    sa.UniqueConstraint('platform', 'chat_id', 'user_id', name=op.f('uq_conversation_state_platform_chat_id_user_id'))
    )
    op.create_table('processed_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('update_key', sa.String(length=200), nullable=False),
    sa.Column('processed_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processed_update')),
    sa.UniqueConstraint('platform', 'update_key', name=op.f('uq_processed_update_platform_update_key'))
    )
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_update_processed_at'), ['processed_at'], unique=False)
    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('preferred_platform', sa.String(length=20), nullable=True),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('unreachable_reason', sa.Text(), nullable=True),
    sa.Column('unreachable_since', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_member_agency_id_agency'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['approved_by_id'], ['member.id'], name=op.f('fk_member_approved_by_id_member'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_agency_id'), ['agency_id'], unique=False)
    op.create_table('group_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=100), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('linked_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_group_link_agency_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['linked_by_id'], ['member.id'], name=op.f('fk_group_link_linked_by_id_member'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_link')),
    sa.UniqueConstraint('platform', 'chat_id', name=op.f('uq_group_link_platform_chat_id'))
    )
    op.create_table('identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('chat_id', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('last_seen_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_identity_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity')),
    sa.UniqueConstraint('platform', 'external_id', name=op.f('uq_identity_platform_external_id'))
    )
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_member_id'), ['member_id'], unique=False)
    op.create_table('invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('uses_left', sa.Integer(), nullable=False),
    sa.Column('expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_invite_agency_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['member.id'], name=op.f('fk_invite_created_by_id_member'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invite_token_hash'))
    )
    op.create_table('progress_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('cycle', sa.Date(), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('edited_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source_platform', sa.String(length=20), nullable=True),
    sa.Column('source_chat_id', sa.String(length=100), nullable=True),
    sa.Column('source_message_id', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_progress_update_agency_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_progress_update_member_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_progress_update_task_id_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_update'))
    )
    with op.batch_alter_table('progress_update', schema=None) as batch_op:
        batch_op.create_index('ix_progress_update_cycle_agency', ['cycle', 'agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_update_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_progress_update_task_created', ['task_id', 'created_at'], unique=False)
        batch_op.create_index('ix_progress_update_task_cycle', ['task_id', 'cycle', 'id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_progress_update_agency_created', ['agency_id', 'created_at'], unique=False)
    op.create_table('update_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('replaced_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['update_id'], ['progress_update.id'], name=op.f('fk_update_revision_update_id_progress_update'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_update_revision'))
    )
    with op.batch_alter_table('update_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_update_revision_update_id'), ['update_id'], unique=False)


def downgrade() -> None:
    op.drop_table('update_revision')
    op.drop_table('progress_update')
    op.drop_table('invite')
    op.drop_table('identity')
    op.drop_table('group_link')
    op.drop_table('member')
    op.drop_table('processed_update')
    op.drop_table('conversation_state')
    op.drop_table('callback_action')
