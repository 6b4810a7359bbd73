"""An index that finds each agency's latest update on a task with one seek

Revision ID: 0015
Revises: 0008
"""

from alembic import op

revision = "0015"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("progress_update", schema=None) as batch_op:
        batch_op.create_index(
            "ix_progress_update_task_agency", ["task_id", "agency_id", "cycle", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("progress_update", schema=None) as batch_op:
        batch_op.drop_index("ix_progress_update_task_agency")
