"""mail of the day, the book, the organiser's digest: a message's baseline, a cause's topic,
when the book was sent, and the digest's two switches

Revision ID: a6d3e9f1c2b7
Revises: a4d9e2b7c3f1
Create Date: 2026-12-14 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "a6d3e9f1c2b7"
down_revision: str | None = "a4d9e2b7c3f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("baseline", sa.String(length=200), nullable=False, server_default="")
        )
    with op.batch_alter_table("messagecause", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_messagecause_topic_id"), ["topic_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_messagecause_topic_id_topic", "topic", ["topic_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("book_sent_at", app.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("weekly_digest", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("weekly_digest", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.drop_column("weekly_digest")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("weekly_digest")
        batch_op.drop_column("book_sent_at")
    with op.batch_alter_table("messagecause", schema=None) as batch_op:
        batch_op.drop_constraint("fk_messagecause_topic_id_topic", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_messagecause_topic_id"))
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("baseline")
