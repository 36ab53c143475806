"""The event and its set-up: team, facilitator links, spaces, slots and themes."""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator
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
# Those days, and moments in them, as a script writes them in JSON (ISO 8601): a day of the
# calendar, a time of day, and a UTC offset if any. The API's OpenAPI document states the
# same patterns, and the server takes nothing else: pydantic alone would also read a number,
# or a string of digits, as seconds since 1970.
_YEAR = "(19[0-9]{2}|2[0-9]{3})"
_LEAP_YEAR = "((19|2[0-9])(0[48]|[2468][048]|[13579][26])|2[048]00)"
DAY_TEXT = (
    f"({_YEAR}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    f"|{_YEAR}-(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    f"|{_YEAR}-02-(0[1-9]|1[0-9]|2[0-8])"
    f"|{_LEAP_YEAR}-02-29)"
)
UTC_OFFSET_TEXT = "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
MOMENT_TEXT = (
    f"{DAY_TEXT}[Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?{UTC_OFFSET_TEXT}?"
)
# Text with something in it once what is not text and the spaces around it are gone (see
# Form): a character that is neither a space (str.isspace) nor one of _NOT_TEXT's, as a
# JSON Schema pattern. (The planes' last two non-characters are left out: a pattern cannot
# name them the same way in every regular expression language.)
MEANT_TEXT = (
    "[^\\u0000-\\u0020\\u007f\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029"
    "\\u202f\\u205f\\u3000\\ufdd0-\\ufdef\\ufffe\\uffff]"
)
TIME_ZONES = tuple(sorted(available_timezones()))


_DAY = re.compile(DAY_TEXT)
_MOMENT = re.compile(MOMENT_TEXT)
_ZONES = frozenset(TIME_ZONES)


def as_typed(text: str) -> str:
    """Text as a person meant it: without the control characters that are not text."""
    return _NOT_TEXT.sub("", text)


def _meant_text(schema: dict[str, Any]) -> None:
    """In a Form's JSON Schema: text that may not be empty has something in it once cleaned."""
    for field in schema["properties"].values():
        if field.get("minLength", 0) > 0:
            field.setdefault("pattern", MEANT_TEXT)


class Form(SQLModel):
    """Input from a person: surrounding spaces and control characters are not part of what
    they meant, and a date is a day of the calendar people live by."""

    model_config = ConfigDict(  # type: ignore[assignment]
        str_strip_whitespace=True, json_schema_extra=_meant_text
    )

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


def _event_rules(schema: dict[str, Any]) -> None:
    """The rules of EventCreate's validators, in its JSON Schema (the API's document)."""
    _meant_text(schema)
    fields = schema["properties"]
    fields["starts_on"]["pattern"] = f"^{DAY_TEXT}$"
    fields["starts_on"]["description"] = f"A day from {FIRST_DAY} to {LAST_DAY}, like 2026-06-21"
    fields["timezone"]["enum"] = list(TIME_ZONES)
    code = "|".join(LANGUAGES)
    fields["languages"]["pattern"] = f"^,*({code})(,+({code}))*,*$"
    fields["languages"]["description"] = "Language codes, separated by commas"


class EventCreate(EventBase, Form):
    model_config = ConfigDict(json_schema_extra=_event_rules)

    @field_validator("starts_on", mode="before")
    @classmethod
    def _written_day(cls, value: Any) -> Any:
        if isinstance(value, date) or (isinstance(value, str) and _DAY.fullmatch(value)):
            return value
        raise ValueError(_("Please enter a date like 2026-06-21."))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _ZONES:
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
    # The closing circle's check-out: open while it holds a key (random, made when the
    # facilitator opens it). Answers carry a keyed hash of who answered, to take one per
    # person; closing throws the key away, so no one can tell whose answer is which.
    checkout_key: str | None = Field(default=None, max_length=64)
    # Once closed, the event takes no more proposals or sign-ups.
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When "send the book to those who asked" was pressed (each person gets it once, ever).
    book_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Its organisers get a weekly digest of its open actions (unless one turns theirs off).
    weekly_digest: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def checkout_open(self) -> bool:
        return self.checkout_key is not None


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


def _slot_rules(schema: dict[str, Any]) -> None:
    """The rules of SlotCreate's validators, in its JSON Schema (the API's document)."""
    _meant_text(schema)
    fields = schema["properties"]
    offset = {"pattern": f"{UTC_OFFSET_TEXT}$"}
    for name in ("starts_at", "ends_at"):
        fields[name].pop("format")  # "date-time" demands an offset, which may be left out
        fields[name]["pattern"] = f"^{MOMENT_TEXT}$"
        fields[name]["description"] = (
            f"A moment from {FIRST_DAY} to {LAST_DAY}: 2026-06-21T10:45 is the venue's time, "
            "2026-06-21T09:45Z or 2026-06-21T10:45+01:00 say their offset"
        )
    fields["ends_at"]["description"] += (
        "; after starts_at: a slot that does not end after it starts is refused (422, ends_at)"
    )
    schema["anyOf"] = [
        {"properties": {"starts_at": offset, "ends_at": offset}},
        {"properties": {"starts_at": {"not": offset}, "ends_at": {"not": offset}}},
    ]


class SlotCreate(SlotBase, Form):
    """A slot given as two moments; a moment without a UTC offset is in the event's zone.
    Both have an offset or neither has, and the slot ends after it starts."""

    model_config = ConfigDict(json_schema_extra=_slot_rules)

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _written_moment(cls, value: Any) -> Any:
        if isinstance(value, datetime) or (isinstance(value, str) and _MOMENT.fullmatch(value)):
            return value
        raise ValueError(_("Please enter a date and time like 2026-06-21T10:45."))

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is None:  # refused already
            return ends_at
        if (starts_at.tzinfo is None) != (ends_at.tzinfo is None):
            raise ValueError(_("Give both times with a UTC offset, or neither."))
        if ends_at <= starts_at:
            raise ValueError(_("The slot must end after it starts."))
        return ends_at


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
