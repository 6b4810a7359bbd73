"""Zalo OA tokens and contacts, files shared by link, account link codes

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zalo_oa_token',
    sa.Column('app_id', sa.String(length=50), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=False),
    sa.Column('expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('refreshing_until', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('seed_hash', sa.String(length=64), nullable=True),
    sa.Column('updated_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('app_id', name=op.f('pk_zalo_oa_token'))
    )
    op.create_table('zalo_oa_contact',
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('last_message_id', sa.String(length=100), nullable=True),
    sa.Column('last_message_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_zalo_oa_contact'))
    )
    op.create_table('zalo_shared_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('mime_type', sa.String(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zalo_shared_file')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_zalo_shared_file_token_hash'))
    )
    with op.batch_alter_table('zalo_shared_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zalo_shared_file_expires_at'), ['expires_at'], unique=False)
    op.create_table('link_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_link_code_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_link_code_code_hash'))
    )
    with op.batch_alter_table('link_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_code_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    op.drop_table('link_code')
    op.drop_table('zalo_shared_file')
    op.drop_table('zalo_oa_contact')
    op.drop_table('zalo_oa_token')
