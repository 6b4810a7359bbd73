"""Platform delivery: chat replies parked until the platform takes them; the Zalo OA's costs (free
replies used per message, paid messages per month), its refresh token's expiry, members' phone numbers

Revision ID: 0010
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = '0010'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('parked_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=100), nullable=False),
    sa.Column('reply_to', sa.String(length=100), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('claimed_until', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parked_reply'))
    )
    with op.batch_alter_table('parked_reply', schema=None) as batch_op:
        batch_op.create_index('ix_parked_reply_chat', ['platform', 'chat_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parked_reply_next_attempt_at'), ['next_attempt_at'], unique=False)
    op.create_table('zalo_oa_quota',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'kind', name=op.f('pk_zalo_oa_quota'))
    )
    # Plain ADD COLUMN, not batch mode: rebuilding `member` on SQLite would drop the old table, and
    # with foreign keys on that would delete or unlink the rows that refer to it.
    op.add_column('zalo_oa_token', sa.Column('refresh_expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=True))
    op.add_column('zalo_oa_token', sa.Column('expiry_warned_days', sa.Integer(), nullable=True))
    op.add_column('zalo_oa_contact', sa.Column('replies_used', sa.Integer(), server_default='0', nullable=False))
    op.add_column('member', sa.Column('phone', sa.String(length=20), nullable=True))
    op.add_column('member', sa.Column('phone_consent_at', storage.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('phone_consent_at')
        batch_op.drop_column('phone')
    with op.batch_alter_table('zalo_oa_contact', schema=None) as batch_op:
        batch_op.drop_column('replies_used')
    with op.batch_alter_table('zalo_oa_token', schema=None) as batch_op:
        batch_op.drop_column('expiry_warned_days')
        batch_op.drop_column('refresh_expires_at')
    op.drop_table('zalo_oa_quota')
    op.drop_table('parked_reply')
