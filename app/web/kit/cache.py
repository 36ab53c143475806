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
from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Request

T = TypeVar("T")
R = TypeVar("R")


class Versioned(Protocol):
    """What parts are shared by: an event, with the version every change of its agenda bumps."""

    id: int | None
    join_code: str
    agenda_version: int


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
        self._making: dict[tuple[Hashable, int, Hashable], _Making[T]] = {}

    def get_or_make(self, event: Hashable, version: int, key: Hashable, make: Callable[[], T]) -> T:
        """The part, made by `make` if nobody has yet. A change sends every open phone back at
        once: the first to ask makes the part, and the others asking for it meanwhile wait for
        theirs instead of each making it again (a dozen worker threads drawing the same wall)."""
        found = self.get(event, version, key)
        if found is not None:
            return found
        name = (event, version, key)
        with self._lock:
            making = self._making.get(name)
            mine = making is None
            if making is None:
                making = self._making[name] = _Making()
        if not mine:
            if making.done.wait(WAIT_FOR_MAKER) and making.value is not None:
                return making.value
            return make()  # the maker failed, or is stuck: make it here
        try:
            making.value = made = make()
            self.put(event, version, key, made)
            return made
        finally:
            making.done.set()
            with self._lock:
                del self._making[name]

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


WAIT_FOR_MAKER = 10.0  # seconds a request waits for another's part before making its own


class _Making(Generic[T]):
    """A part being made by one request, which others wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None


def read_once(
    request: Request,
    event: Versioned,
    what: str,
    read: Callable[[], list[R]],
    copy: Callable[[R], R],
) -> list[R]:
    """What every reader of one agenda version sees alike, read once per version and shared
    (as copies no session tracks) by every page that only reads; a change reads its own,
    which may not be stored yet."""
    if request.method != "GET":
        return read()
    cache: VersionedParts[list[Any]] = request.app.state.shared_rows
    key = (event.id, event.join_code)
    return cache.get_or_make(key, event.agenda_version, what, lambda: [copy(row) for row in read()])
