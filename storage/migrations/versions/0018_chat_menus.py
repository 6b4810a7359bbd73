"""The command menus last set per chat scope, so that a restart sends only the changed ones

Revision ID: 0018
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0018"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_menu",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("language_code", sa.String(length=10), nullable=False),
        sa.Column("commands", sa.Text(), nullable=False),
        sa.Column("set_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "scope", "language_code", name=op.f("pk_chat_menu")),
    )


def downgrade() -> None:
    op.drop_table("chat_menu")
