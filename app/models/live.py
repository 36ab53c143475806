"""What the room sees together: announcements and the marketplace pitch queue."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.i18n import lazy
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


# What the facilitator's buttons and notices call each view.
VIEW_LABELS = {
    ProjectorView.opening: lazy("Opening circle"),
    ProjectorView.marketplace: lazy("Marketplace"),
    ProjectorView.wall: lazy("The wall"),
    ProjectorView.now: lazy("Now and next"),
    ProjectorView.news: lazy("News wall"),
    ProjectorView.converge: lazy("Top actions"),
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
