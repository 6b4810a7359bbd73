"""Plans staged by an import in progress, hidden until swapped in; a revision counter per plan

Revision ID: 0016
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staged_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("staged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("staged_agencies", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_plan_staged_by", ["staged_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_staged_by")
        batch_op.drop_column("revision")
        batch_op.drop_column("staged_agencies")
        batch_op.drop_column("staged_at")
        batch_op.drop_column("staged_by")
