"""sign_up promoted: a seat given from the waitlist that its holder has not yet seen

Revision ID: a3c5e1f7b920
Revises: 13488038c83b
Create Date: 2026-12-03 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3c5e1f7b920"
down_revision: str | None = "13488038c83b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signup", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("promoted", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("signup", schema=None) as batch_op:
        batch_op.drop_column("promoted")
