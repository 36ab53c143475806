"""topic merged_into: the topic a duplicate was folded into, where its links lead

Revision ID: c71d2e9a4b15
Revises: a3c5e1f7b920
Create Date: 2026-12-03 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c71d2e9a4b15"
down_revision: str | None = "a3c5e1f7b920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_topic_merged_into_id_topic",
            "topic",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.drop_constraint("fk_topic_merged_into_id_topic", type_="foreignkey")
        batch_op.drop_column("merged_into_id")
