"""carried pledge: an earlier event's pledge brought into a later event (linked), and the
author's refreshed pledge beside it

Revision ID: b5c1d9e3a7f2
Revises: 5e1c0a7d9b42
Create Date: 2026-12-17 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "b5c1d9e3a7f2"
down_revision: str | None = "5e1c0a7d9b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carriedpledge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=False),
        sa.Column("from_event_id", sa.Integer(), nullable=False),
        sa.Column("carried_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_carriedpledge_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"],
            ["pledge.id"],
            name=op.f("fk_carriedpledge_pledge_id_pledge"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_event_id"],
            ["event.id"],
            name=op.f("fk_carriedpledge_from_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["refreshed_by_id"],
            ["pledge.id"],
            name=op.f("fk_carriedpledge_refreshed_by_id_pledge"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carriedpledge")),
        sa.UniqueConstraint(
            "event_id", "pledge_id", name=op.f("uq_carriedpledge_event_id_pledge_id")
        ),
    )
    with op.batch_alter_table("carriedpledge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carriedpledge_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carriedpledge_pledge_id"), ["pledge_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_carriedpledge_from_event_id"), ["from_event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carriedpledge_refreshed_by_id"), ["refreshed_by_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("carriedpledge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carriedpledge_refreshed_by_id"))
        batch_op.drop_index(batch_op.f("ix_carriedpledge_from_event_id"))
        batch_op.drop_index(batch_op.f("ix_carriedpledge_pledge_id"))
        batch_op.drop_index(batch_op.f("ix_carriedpledge_event_id"))
    op.drop_table("carriedpledge")
