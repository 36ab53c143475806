"""Organisers (accounts), their API tokens, and participants (no account)."""

from datetime import datetime

from pydantic import ValidationInfo, field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.i18n import _
from app.models.base import UTCDateTime, utcnow
from app.models.event import Form

NAME_MAX = 80
EMAIL_MAX = 254
TOKEN_NAME_MAX = 80
PASSWORD_MAX = 200


def check_email(value: str, *, required: bool) -> str:
    """A light e-mail check: one @, something on each side, a dot in the domain."""
    value = value.strip()
    if not value and not required:
        return ""
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or " " in value:
        raise ValueError(_("Please enter an e-mail address like name@example.org."))
    return value


class Organiser(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=EMAIL_MAX, unique=True, index=True)
    name: str = Field(max_length=NAME_MAX)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Every signed-in browser carries the generation it signed in under: bumping it (log-out,
    # "sign out everywhere", a new password) ends them all, copies of the cookie included.
    session_generation: int = Field(default=1)
    # A first password made by someone else (a team member's) is changed at first log-in.
    must_change_password: bool = Field(default=False)
    # Wrong passwords in a row, and until when the account refuses to check another one.
    failed_logins: int = Field(default=0)
    login_locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The weekly digest of their events' open actions, by e-mail (they may turn it off).
    weekly_digest: bool = Field(default=True)


class OrganiserCreate(Form):
    email: str = Field(max_length=EMAIL_MAX)
    name: str = Field(min_length=1, max_length=NAME_MAX)
    password: str = Field(min_length=10, max_length=PASSWORD_MAX)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value, required=True).lower()


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organiser_id: int = Field(foreign_key="organiser.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=TOKEN_NAME_MAX)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ParticipantBase(SQLModel):
    display_name: str = Field(max_length=NAME_MAX)
    organisation: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=254)
    # The person agreed that their e-mail appears in the book of proceedings and the action
    # lists handed to whoever follows the actions up; without this it stays with the organisers.
    share_email: bool = Field(default=False)


class ParticipantJoin(ParticipantBase, Form):
    """What a person types to join an event."""

    display_name: str = Field(min_length=1, max_length=NAME_MAX)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value, required=False)

    @field_validator("share_email", mode="before")
    @classmethod
    def _ticked(cls, value: object, info: ValidationInfo) -> bool:
        ticked = value in (True, "on", "1", "true")
        if ticked and not info.data.get("email"):
            raise ValueError(_("Give your e-mail address above to share it, or untick this box."))
        return ticked

    # Asked for by the person: the private link and reminders for actions they come to own.
    mail_actions: bool = False

    @field_validator("mail_actions", mode="before")
    @classmethod
    def _asked(cls, value: object, info: ValidationInfo) -> bool:
        ticked = value in (True, "on", "1", "true")
        if ticked and not info.data.get("email"):
            raise ValueError(_("Give your e-mail address above for this, or untick this box."))
        return ticked


class Participant(ParticipantBase, table=True):
    __table_args__ = (UniqueConstraint("event_id", "join_key"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    # The random key of the join form that made this participant: a second tap on
    # "Join" finds them instead of making a twin.
    join_key: str | None = Field(default=None, max_length=64)
    # Bumped to revoke every "continue on another device" link handed out before.
    link_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the desk last printed their agenda (someone without a phone carries it on paper):
    # a seat change after it means the sheet is wrong, and the desk says so.
    agenda_printed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
