"""Organisers (accounts), their API tokens, and participants (no account)."""

from datetime import datetime
from enum import StrEnum

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
PASSWORD_MIN = 10


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
    # … news of their sessions on the day; the book of proceedings when it is ready.
    mail_sessions: bool = False
    mail_book: bool = False

    @field_validator("mail_actions", "mail_sessions", "mail_book", mode="before")
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


# An invitation to an event's team lasts this long; a password-reset link, much less.
INVITE_DAYS = 7
RESET_MINUTES = 60


class LinkState(StrEnum):
    """Where a single-use link sent by mail stands."""

    open = "open"
    used = "used"
    expired = "expired"
    cancelled = "cancelled"
    # A newer invitation (or a new password) replaced the one this link was made for.
    replaced = "replaced"


class TeamInvite(SQLModel, table=True):
    """An organiser asked someone to join an event's team, by a link sent to their address.

    One row per event and address: inviting again after it ran out or was cancelled renews it
    (a new `version`, so older links stop working) and a new message goes; while it is open,
    inviting again sends nothing new."""

    __table_args__ = (UniqueConstraint("event_id", "email"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    email: str = Field(max_length=EMAIL_MAX)
    # The name the organiser typed, offered to the invitee (who may change it).
    name: str = Field(default="", max_length=NAME_MAX)
    role: str = Field(max_length=16)
    invited_by_id: int | None = Field(default=None, foreign_key="organiser.id", ondelete="SET NULL")
    version: int = Field(default=1)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def state(self, now: datetime, version: int | None = None) -> LinkState:
        """Where the invitation (as a link of `version`, if given) stands at `now`."""
        if version is not None and version != self.version:
            return LinkState.replaced
        if self.accepted_at is not None:
            return LinkState.used
        if self.cancelled_at is not None:
            return LinkState.cancelled
        return LinkState.expired if now >= self.expires_at else LinkState.open


class PasswordReset(SQLModel, table=True):
    """Someone asked for a link to set a new password for this account.

    No secret is stored: the link is the row's id and `password_mark` signed with the
    installation's key. The mark is a fingerprint of the password hash when it was asked
    for, so any new password (by this link or another way) ends every link made before."""

    id: int | None = Field(default=None, primary_key=True)
    organiser_id: int = Field(foreign_key="organiser.id", index=True, ondelete="CASCADE")
    password_mark: int
    asked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def state(self, now: datetime, mark: int, current_mark: int) -> LinkState:
        """Where a link carrying `mark` stands, the account's password now marked
        `current_mark`."""
        if self.used_at is not None:
            return LinkState.used
        if mark != self.password_mark or current_mark != self.password_mark:
            return LinkState.replaced
        return LinkState.expired if now >= self.expires_at else LinkState.open


def long_enough(password: str) -> str:
    """A new password, if it is long enough (the one rule for every password chosen)."""
    if len(password) < PASSWORD_MIN:
        raise ValueError(_("Please use at least %(n)s characters.", n=PASSWORD_MIN))
    return password


class NewPassword(Form):
    """A password chosen by its owner, typed twice."""

    password: str = Field(max_length=PASSWORD_MAX)
    password_again: str = Field(max_length=PASSWORD_MAX)

    @field_validator("password")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        return long_enough(value)

    @field_validator("password_again")
    @classmethod
    def _the_same(cls, value: str, info: ValidationInfo) -> str:
        if "password" in info.data and value != info.data["password"]:
            raise ValueError(_("The two passwords are not the same. Please type it again."))
        return value


class JoiningTeam(NewPassword):
    """What an invitee with no account yet types: their name and a password."""

    name: str = Field(min_length=1, max_length=NAME_MAX)


class ForgotPassword(Form):
    """The address someone asks a new password for."""

    email: str = Field(max_length=EMAIL_MAX)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value, required=True).lower()
