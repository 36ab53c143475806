"""space hosts_plenaries: the space where everyone meets together, one per event

Revision ID: f5a1c8d3e7b2
Revises: e3b9c4d7a2f1
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f5a1c8d3e7b2"
down_revision: str | None = "e3b9c4d7a2f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("space", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hosts_plenaries", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "ix_space_plenary_hall",
            ["event_id"],
            unique=True,
            sqlite_where=sa.text("hosts_plenaries"),
            postgresql_where=sa.text("hosts_plenaries"),
        )


def downgrade() -> None:
    with op.batch_alter_table("space", schema=None) as batch_op:
        batch_op.drop_index("ix_space_plenary_hall")
        batch_op.drop_column("hosts_plenaries")
