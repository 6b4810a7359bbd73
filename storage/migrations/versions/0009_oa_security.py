"""Zalo OA webhook events already taken (replays refused); the OA tokens sealed at rest

Revision ID: 0009
Revises: 0012

The token pair is sealed with NHACVIEC_SECRET_KEY when the variable is set during the upgrade. When
it is not set, stored pairs stay as they are, and the Official Account refuses to start until the key
is set; it then seals them itself at start-up (docs/operations.md).
"""

import logging
import os

import sqlalchemy as sa
from alembic import op

import storage.models.base
from storage.secret_box import ENV_NAME, SecretBox

revision = '0009'
down_revision = '0012'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table('zalo_oa_event',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('seen_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_zalo_oa_event'))
    )
    with op.batch_alter_table('zalo_oa_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zalo_oa_event_seen_at'), ['seen_at'], unique=False)
    _seal_tokens()


def _seal_tokens() -> None:
    bind = op.get_bind()
    tokens = sa.table(
        'zalo_oa_token', sa.column('app_id', sa.String), sa.column('access_token', sa.Text),
        sa.column('refresh_token', sa.Text),
    )
    rows = bind.execute(sa.select(tokens.c.app_id, tokens.c.access_token, tokens.c.refresh_token)).all()
    plain = [row for row in rows if not (SecretBox.sealed(row.access_token) and SecretBox.sealed(row.refresh_token))]
    if not plain:
        return
    box = SecretBox.from_setting(os.environ.get(ENV_NAME))
    if box is None:
        log.warning("%s is not set: the Zalo OA tokens stay unencrypted until the bot starts with it", ENV_NAME)
        return
    if bind.dialect.name == 'sqlite':
        # The plain values' old bytes are overwritten, not just freed, so the file keeps no copy.
        bind.exec_driver_sql('PRAGMA secure_delete = ON')
    for row in plain:
        bind.execute(
            tokens.update().where(tokens.c.app_id == row.app_id).values(
                access_token=box.reseal(row.access_token), refresh_token=box.reseal(row.refresh_token)
            )
        )


def downgrade() -> None:
    # The sealed tokens stay sealed: a downgraded bot cannot read them, and the OA must be given its
    # pair again through ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN.
    op.drop_table('zalo_oa_event')
