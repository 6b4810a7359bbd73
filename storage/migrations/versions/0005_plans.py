"""Plans identified by issuer, number and year; year ranges; lifecycle; archived sections and tasks

Revision ID: 0005
Revises: 0004

Existing plans keep every row. Their issuer is unknown (empty) until they are imported again, their
year range is their one year, and their last deadline is read from what they hold (reporting
deadlines and task end dates), so that a plan whose deadlines passed long ago ends on its own.
"""

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _last_deadlines(bind) -> dict[int, dt.date]:
    """Each plan's last deadline, computed in Python: the reporting deadlines are a JSON list."""
    last: dict[int, dt.date] = {}
    for plan_id, deadlines, year in bind.execute(sa.text('SELECT id, reporting_deadlines, year FROM plan')):
        if isinstance(deadlines, str):
            deadlines = json.loads(deadlines)
        days = [dt.date.fromisoformat(d) for d in deadlines or []]
        last[plan_id] = max(days, default=dt.date(year, 12, 31))
    for plan_id, end_on in bind.execute(
        sa.text('SELECT plan_id, MAX(end_on) FROM task WHERE end_on IS NOT NULL GROUP BY plan_id')
    ):
        if isinstance(end_on, str):
            end_on = dt.date.fromisoformat(end_on)
        if end_on is not None and plan_id in last:
            last[plan_id] = max(last[plan_id], end_on)
    return last


def upgrade() -> None:
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('issuer_key', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('start_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('end_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_deadline', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('lifecycle', sa.String(length=20), nullable=False, server_default='auto'))
        batch_op.add_column(
            sa.Column('lifecycle_changed_at', storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('lifecycle_changed_by', sa.String(length=300), nullable=True))
        batch_op.drop_constraint('uq_plan_number', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_plan_issuer_key_number_year'), ['issuer_key', 'number', 'year']
        )

    bind = op.get_bind()
    bind.execute(sa.text('UPDATE plan SET start_year = year, end_year = year'))
    for plan_id, last in _last_deadlines(bind).items():
        bind.execute(
            sa.text('UPDATE plan SET last_deadline = :last WHERE id = :id'), {'last': last, 'id': plan_id}
        )
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.alter_column('start_year', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('end_year', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('section', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('archived_at', storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('archived_at', storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
    with op.batch_alter_table('section', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_plan_issuer_key_number_year'), type_='unique')
        batch_op.create_unique_constraint('uq_plan_number', ['number'])
        batch_op.drop_column('lifecycle_changed_by')
        batch_op.drop_column('lifecycle_changed_at')
        batch_op.drop_column('lifecycle')
        batch_op.drop_column('last_deadline')
        batch_op.drop_column('end_year')
        batch_op.drop_column('start_year')
        batch_op.drop_column('issuer_key')
        batch_op.drop_column('issuer')
