"""All tables, imported so that SQLModel.metadata knows them."""

from app.models.agenda import Topic
from app.models.base import metadata
from app.models.event import (
    Event,
    EventStaff,
    FacilitatorLink,
    Role,
    Slot,
    SlotKind,
    Space,
    Theme,
)
from app.models.people import ApiToken, Organiser, Participant

__all__ = [
    "ApiToken",
    "Event",
    "EventStaff",
    "FacilitatorLink",
    "Organiser",
    "Participant",
    "Role",
    "Slot",
    "SlotKind",
    "Space",
    "Theme",
    "Topic",
    "metadata",
]
