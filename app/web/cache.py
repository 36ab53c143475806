"""Parts of pages rendered once per agenda version and shared by everyone who sees the same.

Hundreds of phones reload the wall while sign-ups change it several times a second. Most of
them see the same thing (the sessions of a slot, drawn for someone with a seat in one of
them, or none), so each such part is rendered once per agenda version and reused. Entries
are keyed by the event's agenda version, which every change bumps in the same transaction,
so a change can never be answered with an older copy; each event keeps only its newest
version. The CSRF token differs per browser: parts are rendered with a placeholder and the
browser's token is put in when the page is sent.
"""

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

from fastapi import Request
from markupsafe import Markup, escape
from sqlmodel import Session

from app.models import Event
from app.services import marketplace

CSRF_PLACEHOLDER = "csrf-placeholder-7d1e2a"
T = TypeVar("T")


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


def shared_cards(request: Request, session: Session, event: Event) -> list[marketplace.TopicCard]:
    """Every visible topic's card. A page that only reads shares one copy per agenda version
    with every other reader (the busiest question of the day: every phone's home, wall and
    topic pages ask it); a change reads its own, which may not be stored yet."""
    if request.method != "GET":
        return marketplace.topic_cards(session, event)
    cache: VersionedParts[list[marketplace.TopicCard]] = request.app.state.topic_cards
    key = (event.id, event.join_code)
    cards = cache.get(key, event.agenda_version, "visible")
    if cards is None:
        cards = [card.detached() for card in marketplace.topic_cards(session, event)]
        cache.put(key, event.agenda_version, "visible", cards)
    return cards
