"""Each task's newest word of anyone, kept as updates are written

Revision ID: 0020
Revises: 0019

A cycle overview reads this table (one row per task) by the task's key instead of seeking through
the kept rows of every task; the backfill takes, of each task's kept rows (progress_latest), the
one of the latest cycle and then the newest update, as the overview's rule does. The benchmarks
fill it in bulk with the same statement.
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BACKFILL = (
    "INSERT INTO task_latest (task_id, cycle, update_id, status, percent, created_at)"
    " SELECT task_id, cycle, update_id, status, percent, created_at FROM ("
    " SELECT kept.*, row_number() OVER (PARTITION BY task_id ORDER BY cycle DESC, update_id DESC) AS rank"
    " FROM progress_latest kept) ranked WHERE rank = 1"
)


def upgrade() -> None:
    op.create_table(
        "task_latest",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Date(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_task_latest_task_id_task"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["progress_update.id"],
            name=op.f("fk_task_latest_update_id_progress_update"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_latest")),
    )
    with op.batch_alter_table("task_latest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_latest_update_id"), ["update_id"], unique=False)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("task_latest")
