"""Evidence files kept: one row per file sent with an update, fetched into the store after it

Revision ID: 0014
Revises: 0015

Updates stored before this revision name their file only by the platform's id; each gets a pending
row, so that the next start fetches what the platform still serves.
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = '0014'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evidence_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('mime_type', sa.String(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fetched_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_evidence_file_agency_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['update_id'], ['progress_update.id'], name=op.f('fk_evidence_file_update_id_progress_update'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_file'))
    )
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_file_state', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_file_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_file_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_file_update_id'), ['update_id'], unique=False)
    # A link typed by the user stays a link; a platform file id ("telegram:…", "zalo:…") is fetched.
    op.execute(
        "INSERT INTO evidence_file (update_id, agency_id, source, state, attempts, created_at, next_attempt_at) "
        "SELECT id, agency_id, evidence, 'pending', 0, created_at, created_at FROM progress_update "
        "WHERE evidence LIKE 'telegram:%' OR evidence LIKE 'zalo:%' OR evidence LIKE 'zalo_oa:%' "
        "OR evidence LIKE 'console:%'"
    )


def downgrade() -> None:
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_file_update_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_file_sha256'))
        batch_op.drop_index(batch_op.f('ix_evidence_file_agency_id'))
        batch_op.drop_index('ix_evidence_file_state')
    op.drop_table('evidence_file')
