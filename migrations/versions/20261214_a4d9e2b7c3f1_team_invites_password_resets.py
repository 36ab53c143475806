"""team invites and password resets: single-use links for organiser accounts, sent by mail

Revision ID: a4d9e2b7c3f1
Revises: f3a9d2c71e64
Create Date: 2026-12-14 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "a4d9e2b7c3f1"
down_revision: str | None = "f3a9d2c71e64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teaminvite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_teaminvite_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["organiser.id"],
            name=op.f("fk_teaminvite_invited_by_id_organiser"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teaminvite")),
        sa.UniqueConstraint("event_id", "email", name=op.f("uq_teaminvite_event_id_email")),
    )
    with op.batch_alter_table("teaminvite", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teaminvite_event_id"), ["event_id"], unique=False)
    op.create_table(
        "passwordreset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organiser_id", sa.Integer(), nullable=False),
        sa.Column("password_mark", sa.Integer(), nullable=False),
        sa.Column("asked_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organiser_id"],
            ["organiser.id"],
            name=op.f("fk_passwordreset_organiser_id_organiser"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passwordreset")),
    )
    with op.batch_alter_table("passwordreset", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_passwordreset_organiser_id"), ["organiser_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("passwordreset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passwordreset_organiser_id"))
    op.drop_table("passwordreset")
    with op.batch_alter_table("teaminvite", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teaminvite_event_id"))
    op.drop_table("teaminvite")
