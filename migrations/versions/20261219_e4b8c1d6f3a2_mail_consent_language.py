"""mail consent language: the language a person ticked a purpose in, for the messages of
causes that are not theirs (a facilitator's move, the book)

Revision ID: e4b8c1d6f3a2
Revises: d2f7a4c8e1b9
Create Date: 2026-12-19 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e4b8c1d6f3a2"
down_revision: str | None = "d2f7a4c8e1b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailconsent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("mailconsent", schema=None) as batch_op:
        batch_op.drop_column("language")
