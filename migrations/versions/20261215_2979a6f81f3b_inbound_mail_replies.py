"""inbound mail: replies to our messages, posted as updates or kept for the organiser

Revision ID: 2979a6f81f3b
Revises: a6d3e9f1c2b7
Create Date: 2026-12-15 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "2979a6f81f3b"
down_revision: str | None = "a6d3e9f1c2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inboundmail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("received_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=376), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("update_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action.id"],
            name=op.f("fk_inboundmail_action_id_action"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_inboundmail_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_inboundmail_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_inboundmail_participant_id_participant"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["actionupdate.id"],
            name=op.f("fk_inboundmail_update_id_actionupdate"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboundmail")),
        sa.UniqueConstraint("key", name=op.f("uq_inboundmail_key")),
    )
    with op.batch_alter_table("inboundmail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inboundmail_action_id"), ["action_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inboundmail_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inboundmail_message_id"), ["message_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inboundmail_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inboundmail_update_id"), ["update_id"], unique=False)

    with op.batch_alter_table("actionupdate", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("via_mail", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("actionupdate", schema=None) as batch_op:
        batch_op.drop_column("via_mail")

    with op.batch_alter_table("inboundmail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inboundmail_update_id"))
        batch_op.drop_index(batch_op.f("ix_inboundmail_participant_id"))
        batch_op.drop_index(batch_op.f("ix_inboundmail_message_id"))
        batch_op.drop_index(batch_op.f("ix_inboundmail_event_id"))
        batch_op.drop_index(batch_op.f("ix_inboundmail_action_id"))
    op.drop_table("inboundmail")
