"""What every page of one agenda version shows alike, read once per version and shared."""

import functools

from fastapi import Request
from sqlmodel import Session

from app.models import Announcement, Event, Slot, Space
from app.services import events as event_service
from app.services import live as live_service
from app.services import marketplace
from app.services.rows import copy_of
from app.web.kit.cache import read_once


def shared_cards(request: Request, session: Session, event: Event) -> list[marketplace.TopicCard]:
    """Every visible topic's card (the busiest question of the day: every phone's home, wall
    and topic pages ask it)."""
    read = functools.partial(marketplace.topic_cards, session, event)
    return read_once(request, event, "cards", read, marketplace.TopicCard.detached)


def shared_slots(request: Request, session: Session, event: Event) -> list[Slot]:
    """The event's slots in time order."""
    return read_once(request, event, "slots", lambda: event_service.slots(session, event), copy_of)


def shared_spaces(request: Request, session: Session, event: Event) -> list[Space]:
    """The event's spaces in the organiser's order."""
    return read_once(
        request, event, "spaces", lambda: event_service.spaces(session, event), copy_of
    )


def shared_announcements(request: Request, session: Session, event: Event) -> list[Announcement]:
    """The newest announcements still standing (every participant page shows them)."""
    read = functools.partial(live_service.announcements, session, event)
    return read_once(request, event, "announcements", read, copy_of)
