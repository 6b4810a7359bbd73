"""An index from which each agency's newest kept word is a step or two back

Revision ID: 0019
Revises: 0017

The overview finds each agency's last update by reading its kept rows (progress_latest) from the
newest back (storage.summary_sql), where it grouped every kept row of the plan.
"""

from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("progress_latest", schema=None) as batch_op:
        batch_op.create_index("ix_progress_latest_agency_created", ["agency_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("progress_latest", schema=None) as batch_op:
        batch_op.drop_index("ix_progress_latest_agency_created")
