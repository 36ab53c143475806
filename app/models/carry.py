"""Last year's open work in this year's event: an action carried over, linked, not copied."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class CarriedAction(SQLModel, table=True):
    """An open action of an earlier event, brought into a later one by its organiser.

    The action stays one row in its own event: an update posted through its link, or seen
    from either event, is the same update. Carried once per event (the unique key), however
    often the organiser asks.
    """

    __table_args__ = (UniqueConstraint("event_id", "action_id"),)
    id: int | None = Field(default=None, primary_key=True)
    # The event it is carried into.
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    action_id: int = Field(foreign_key="action.id", index=True, ondelete="CASCADE")
    # Where it came from (the action's own event), kept so a page need not look it up.
    from_event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    carried_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CarriedPledge(SQLModel, table=True):
    """A pledge of an earlier event, brought into a later one with its open work.

    Linked, not copied: the pledge stays one row in its own event, with its answer. When its
    author refreshes it in the later event, their new pledge is a pledge of that event, and
    this row names it, so the old one is shown beside the new and never overwritten.
    """

    __table_args__ = (UniqueConstraint("event_id", "pledge_id"),)
    id: int | None = Field(default=None, primary_key=True)
    # The event it is carried into.
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    pledge_id: int = Field(foreign_key="pledge.id", index=True, ondelete="CASCADE")
    from_event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    carried_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The author's new pledge in the later event, once they have refreshed this one.
    refreshed_by_id: int | None = Field(
        default=None, foreign_key="pledge.id", index=True, ondelete="SET NULL"
    )
