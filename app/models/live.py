"""What the room sees together: announcements and the marketplace pitch queue."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.i18n import _, lazy
from app.models.base import UTCDateTime, utcnow
from app.models.event import Form

ANNOUNCEMENT_MAX = 280


class ProjectorView(StrEnum):
    """What the projector shows; the facilitator switches it from their laptop or phone."""

    opening = "opening"
    marketplace = "marketplace"
    wall = "wall"
    now = "now"
    news = "news"
    converge = "converge"
    checkout = "checkout"


# What the facilitator's buttons and notices call each view.
VIEW_LABELS = {
    ProjectorView.opening: lazy("Opening circle"),
    ProjectorView.marketplace: lazy("Marketplace"),
    ProjectorView.wall: lazy("The wall"),
    ProjectorView.now: lazy("Now and next"),
    ProjectorView.news: lazy("News wall"),
    ProjectorView.converge: lazy("Top actions"),
    ProjectorView.checkout: lazy("Check-out"),
}


class AnnouncementCreate(Form):
    text: str = Field(min_length=1, max_length=ANNOUNCEMENT_MAX)


class Announcement(SQLModel, table=True):
    """A facilitator's message to everyone: on every phone and on the projector."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    text: str = Field(max_length=ANNOUNCEMENT_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Withdrawn announcements leave every screen.
    withdrawn: bool = Field(default=False)


class Pitch(SQLModel, table=True):
    """A convener's place in the marketplace queue to pitch their topic to the room."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    topic_id: int = Field(foreign_key="topic.id", unique=True, ondelete="CASCADE")
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Seconds left when the facilitator paused it; None while the clock runs.
    paused_left: int | None = Field(default=None)


CHECKOUT_WORDS_MAX = 80
USEFULNESS = range(1, 6)


class CheckOutForm(Form):
    """The closing circle's question on a phone: a few words to take away, and a mark."""

    words: str = Field(default="", max_length=CHECKOUT_WORDS_MAX)
    usefulness: int = Field(ge=USEFULNESS[0], le=USEFULNESS[-1])
    # Put my name to it (off by default: answers are anonymous).
    named: bool = False

    @field_validator("usefulness", mode="before")
    @classmethod
    def _a_mark(cls, value: Any) -> Any:
        if str(value) not in {str(n) for n in USEFULNESS}:
            raise ValueError(_("Please choose how useful today was, from 1 to 5."))
        return value


class CheckOut(SQLModel, table=True):
    """One answer to the check-out. Anonymous unless its author chose to put their name to it;
    it keeps no time, so it cannot be matched to what its author did in the app."""

    __table_args__ = (UniqueConstraint("event_id", "marker"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    words: str = Field(default="", max_length=CHECKOUT_WORDS_MAX)
    usefulness: int
    # Only for an answer its author put their name to.
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    # A keyed hash of who answered, so each person answers once while the check-out is open;
    # the key goes when it closes (see Event.checkout_key).
    marker: str | None = Field(default=None, max_length=64)
