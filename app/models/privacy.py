"""People's data: an event's privacy notice and retention, and the log of erasures."""

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import String, Text
from sqlmodel import Field, SQLModel

from app.i18n import lazy
from app.models.base import UTCDateTime, utcnow
from app.models.event import Form

NOTICE_MAX = 4000
# Twelve months after the event's last open action is done, unless the organiser says else.
RETENTION_MONTHS = 12
# What an erased person is called wherever their name was, in every language's record.
ERASED_NAME = "A participant"


class ErasureMode(StrEnum):
    """How much of a person goes: their name only, or what they wrote too."""

    name_off = "name_off"
    everything = "everything"


MODE_LABELS = {
    ErasureMode.name_off: lazy("Take my name off"),
    ErasureMode.everything: lazy("Delete what I wrote too"),
}


class ErasedBy(StrEnum):
    person = "person"
    organiser = "organiser"
    retention = "retention"


class PrivacyForm(Form):
    """What the organiser says about people's data, and how long it is kept."""

    controller: str = Field(default="", max_length=200)
    contact: str = Field(default="", max_length=200)
    notice: str = Field(default="", max_length=NOTICE_MAX)
    retention_months: int = Field(default=RETENTION_MONTHS, ge=1, le=120)


class ErasureForm(Form):
    """A person's choice of what goes; asked again before it is done (`confirmed`)."""

    mode: ErasureMode
    confirmed: bool = False

    @field_validator("confirmed", mode="before")
    @classmethod
    def _ticked(cls, value: object) -> bool:
        return value in (True, "on", "1", "true", "yes")


class OrganiserErasureForm(ErasureForm):
    """An organiser erases someone on their request: why, for the audit log."""

    reason: str = Field(min_length=1, max_length=300)


class EventPrivacy(SQLModel, table=True):
    """An event's privacy notice and retention; an event without this row has the defaults."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", unique=True, ondelete="CASCADE")
    # Who is responsible for the data, and whom to ask (empty: the event's organisers).
    controller: str = Field(default="", max_length=200)
    contact: str = Field(default="", max_length=200)
    # The organiser's own words; empty: the default notice, in the reader's language.
    notice: str = Field(default="", max_length=NOTICE_MAX, sa_type=Text)
    retention_months: int = Field(default=RETENTION_MONTHS)
    # When retention took everyone's name off (once, whichever process got there first).
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Erasure(SQLModel, table=True):
    """One erasure: whose row, when, in which mode, asked by whom — never what was erased."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    mode: ErasureMode = Field(sa_type=String(16))
    asked_by: ErasedBy = Field(sa_type=String(16))
    # A hash of when their row was made and the key of the form that made it: an archive made
    # before the erasure still holds that row, and importing it erases them again.
    fingerprint: str = Field(default="", max_length=64, index=True)
    # How many rows of each kind changed ("contributions deleted: 2, …"), no content.
    summary: str = Field(default="", max_length=1000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
