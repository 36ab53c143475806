"""outbox: messages, their causes (one message per cause), attempts, and consent to mail

Revision ID: c2b4be039165
Revises: c6f2a8d4e1b9
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "c2b4be039165"
down_revision: str | None = "c6f2a8d4e1b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailconsent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_mailconsent_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailconsent")),
        sa.UniqueConstraint(
            "participant_id", "purpose", name=op.f("uq_mailconsent_participant_id_purpose")
        ),
    )
    with op.batch_alter_table("mailconsent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mailconsent_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("to_name", sa.String(length=120), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("group_key", sa.String(length=160), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=False),
        sa.Column("sent_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_message_event_id_event"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_message_participant_id_participant"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("message_id", name=op.f("uq_message_message_id")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_group_key"), ["group_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_message_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index("ix_message_state_due_at", ["state", "due_at"], unique=False)

    op.create_table(
        "messageattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_messageattempt_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messageattempt")),
    )
    with op.batch_alter_table("messageattempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messageattempt_message_id"), ["message_id"], unique=False
        )

    op.create_table(
        "messagecause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("pledge_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action.id"],
            name=op.f("fk_messagecause_action_id_action"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_messagecause_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"],
            ["pledge.id"],
            name=op.f("fk_messagecause_pledge_id_pledge"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messagecause")),
        sa.UniqueConstraint("key", name=op.f("uq_messagecause_key")),
    )
    with op.batch_alter_table("messagecause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messagecause_action_id"), ["action_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_messagecause_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messagecause_pledge_id"), ["pledge_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messagecause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messagecause_pledge_id"))
        batch_op.drop_index(batch_op.f("ix_messagecause_message_id"))
        batch_op.drop_index(batch_op.f("ix_messagecause_action_id"))

    op.drop_table("messagecause")
    with op.batch_alter_table("messageattempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messageattempt_message_id"))

    op.drop_table("messageattempt")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_state_due_at")
        batch_op.drop_index(batch_op.f("ix_message_participant_id"))
        batch_op.drop_index(batch_op.f("ix_message_group_key"))
        batch_op.drop_index(batch_op.f("ix_message_event_id"))

    op.drop_table("message")
    with op.batch_alter_table("mailconsent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailconsent_participant_id"))

    op.drop_table("mailconsent")
