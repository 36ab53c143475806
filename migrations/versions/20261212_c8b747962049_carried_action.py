"""carried action: an earlier event's open action brought into a later event (linked)

Revision ID: c8b747962049
Revises: e8c3f1a6d2b5
Create Date: 2026-12-12 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "c8b747962049"
down_revision: str | None = "e8c3f1a6d2b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carriedaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("from_event_id", sa.Integer(), nullable=False),
        sa.Column("carried_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action.id"],
            name=op.f("fk_carriedaction_action_id_action"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_carriedaction_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_event_id"],
            ["event.id"],
            name=op.f("fk_carriedaction_from_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carriedaction")),
        sa.UniqueConstraint(
            "event_id", "action_id", name=op.f("uq_carriedaction_event_id_action_id")
        ),
    )
    with op.batch_alter_table("carriedaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carriedaction_action_id"), ["action_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carriedaction_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_carriedaction_from_event_id"), ["from_event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("carriedaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carriedaction_from_event_id"))
        batch_op.drop_index(batch_op.f("ix_carriedaction_event_id"))
        batch_op.drop_index(batch_op.f("ix_carriedaction_action_id"))
    op.drop_table("carriedaction")
