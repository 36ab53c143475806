"""The audit log: who on an event's team did what, and when."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    """One thing an organiser or facilitator did: a change, or a download of the results."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(
        default=None, foreign_key="event.id", index=True, ondelete="CASCADE"
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=300)  # "Name <e-mail>", or the facilitator link's label
    action: str = Field(max_length=200)  # what the route does, in its own words
    target: str = Field(default="", max_length=1000)  # its ids and form fields, shortened
    request_id: str = Field(default="", max_length=64)
