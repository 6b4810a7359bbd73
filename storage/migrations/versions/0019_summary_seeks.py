"""Indexes that let the overview seek instead of scanning: a plan's end dates, an agency's newest word

Revision ID: 0019
Revises: 0017

`ix_task_plan_end` gives the distinct end dates of a plan from the index alone;
`ix_progress_latest_agency_created` finds each agency's newest kept word from the newest back
(storage.summary_sql), where a scan read every kept row of the plan.
"""

from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index("ix_task_plan_end", ["plan_id", "end_on"], unique=False)
    with op.batch_alter_table("progress_latest", schema=None) as batch_op:
        batch_op.create_index("ix_progress_latest_agency_created", ["agency_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("progress_latest", schema=None) as batch_op:
        batch_op.drop_index("ix_progress_latest_agency_created")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_plan_end")
