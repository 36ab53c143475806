"""Parts of pages rendered once per agenda version and shared by everyone who sees the same.

Hundreds of phones reload the wall while sign-ups change it several times a second. Most of
them see the same thing (the sessions of a slot, drawn for someone with a seat in one of
them, or none), so each such part is rendered once per agenda version and reused. Entries
are keyed by the event's agenda version, which every change bumps in the same transaction,
so a change can never be answered with an older copy; each event keeps only its newest
version. The CSRF token differs per browser: parts are rendered with a placeholder and the
browser's token is put in when the page is sent.
"""

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from fastapi import Request
from markupsafe import Markup, escape
from sqlmodel import Session

from app.models import Announcement, Event, Slot
from app.services import events as event_service
from app.services import live as live_service
from app.services import marketplace
from app.services.rows import copy_of

CSRF_PLACEHOLDER = "csrf-placeholder-7d1e2a"
# A shared page's live parts wait a delay of their own before refetching, so that a change
# does not bring every phone back at the same moment.
JITTER_PLACEHOLDER = "jitter-placeholder-5b3c91"
T = TypeVar("T")
R = TypeVar("R")


class VersionedParts(Generic[T]):
    """Rendered HTML (or what it is drawn from) per (event, agenda version, key); older
    versions are dropped.

    An event is named by its id and join code: a database emptied and filled again (ids
    start over) cannot be answered from the copy of an event that was there before.
    """

    def __init__(self, max_entries_per_event: int = 2000) -> None:
        self._lock = threading.Lock()
        self._events: dict[Hashable, tuple[int, dict[Hashable, T]]] = {}
        self._limit = max_entries_per_event

    def get(self, event: Hashable, version: int, key: Hashable) -> T | None:
        held = self._events.get(event)
        if held is None or held[0] != version:
            return None
        return held[1].get(key)

    def put(self, event: Hashable, version: int, key: Hashable, html: T) -> None:
        with self._lock:
            held = self._events.get(event)
            if held is None or held[0] < version:
                held = (version, {})
                self._events[event] = held
            elif held[0] > version:  # a slower request read an older agenda: keep the newer
                return
            if len(held[1]) < self._limit:
                held[1][key] = html

    def __len__(self) -> int:
        return sum(len(parts) for _, parts in self._events.values())


def with_csrf(html: str, csrf_token: str) -> Markup:
    """A shared part made personal: this browser's CSRF token in place of the placeholder."""
    return Markup(html.replace(CSRF_PLACEHOLDER, str(escape(csrf_token))))


def personal(html: str, csrf_token: str, jitter: int) -> str:
    """A shared page made personal: this browser's CSRF token, and a delay of its own."""
    return with_csrf(html, csrf_token).replace(JITTER_PLACEHOLDER, str(jitter))


def _shared(
    request: Request, event: Event, what: str, read: Callable[[], list[R]], copy: Callable[[R], R]
) -> list[R]:
    """What every reader of one agenda version sees alike, read once per version and shared
    (as copies no session tracks) by every page that only reads; a change reads its own,
    which may not be stored yet."""
    if request.method != "GET":
        return read()
    cache: VersionedParts[list[Any]] = request.app.state.shared_rows
    key = (event.id, event.join_code)
    rows: list[R] | None = cache.get(key, event.agenda_version, what)
    if rows is None:
        rows = [copy(row) for row in read()]
        cache.put(key, event.agenda_version, what, rows)
    return rows


def shared_cards(request: Request, session: Session, event: Event) -> list[marketplace.TopicCard]:
    """Every visible topic's card (the busiest question of the day: every phone's home, wall
    and topic pages ask it)."""
    read = functools.partial(marketplace.topic_cards, session, event)
    return _shared(request, event, "cards", read, marketplace.TopicCard.detached)


def shared_slots(request: Request, session: Session, event: Event) -> list[Slot]:
    """The event's slots in time order."""
    return _shared(request, event, "slots", lambda: event_service.slots(session, event), copy_of)


def shared_announcements(request: Request, session: Session, event: Event) -> list[Announcement]:
    """The newest announcements still standing (every participant page shows them)."""
    read = functools.partial(live_service.announcements, session, event)
    return _shared(request, event, "announcements", read, copy_of)
