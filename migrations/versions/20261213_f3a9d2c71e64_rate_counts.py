"""rate counts: the rate limits' per-minute counts, shared by every worker and host

Revision ID: f3a9d2c71e64
Revises: c8b747962049
Create Date: 2026-12-13 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "f3a9d2c71e64"
down_revision: str | None = "c8b747962049"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ratecount",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("who", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "who", "minute", name=op.f("pk_ratecount")),
    )


def downgrade() -> None:
    op.drop_table("ratecount")
