"""The event and its set-up: team, facilitator links, spaces, slots and themes."""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import ConfigDict, field_validator, model_validator
from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.i18n import DEFAULT, LANGUAGES, _, lazy_text
from app.models.base import UTCDateTime, utcnow

# Stored as typed (English) when the organiser keeps it; pages show it in the reader's
# language while it is unchanged (see `principles` in app/templating.py).
DEFAULT_PRINCIPLES = lazy_text(
    "Whoever comes are the right people.\n"
    "Whenever it starts is the right time.\n"
    "Wherever it is, is the right place.\n"
    "Whatever happens is the only thing that could have.\n"
    "When it's over, it's over.\n\n"
    "The law of two feet: if you are neither learning nor contributing, "
    "use your two feet and go somewhere you can."
)


class Role(StrEnum):
    organiser = "organiser"
    facilitator = "facilitator"


class SlotKind(StrEnum):
    breakout = "breakout"
    plenary = "plenary"


# What is not text: control characters (NUL, escapes, bell…) that a keyboard does not type,
# that PostgreSQL refuses (NUL) and that show as nothing or as boxes; lone surrogates, which
# no encoding can write; and the non-characters (U+FFFE, U+FFFF, U+FDD0–U+FDEF and the last
# two of every plane). XML 1.0 forbids all of them, so one in a title broke the XLSX and
# DOCX exports for the whole event. Tab and newlines stay.
_NOT_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000)
    )
    + "]"
)
# The days a person may give: every event, deadline and reminder falls well within them, and
# a day's clock in any time zone, or the day after, stays within the dates Python can hold.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def as_typed(text: str) -> str:
    """Text as a person meant it: without the control characters that are not text."""
    return _NOT_TEXT.sub("", text)


class Form(SQLModel):
    """Input from a person: surrounding spaces and control characters are not part of what
    they meant, and a date is a day of the calendar people live by."""

    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _only_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                key: as_typed(value) if isinstance(value, str) else value
                for key, value in data.items()
            }
        return data

    @field_validator("*")
    @classmethod
    def _on_the_calendar(cls, value: Any) -> Any:
        day = value.date() if isinstance(value, datetime) else value
        if isinstance(day, date) and not FIRST_DAY <= day <= LAST_DAY:
            raise ValueError(_("Please enter a date like 2026-06-21."))
        return value


class EventBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    theme_question: str = Field(default="", max_length=300)
    starts_on: date
    timezone: str = Field(default="Europe/London", max_length=64)
    venue: str = Field(default="", max_length=200)
    principles: str = Field(default=DEFAULT_PRINCIPLES, max_length=4000, sa_type=Text)
    # The languages the event's pages offer participants, the first one the projector's.
    languages: str = Field(default=",".join(LANGUAGES), max_length=60)

    @property
    def offered(self) -> list[str]:
        return [code for code in self.languages.split(",") if code in LANGUAGES] or [DEFAULT]


class EventCreate(EventBase, Form):
    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(_("Please choose a time zone from the list, such as Europe/London."))
        return value

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: str) -> str:
        codes = [code for code in value.split(",") if code]
        if not codes:
            raise ValueError(_("Please choose at least one language."))
        if any(code not in LANGUAGES for code in codes):
            raise ValueError(_("Please choose from the languages listed."))
        return ",".join(dict.fromkeys(codes))


class EventUpdate(EventCreate):
    pass


class Event(EventBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    join_code: str = Field(max_length=12, unique=True, index=True)
    # Bumped to revoke the projector link handed out before.
    projector_version: int = Field(default=1)
    marketplace_open: bool = Field(default=False)
    # Bumped by every change to topics, places or seats: pages that show the agenda answer
    # "not modified" while it stays the same, and live updates know what is new.
    agenda_version: int = Field(default=1)
    # What the projector shows (see ProjectorView) and how long each marketplace pitch lasts.
    projector_view: str = Field(default="opening", max_length=20)
    pitch_seconds: int = Field(default=60)
    # Convergence: whether the dot vote is open, and how many dots each person has.
    vote_open: bool = Field(default=False)
    dots_per_person: int = Field(default=5)
    # Once closed, the event takes no more proposals or sign-ups.
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class EventPublic(EventBase):
    id: int
    join_code: str


class EventStaff(SQLModel, table=True):
    """An organiser account's role on one event."""

    __table_args__ = (UniqueConstraint("event_id", "organiser_id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    organiser_id: int = Field(foreign_key="organiser.id", index=True, ondelete="CASCADE")
    role: Role = Field(sa_type=String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FacilitatorLink(SQLModel, table=True):
    """A secret link that lets whoever holds it facilitate one event, until revoked."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    label: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SpaceBase(SQLModel):
    name: str = Field(min_length=1, max_length=80)
    capacity: int = Field(ge=1, le=10_000)
    access_notes: str = Field(default="", max_length=300)


class SpaceCreate(SpaceBase, Form):
    pass


class Space(SpaceBase, table=True):
    __table_args__ = (
        UniqueConstraint("event_id", "name"),
        # One space per event holds the plenaries, even if two organisers choose at once.
        Index(
            "ix_space_plenary_hall",
            "event_id",
            unique=True,
            sqlite_where=text("hosts_plenaries"),
            postgresql_where=text("hosts_plenaries"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    position: int = Field(default=0)
    # The event's setting of where everyone meets together (opening and closing circles):
    # kept on the space, not the event, so that an archive loads tables in one order.
    hosts_plenaries: bool = Field(default=False)


class SpacePublic(SpaceBase):
    id: int
    event_id: int


SLOT_TITLE_MAX = 80


class SlotBase(SQLModel):
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    kind: SlotKind = Field(default=SlotKind.breakout, sa_type=String(16))
    title: str = Field(default="", max_length=SLOT_TITLE_MAX)


class SlotCreate(SlotBase, Form):
    """A slot given as two moments; a moment without a UTC offset is in the event's zone."""

    @model_validator(mode="after")
    def _ends_after_start(self) -> "SlotCreate":
        if (self.starts_at.tzinfo is None) != (self.ends_at.tzinfo is None):
            raise ValueError(_("Give both times with a UTC offset, or neither."))
        if self.ends_at <= self.starts_at:
            raise ValueError(_("The slot must end after it starts."))
        return self


class Slot(SlotBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")


class SlotPublic(SlotBase):
    id: int
    event_id: int


# How far the rest of a day may be moved in one step: three hours either way.
SHIFT_MINUTES_MAX = 180


class SlotShift(Form):
    """Move the slots still to come on one day by a number of minutes (negative: earlier),
    from a chosen slot on (None: from the next one to start)."""

    minutes: int = Field(ge=-SHIFT_MINUTES_MAX, le=SHIFT_MINUTES_MAX)
    from_slot_id: int | None = Field(default=None, ge=1)

    @field_validator("minutes")
    @classmethod
    def _moves(cls, value: int) -> int:
        if value == 0:
            raise ValueError(_("Please enter a number of minutes other than 0."))
        return value

    @field_validator("from_slot_id", mode="before")
    @classmethod
    def _none_chosen(cls, value: Any) -> Any:
        return None if value == "" else value


class ThemeBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=1000, sa_type=Text)


class ThemeCreate(ThemeBase, Form):
    pass


class Theme(ThemeBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    position: int = Field(default=0)
