"""convener seats and seat notices: a convener's "I will be elsewhere", news of a seat change
a person did not make, and when the desk last printed someone's agenda

Revision ID: e3b9c4d7a2f1
Revises: b7e2f4a9c1d3
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "e3b9c4d7a2f1"
down_revision: str | None = "b7e2f4a9c1d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "convenerelsewhere",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_convenerelsewhere_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
            name=op.f("fk_convenerelsewhere_topic_id_topic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convenerelsewhere")),
        sa.UniqueConstraint(
            "topic_id", "participant_id", name=op.f("uq_convenerelsewhere_topic_id_participant_id")
        ),
    )
    with op.batch_alter_table("convenerelsewhere", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_convenerelsewhere_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_convenerelsewhere_topic_id"), ["topic_id"], unique=False
        )
    op.create_table(
        "seatnotice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_seatnotice_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_seatnotice_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
            name=op.f("fk_seatnotice_topic_id_topic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seatnotice")),
    )
    with op.batch_alter_table("seatnotice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seatnotice_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_seatnotice_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_seatnotice_topic_id"), ["topic_id"], unique=False)
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "agenda_printed_at", app.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("agenda_printed_at")
    with op.batch_alter_table("seatnotice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seatnotice_topic_id"))
        batch_op.drop_index(batch_op.f("ix_seatnotice_participant_id"))
        batch_op.drop_index(batch_op.f("ix_seatnotice_event_id"))
    op.drop_table("seatnotice")
    with op.batch_alter_table("convenerelsewhere", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_convenerelsewhere_topic_id"))
        batch_op.drop_index(batch_op.f("ix_convenerelsewhere_participant_id"))
    op.drop_table("convenerelsewhere")
