"""action update author: the participant who wrote a progress note in the app

Revision ID: d2f7a4c8e1b9
Revises: b5c1d9e3a7f2
Create Date: 2026-12-18 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d2f7a4c8e1b9"
down_revision: str | None = "b5c1d9e3a7f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("actionupdate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_actionupdate_author_id"), ["author_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_actionupdate_author_id_participant",
            "participant",
            ["author_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("actionupdate", schema=None) as batch_op:
        batch_op.drop_constraint("fk_actionupdate_author_id_participant", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_actionupdate_author_id"))
        batch_op.drop_column("author_id")
