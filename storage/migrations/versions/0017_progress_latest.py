"""Each agency's newest update per task and cycle, kept as updates are written

Revision ID: 0017
Revises: 0014

The summary reads this table (one row per task, agency and cycle) instead of seeking through every
update; the backfill is the same statement the benchmarks use to fill it in bulk.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None

BACKFILL = (
    "INSERT INTO progress_latest (task_id, agency_id, cycle, update_id)"
    " SELECT task_id, agency_id, cycle, max(id) FROM progress_update GROUP BY task_id, agency_id, cycle"
)


def upgrade() -> None:
    op.create_table(
        "progress_latest",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Date(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False),
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
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("progress_latest")
