"""erasure: a fingerprint of the erased row, so that an older archive cannot bring it back

Revision ID: e8c3f1a6d2b5
Revises: b7e2c5a9d1f4
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8c3f1a6d2b5"
down_revision: str | None = "b7e2c5a9d1f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fingerprint", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_erasure_fingerprint"), ["fingerprint"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_fingerprint"))
        batch_op.drop_column("fingerprint")
