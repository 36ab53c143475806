"""participant share_email

Revision ID: 5807f36627bd
Revises: e5ad0e4231cd
Create Date: 2026-11-21 13:41:47.631164
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5807f36627bd"
down_revision: str | None = "e5ad0e4231cd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("share_email", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("share_email")
