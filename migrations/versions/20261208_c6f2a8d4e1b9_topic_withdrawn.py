"""topic withdrawn: its convener took it off the wall (and can put it back)

Revision ID: c6f2a8d4e1b9
Revises: a9d3e5f7b1c2
Create Date: 2026-12-07 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c6f2a8d4e1b9"
down_revision: str | None = "a9d3e5f7b1c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("withdrawn", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.drop_column("withdrawn")
