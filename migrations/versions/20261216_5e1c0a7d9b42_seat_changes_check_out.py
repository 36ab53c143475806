"""seat changes (for "how the day went") and the closing circle's check-out

Revision ID: 5e1c0a7d9b42
Revises: 2979a6f81f3b
Create Date: 2026-12-16 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "5e1c0a7d9b42"
down_revision: str | None = "2979a6f81f3b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seatchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("from_topic_id", sa.Integer(), nullable=True),
        sa.Column("to_topic_id", sa.Integer(), nullable=True),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        sa.Column("at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_seatchange_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slot.id"], name=op.f("fk_seatchange_slot_id_slot"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_seatchange_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_topic_id"],
            ["topic.id"],
            name=op.f("fk_seatchange_from_topic_id_topic"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["to_topic_id"],
            ["topic.id"],
            name=op.f("fk_seatchange_to_topic_id_topic"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seatchange")),
    )
    with op.batch_alter_table("seatchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seatchange_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_seatchange_participant_id"), ["participant_id"], unique=False
        )
    op.create_table(
        "checkout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("words", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("usefulness", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("marker", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_checkout_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_checkout_participant_id_participant"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout")),
        sa.UniqueConstraint("event_id", "marker", name=op.f("uq_checkout_event_id_marker")),
    )
    with op.batch_alter_table("checkout", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkout_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_checkout_participant_id"), ["participant_id"], unique=False
        )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checkout_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("checkout_key")
    with op.batch_alter_table("checkout", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkout_participant_id"))
        batch_op.drop_index(batch_op.f("ix_checkout_event_id"))
    op.drop_table("checkout")
    with op.batch_alter_table("seatchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seatchange_participant_id"))
        batch_op.drop_index(batch_op.f("ix_seatchange_event_id"))
    op.drop_table("seatchange")
