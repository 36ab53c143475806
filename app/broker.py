"""The broker: every committed change to an event reaches the live pages of every process.

A change is only ids: the event, its new agenda version, and the participants whose own
agenda changed (PostgreSQL caps a notification at 8,000 bytes; a long list becomes
"everyone"). Two backends:

- in-process (the default): the database session hands its changes over after commit. One
  process only; a second process learns of changes from the hubs' periodic check.
- PostgreSQL LISTEN/NOTIFY: the transaction that bumps the version also sends the
  notification, so PostgreSQL delivers it on commit to every process on every host that
  listens, this one included. The listening connection reconnects when it drops; after a
  reconnect every page is told to resynchronise, since notifications may have been missed.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from app.db import Database, libpq_url

log = logging.getLogger("openspace.live")

CHANNEL = "openspace_changes"
_MAX_PAYLOAD = 7000


@dataclass(frozen=True)
class Change:
    """An event's agenda changed: its new version, and whose own agenda changed with it
    (None: anyone's may have)."""

    event_id: int
    version: int
    people: frozenset[int] | None = frozenset()

    def encode(self) -> str:
        people = "*" if self.people is None else ",".join(map(str, sorted(self.people)))
        payload = f"{self.event_id} {self.version} {people}"
        return payload if len(payload) <= _MAX_PAYLOAD else f"{self.event_id} {self.version} *"

    @staticmethod
    def around_version(event_id: int, people: frozenset[int] | None) -> tuple[str, str]:
        """A change's payload before and after its version, for the database to fill in
        the version it gives (the payload is never longer than with the longest one)."""
        head, _version, tail = Change(event_id, 10**19, people).encode().split(" ", 2)
        return f"{head} ", f" {tail}"

    @classmethod
    def decode(cls, payload: str) -> "Change | None":
        try:
            event_id, version, people = [*payload.split(" "), ""][:3]
            ids = None if people == "*" else frozenset(int(p) for p in people.split(",") if p)
            return cls(int(event_id), int(version), ids)
        except ValueError:
            log.warning("ignored a malformed change notification: %r", payload[:100])
            return None


# Called on the event loop with a change, or with None: "anything may have changed".
Listener = Callable[[Change | None], None]


class Broker:
    """Hands changes to this process's listeners, on the event loop.

    An app normally runs on one event loop; a test client may start it on several at once,
    so each started loop gets its own delivery (and, for PostgreSQL, its own listener).
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._loops: list[asyncio.AbstractEventLoop] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        self._loops.append(asyncio.get_running_loop())

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._loops.remove(asyncio.get_running_loop())

    @property
    def connected(self) -> bool:
        return bool(self._loops)

    def _deliver(self, change: Change | None) -> None:
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # one broken page must not stop the others' updates
                log.exception("live update listener failed")

    def _deliver_from_any_thread(self, change: Change) -> None:
        for loop in list(self._loops):
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._deliver, change)


class InProcessBroker(Broker):
    """Changes committed by this process reach its own live pages."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        database.on_commit.append(self._committed)

    def _committed(self, changes: list[Change]) -> None:
        for change in changes:
            self._deliver_from_any_thread(change)


class PostgresBroker(Broker):
    """Listens for the notifications every writer's transaction sends on commit."""

    def __init__(self, database_url: str, *, retry_seconds: float = 1.0) -> None:
        super().__init__()
        self._url = libpq_url(database_url)
        self._retry = retry_seconds
        self._tasks: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._listening = 0

    @property
    def connected(self) -> bool:
        """Whether a notification connection is listening now."""
        return self._listening > 0

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._tasks[loop] = loop.create_task(self._listen_forever(), name="openspace-listen")

    async def stop(self) -> None:
        task = self._tasks.pop(asyncio.get_running_loop(), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().stop()

    async def _listen_forever(self) -> None:
        delay = self._retry
        while True:
            listening = False
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    listening = True
                    self._listening += 1
                    delay = self._retry
                    self._deliver(None)  # whatever was missed while not listening
                    async for notice in conn.notifies():
                        change = Change.decode(notice.payload)
                        if change is not None:
                            self._deliver(change)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("lost the PostgreSQL notification connection: %s", error)
            finally:
                if listening:
                    self._listening -= 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)


def make_broker(database: Database) -> Broker:
    """PostgreSQL's notifications when the database is PostgreSQL, else in-process."""
    if database.settings.is_sqlite:
        return InProcessBroker(database)
    # Straight to PostgreSQL: a pooler in transaction mode would not keep a LISTEN.
    return PostgresBroker(database.settings.direct_url)
