"""people's data: privacy notice and retention per event, erasure log

Revision ID: d4e7a1c9b3f2
Revises: c2b4be039165
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "d4e7a1c9b3f2"
down_revision: str | None = "c2b4be039165"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eventprivacy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("controller", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("retention_months", sa.Integer(), nullable=False),
        sa.Column("purged_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_eventprivacy_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eventprivacy")),
        sa.UniqueConstraint("event_id", name=op.f("uq_eventprivacy_event_id")),
    )
    op.create_table(
        "erasure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("asked_by", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_erasure_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_erasure_participant_id_participant"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure")),
    )
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_erasure_participant_id"), ["participant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_participant_id"))
        batch_op.drop_index(batch_op.f("ix_erasure_event_id"))

    op.drop_table("erasure")
    op.drop_table("eventprivacy")
