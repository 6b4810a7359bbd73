"""Each agency's newest update per task and cycle, kept as updates are written

Revision ID: 0017
Revises: 0016

The summary reads this table (one row per task, agency and cycle) instead of seeking through every
update; the backfill is the same statement the benchmarks use to fill it in bulk.
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BACKFILL = (
    "INSERT INTO progress_latest (task_id, agency_id, cycle, update_id, status, percent, created_at)"
    " SELECT pu.task_id, pu.agency_id, pu.cycle, pu.id, pu.status, pu.percent, pu.created_at"
    " FROM progress_update pu JOIN (SELECT max(id) AS id FROM progress_update"
    " GROUP BY task_id, agency_id, cycle) newest ON newest.id = pu.id"
)


def upgrade() -> None:
    op.create_table(
        "progress_latest",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Date(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_progress_latest_agency_id_agency"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_progress_latest_task_id_task"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["progress_update.id"],
            name=op.f("fk_progress_latest_update_id_progress_update"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "agency_id", "cycle", name=op.f("pk_progress_latest")),
    )
    with op.batch_alter_table("progress_latest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_progress_latest_update_id"), ["update_id"], unique=False)
        batch_op.create_index(
            "ix_progress_latest_task_cycle", ["task_id", "cycle", "update_id"], unique=False
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("progress_latest")
