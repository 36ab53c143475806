"""Live pages: one hub per event coalesces changes and feeds every open phone and projector.

A hub exists while someone watches its event. When the broker reports a change, the hub
waits until at least `GAP` seconds have passed since its last update, then reads the event
once and draws one *frame*: the fills and interest counts of every session, a signature of
the wall's layout and of the topic list, the announcements, and the projector's screen.
Every subscriber compares the new frame with the last one it sent and writes only what
differs, as Server-Sent Events named after what changed:

- `counts`: the fill bars and interest counts that changed, as htmx out-of-band swaps;
- `wall`, `topics`, `mine`: triggers to fetch the page part again (the wall's layout, the
  topic list, this participant's own seats and waitlist places);
- `news`, `vote`, `report-<topic id>`: the same for the afternoon (completed reports, what
  can be voted on, one session's report): a report page hears only about its own report;
- `announce`: the announcements; `screen`: the projector's whole screen.

However many sign-ups arrive, a page gets at most 1 / GAP updates a second, and the work per
change is one read and one render per process, not per page. Each message carries the
agenda version as its id: a reconnecting browser sends it back (Last-Event-ID) and gets
everything again if it missed anything. The retry delay is random per connection, so a
restart does not bring every phone back at the same instant.
"""

import asyncio
import contextlib
import hashlib
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import anyio.to_thread
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session, select

from app import i18n
from app.broker import Broker, Change
from app.db import Database
from app.models import Event, ProjectorView, SlotKind
from app.models.base import utcnow
from app.services import actions as action_service
from app.services import check_out, convergence, marketplace, wall
from app.services import events as event_service
from app.services import live as live_service
from app.services import reports as report_service
from app.templating import render_part
from app.web.agenda import shared_announcements
from app.web.kit.forms import whole_number

GAP = 0.3  # seconds between two updates of one page, at least
CHECK_EVERY = 5.0  # seconds between checks that nothing was missed
KEEP_ALIVE = 15.0  # seconds of silence before a ping (proxies drop idle streams)
RETRY_MS = (1000, 6000)  # a reconnecting browser waits a random time in this range
_FRAMES_KEPT = 30  # how far back a slow subscriber can catch up before resyncing


def sse(name: str, data: str, version: int) -> str:
    """One Server-Sent Event; every line of `data` becomes a data line."""
    lines = "".join(f"data: {line}\n" for line in (data.splitlines() or [""]))
    return f"event: {name}\nid: {version}\n{lines}\n"


@dataclass(eq=False)
class Frame:
    """What the live pages of one event show at one agenda version."""

    version: int
    # Per language watched here: element id → its out-of-band HTML (fill bars, counts).
    counts: dict[str, dict[str, str]]
    wall: str  # signature of the wall's layout (places, titles, rooms, times)
    topics: str  # signature of the topic list
    news: str  # signature of the completed reports (the news wall)
    vote: str  # signature of what can be voted on, and whether the vote is open
    reports: dict[int, str]  # topic id → signature of its report
    announce: dict[str, str]  # per language watched: the announcements' HTML
    screen: dict[str, str]  # per language watched: the projector's screen
    valid_until: datetime | None  # when the clock changes the screen (a slot starts or ends)
    offered: tuple[str, ...] = ()  # the languages the event offers (counts has those watched)
    people: frozenset[int] | None = frozenset()  # whose own agenda changed; None: anyone's
    previous: "Frame | None" = None
    _diffs: dict[tuple[object, ...], str] = field(default_factory=dict)

    def drawn(self, key: tuple[object, ...], draw: Callable[[], str]) -> str:
        """What `draw` makes, made once for every page that asks with the same `key` (nearly
        every page asks about the frame just before this one)."""
        if key not in self._diffs:
            if len(self._diffs) > 32:
                self._diffs.clear()
            self._diffs[key] = draw()
        return self._diffs[key]

    def counts_since(self, last: "Frame | None", language: str) -> str:
        """The out-of-band swaps of every count that differs from `last` (all if None)."""

        def draw() -> str:
            mine = self.counts.get(language) or next(iter(self.counts.values()), {})
            old = last.counts.get(language, {}) if last is not None else {}
            return "".join(html for element, html in mine.items() if old.get(element) != html)

        return self.drawn(("counts", language, id(last)), draw)

    def speaks(self, language: str) -> bool:
        """Whether this frame serves a page in `language`: drawn in it, or the event does not
        offer it (the page then hears the event's first language)."""
        return language in self.counts or language not in self.offered

    def shown(self, parts: dict[str, str], language: str) -> str:
        """A part in `language` (or in the event's first language, if it stopped offering it)."""
        return parts.get(language) or next(iter(parts.values()), "")

    def reports_since(self, last: "Frame | None") -> str:
        """A trigger for each report that changed after `last` (all if None)."""

        def draw() -> str:
            old = last.reports if last is not None else {}
            return "".join(
                sse(f"report-{topic_id}", "", self.version)
                for topic_id, state in self.reports.items()
                if old.get(topic_id) != state
            )

        return self.drawn(("reports", id(last)), draw)

    def people_since(self, last: "Frame | None") -> frozenset[int] | None:
        """Everyone whose own agenda changed after `last` (None: anyone's may have)."""
        people: set[int] = set()
        frame: Frame | None = self
        while frame is not None and frame is not last:
            if frame.people is None:
                return None
            people |= frame.people
            frame = frame.previous
        return frozenset(people) if frame is last else None


def _signature(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def build_frame(
    database: Database,
    event_id: int,
    people: frozenset[int] | None,
    previous: Frame | None,
    join_link: Callable[[Event], str],
    watched: frozenset[str] = frozenset(),
) -> Frame | None:
    """Read the event once and draw what its live pages show (runs in a worker thread), in
    each language the event offers that a page here watches in (its first one if none)."""
    with database.snapshot() as session:  # the version and what it shows, of one moment
        event = session.get(Event, event_id)
        if event is None:
            return None
        ctx = screen_context(session, event, join_link(event))
    cards: list[marketplace.TopicCard] = ctx["cards"]
    counts: dict[str, dict[str, str]] = {}
    announce: dict[str, str] = {}
    screen: dict[str, str] = {}
    languages = [lang for lang in event.offered if lang in watched] or event.offered[:1]
    for language in languages:  # each page hears its own language
        before = _Kept(previous, language)
        with i18n.speaking(language):
            counts[language] = drawn = {}
            for card in cards:
                card_ctx = {"card": card, "oob": True}
                key = f"interest-{card.topic.id}"
                drawn[key] = before.count(
                    key, render_part(None, "participant/_interest_count.html", card_ctx)
                )
                if card.space is not None:
                    key = f"fill-{card.topic.id}"
                    drawn[key] = before.count(
                        key, render_part(None, "participant/_fill.html", card_ctx)
                    )
            announce[language] = before.same(
                before.announce, render_part(None, "live/_announcements.html", ctx)
            )
            screen[language] = before.same(
                before.screen, render_part(None, "projector/_screen.html", ctx)
            )
    placed = [
        (c.topic.id, c.topic.title, c.topic.language, c.topic.slot_id, c.topic.space_id)
        for c in cards
        if c.topic.placed
    ]
    wall_layout = _signature(
        event.name,
        event.timezone,
        event.closed_at,
        placed,
        [(s.id, s.starts_at, s.ends_at, s.title, s.kind) for s in ctx["slots"]],
        [(s.id, s.name, s.capacity, s.access_notes) for s in ctx["spaces"]],
        # What a session offers changes with these: "Sign up" or "Join the waitlist", or
        # nothing once it has ended. (The fill bars alone come with the counts.)
        [c.topic.id for c in cards if c.full],
        [s.id for s in ctx["slots"] if s.ends_at <= ctx["now"]],
    )
    topic_list = _signature(
        event.marketplace_open,
        [(c.topic.id, c.topic.title, c.topic.language, c.themes, c.co_conveners) for c in cards],
        placed,
    )
    frame = Frame(
        version=event.agenda_version,
        counts=counts,
        wall=wall_layout,
        topics=topic_list,
        news=_signature(
            [(n.report.id, n.report.completed_at, n.key_points, n.actions) for n in ctx["news"]]
        ),
        vote=_signature(
            event.vote_open,
            event.dots_per_person,
            [(a.action.id, a.action.title, a.group) for a in ctx["actions"]],
            sorted(ctx["reports"]),
        ),
        reports={topic_id: _signature(state) for topic_id, state in ctx["reports"].items()},
        announce=announce,
        screen=screen,
        valid_until=ctx["valid_until"],
        offered=tuple(event.offered),
        people=people,
        previous=previous,
    )
    _forget_old_frames(frame)
    return frame


class _Kept:
    """The previous frame's parts in one language. A part drawn the same again is kept as the
    same string, so the frames kept for slow pages share what did not change (most of it)
    instead of holding a copy each."""

    def __init__(self, previous: Frame | None, language: str) -> None:
        self.counts = previous.counts.get(language, {}) if previous else {}
        self.announce = previous.announce.get(language) if previous else None
        self.screen = previous.screen.get(language) if previous else None

    @staticmethod
    def same(old: str | None, new: str) -> str:
        return old if old == new and old is not None else new

    def count(self, element: str, html: str) -> str:
        return self.same(self.counts.get(element), html)


def _forget_old_frames(frame: Frame) -> None:
    kept: Frame | None = frame
    for _ in range(_FRAMES_KEPT):
        if kept is None:
            return
        kept = kept.previous
    if kept is not None:
        kept.previous = None


def screen_context(session: Session, event: Event, join_link: str) -> dict[str, Any]:
    """Everything the projector and the live parts of phones show, read at once."""
    cards = marketplace.topic_cards(session, event)
    slots = event_service.slots(session, event)
    spaces = event_service.spaces(session, event)
    board = wall.build_wall(session, event, cards, slots, spaces, warn=False)
    now = utcnow()
    current = next((s for s in slots if s.starts_at <= now < s.ends_at), None)
    following = next((s for s in slots if s.starts_at > now), None)
    boundaries = [t for s in slots for t in (s.starts_at, s.ends_at) if t > now]
    today = now.astimezone(event.zone).date()
    # A clock counts down to the next slot only on its own day; further off, the screen says
    # the day in words ("in 330:50:52" told nobody anything) until midnight at the venue.
    soon = following is not None and following.starts_at.astimezone(event.zone).date() == today
    if following is not None and not soon:
        midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), event.zone)
        boundaries.append(midnight.astimezone(UTC))
    breakouts = [s for s in slots if s.kind == SlotKind.breakout]
    newest = sorted(cards, key=lambda c: c.topic.created_at, reverse=True)[:6]
    actions = action_service.action_lines(session, event)
    top = sorted((a for a in actions if a.dots), key=lambda a: -a.dots)[:8]
    return {
        "event": event,
        "cards": cards,
        "slots": slots,
        "spaces": spaces,
        "wall": board,
        "breakouts": breakouts,
        # The wall on the projector: the rounds still to come (all of them once none are).
        "rounds_ahead": [s for s in breakouts if s.ends_at > now] or breakouts,
        "current": current,
        "following": following,
        "soon": soon,
        "over": event.closed_at is not None or (bool(slots) and not boundaries),
        "hall": event_service.plenary_space(spaces),
        "valid_until": min(boundaries) if boundaries else None,
        "newest": newest,
        "pitches": live_service.pitch_queue(session, event),
        "announcements": live_service.announcements(session, event),
        "join_link": join_link,
        "now": now,
        "news": report_service.news(session, event, limit=6),
        "top": top,
        "groups": convergence.groups(session, event),
        "actions": actions,
        "reports": report_service.report_states(session, event),
        # Read only while the projector shows them.
        "check_out": check_out.answers(session, event)
        if event.projector_view == ProjectorView.checkout
        else None,
    }


class Hub:
    """The live state of one event in this process, and everyone here who watches it."""

    def __init__(self, live: "Live", event_id: int) -> None:
        self.live = live
        self.event_id = event_id
        self.frame: Frame | None = None
        self.watchers = 0
        self._fresh = asyncio.Event()  # set (and replaced) whenever a new frame is out
        self._people: set[int] | None = set()
        self._pending = False
        self._dirty = False
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._drawing: asyncio.Task[None] | None = None
        self._checker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # As a drawing task like any other: a change heard meanwhile is drawn after it.
        self._drawing = asyncio.create_task(self._draw())
        await self._drawing
        self._checker = asyncio.create_task(self._check_forever())

    def close(self) -> None:
        for task in (self._drawing, self._checker):
            if task is not None:
                task.cancel()
        if self._timer is not None:
            self._timer.cancel()

    def wake(self) -> None:
        """Wake every page waiting for a frame (a new one is out, or the server stops)."""
        fresh, self._fresh = self._fresh, asyncio.Event()
        fresh.set()

    def changed(self, people: frozenset[int] | None) -> None:
        """Something changed: draw a new frame soon, but not sooner than GAP after the last."""
        if self._people is not None:
            self._people = None if people is None else self._people | people
        if self._drawing is not None and not self._drawing.done():
            self._dirty = True
            return
        self._schedule()

    def _schedule(self) -> None:
        if self._pending:
            return
        self._pending = True
        delay = max(0.0, self._last + GAP - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._start_drawing)

    def _start_drawing(self) -> None:
        self._pending = False
        self._timer = None
        self._drawing = asyncio.create_task(self._draw())

    async def _draw(self) -> None:
        people = None if self._people is None else frozenset(self._people)
        self._people = set()
        self._dirty = False
        self._last = time.monotonic()
        frame = await anyio.to_thread.run_sync(
            build_frame,
            self.live.database,
            self.event_id,
            people,
            self.frame,
            self.live.join_link,
            frozenset(self.live.languages.get(self.event_id, ())),
        )
        if frame is not None:
            self.frame = frame
            self.wake()
        if self._dirty:
            # Something changed while this frame was read: draw again. (Through `changed`
            # this was lost, since this very task still counts as drawing; the change then
            # waited for the five-second check.)
            self._dirty = False
            self._schedule()

    async def _check_forever(self) -> None:
        """A safety net: notice changes the broker did not bring, and the clock."""
        while True:
            await asyncio.sleep(CHECK_EVERY * random.uniform(0.8, 1.2))
            try:
                version = await anyio.to_thread.run_sync(self._stored_version)
            except Exception:  # the database is away; try again later
                continue
            frame = self.frame
            if frame is None or (version is not None and version != frame.version):
                self.changed(None)
            elif frame.valid_until is not None and utcnow() >= frame.valid_until:
                self.changed(frozenset())

    def _stored_version(self) -> int | None:
        with self.live.database.read() as session:
            return session.exec(
                select(Event.agenda_version).where(Event.id == self.event_id)
            ).first()

    async def next_frame(self, last: Frame, timeout: float) -> Frame | None:
        """The first frame after `last`; None if none came within `timeout` seconds."""
        if self.frame is not last:
            return self.frame
        fresh = self._fresh
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):  # no task per page, as wait_for makes
                await fresh.wait()
        return self.frame if self.frame is not last else None


class Live:
    """This process's hubs, fed by the broker."""

    def __init__(
        self, database: Database, broker: Broker, join_link: Callable[[Event], str]
    ) -> None:
        self.database = database
        self.broker = broker
        self.join_link = join_link
        self.hubs: dict[int, Hub] = {}
        self._starting: dict[int, asyncio.Task[Hub]] = {}
        # Hubs drawing their first frame. They hear changes too: one committed after that
        # frame's read and heard before the hub was ready was lost until the next check.
        self._opening: dict[int, Hub] = {}
        self._arriving: dict[int, int] = {}  # pages waiting for their event's first frame
        # The languages pages here watch each event in: frames are drawn in those alone.
        self.languages: dict[int, Counter[str]] = {}
        self.ending = False
        broker.listen(self._on_change)

    @property
    def watchers(self) -> int:
        """How many pages are connected in this process (for tests and the benchmarks)."""
        return sum(hub.watchers for hub in self.hubs.values())

    def _on_change(self, change: Change | None) -> None:
        if change is None:
            for each in [*self.hubs.values(), *self._opening.values()]:
                each.changed(None)
        elif hub := self.hubs.get(change.event_id) or self._opening.get(change.event_id):
            hub.changed(change.people)

    async def _hub(self, event_id: int) -> Hub:
        hub = self.hubs.get(event_id)
        if hub is not None:
            return hub
        if event_id not in self._starting:  # the first watcher draws the first frame
            self._starting[event_id] = asyncio.create_task(self._open(event_id))
        return await asyncio.shield(self._starting[event_id])

    async def _open(self, event_id: int) -> Hub:
        hub = self._opening[event_id] = Hub(self, event_id)
        try:
            await hub.start()
        except BaseException:
            hub.close()  # a change heard meanwhile may have set a timer
            raise
        else:
            self.hubs[event_id] = hub
            return hub
        finally:
            del self._starting[event_id], self._opening[event_id]

    async def watch(
        self,
        event_id: int,
        known: int | None,
        render: Callable[[Frame, Frame | None], str],
        language: str = "",
    ) -> AsyncIterator[str]:
        """The event stream of one page, in `language`: `render` says what the page needs
        between frames."""
        self._arriving[event_id] = self._arriving.get(event_id, 0) + 1
        watched = self.languages.setdefault(event_id, Counter())
        watched[language] += 1
        try:
            hub = await self._hub(event_id)
        except BaseException:
            # The page left while the hub's first frame was drawn: once it is drawn, close
            # the hub unless someone else came for it.
            starting = self._starting.get(event_id)
            if starting is not None:
                starting.add_done_callback(lambda _task: self._close_if_unwatched(event_id))
            else:
                asyncio.get_running_loop().call_soon(self._close_if_unwatched, event_id)
            self._unwatch(event_id, language)
            raise
        finally:
            self._arriving[event_id] -= 1
            if not self._arriving[event_id]:
                del self._arriving[event_id]
        hub.watchers += 1
        try:
            yield f"retry: {random.randint(*RETRY_MS)}\n\n"
            last = hub.frame
            assert last is not None
            if language and not last.speaks(language):
                # The first page here in this language: its frame is drawn at once.
                hub.changed(frozenset())
                last = await hub.next_frame(last, KEEP_ALIVE) or last
            yield render(last, None if known != last.version else last) or _id(last)
            while not self.ending:
                frame = await hub.next_frame(last, KEEP_ALIVE)
                if self.ending:
                    break
                if frame is None:
                    yield "event: ping\ndata: \n\n"
                    continue
                yield render(frame, last) or _id(frame)
                last = frame
        finally:
            hub.watchers -= 1
            self._unwatch(event_id, language)
            self._close_if_unwatched(event_id)

    def _close_if_unwatched(self, event_id: int) -> None:
        hub = self.hubs.get(event_id)
        if hub is not None and hub.watchers == 0 and not self._arriving.get(event_id):
            del self.hubs[event_id]
            hub.close()

    def _unwatch(self, event_id: int, language: str) -> None:
        watched = self.languages.get(event_id)
        if watched is not None:
            watched[language] -= 1
            if watched[language] <= 0:
                del watched[language]
            if not watched:
                del self.languages[event_id]

    def end_streams(self) -> None:
        """The server is stopping: end every page's stream now. Each browser comes back, after
        the delay its stream gave it, to the server that starts next, and resynchronises;
        the stop is not held up until the streams time out."""
        self.ending = True
        for hub in self.hubs.values():
            hub.wake()

    def end_streams_on_exit(self) -> None:
        """End the streams as soon as the server is told to stop (SIGTERM, or Ctrl-C).

        The server's own handler still runs: it stops taking connections and waits for
        those open to finish, which the streams now do at once."""
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread can hear signals (a test's server runs elsewhere)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            server_handler = signal.getsignal(sig)
            if not callable(server_handler):
                continue

            def on_exit(
                number: int, frame: FrameType | None, handler: Any = server_handler
            ) -> None:
                loop.call_soon_threadsafe(self.end_streams)
                handler(number, frame)

            signal.signal(sig, on_exit)

    async def stop(self) -> None:
        for hub in self.hubs.values():
            hub.close()
        self.hubs.clear()


def _id(frame: Frame) -> str:
    """Nothing to show, but the browser now knows it is current."""
    return f"id: {frame.version}\n\n"


def phone_messages(participant_id: int, language: str) -> Callable[[Frame, Frame | None], str]:
    """What a participant's page, in `language`, needs to hear about a new frame: drawn once
    for all the pages that had the same last frame (and whose own agenda changed, or not)."""

    def render(frame: Frame, last: Frame | None) -> str:
        people = frame.people_since(last) if last is not None else None
        mine = people is None or participant_id in people
        return frame.drawn(("phone", language, id(last), mine), lambda: _draw(frame, last, mine))

    def _draw(frame: Frame, last: Frame | None, mine: bool) -> str:
        out = []
        if last is None or frame.wall != last.wall:
            out.append(sse("wall", "", frame.version))
        if last is None or frame.topics != last.topics:
            out.append(sse("topics", "", frame.version))
        if last is None or frame.news != last.news:
            out.append(sse("news", "", frame.version))
        if last is None or frame.vote != last.vote:
            out.append(sse("vote", "", frame.version))
        out.append(frame.reports_since(last))
        counts = frame.counts_since(last, language)
        if counts:
            out.append(sse("counts", counts, frame.version))
        announce = frame.shown(frame.announce, language)
        if last is None or announce != last.shown(last.announce, language):
            out.append(sse("announce", announce, frame.version))
        if mine:
            out.append(sse("mine", "", frame.version))
        return "".join(out)

    return render


def screen_messages(language: str) -> Callable[[Frame, Frame | None], str]:
    """What the projector, in `language`, needs to hear: its whole screen, if it changed."""

    def render(frame: Frame, last: Frame | None) -> str:
        return frame.drawn(("screen", language, id(last)), lambda: _draw(frame, last))

    def _draw(frame: Frame, last: Frame | None) -> str:
        screen = frame.shown(frame.screen, language)
        if last is None or screen != last.shown(last.screen, language):
            return sse("screen", screen, frame.version)
        return ""

    return render


def known_version(last_event_id: str | None, query_version: str | None) -> int | None:
    """The version the page already shows: from a reconnect's Last-Event-ID, else the URL."""
    for value in (last_event_id, query_version):
        if (version := whole_number(value)) is not None:
            return version
    return None


def jitter() -> int:
    """How long a live part waits before refetching, in ms: spreads many phones out."""
    return random.randint(100, 1500)


# The announcements a participant hid ("Got it"), kept in a cookie of their event's pages:
# only ids, the newest HIDDEN_KEPT of them (at most three announcements show at once).
HIDDEN_COOKIE = "hidden_announcements"
HIDDEN_KEPT = 20


def hidden_announcements(request: Request) -> list[int]:
    """The ids of the announcements this browser's participant hid, newest first."""
    raw = request.cookies.get(HIDDEN_COOKIE, "")
    ids = {number for part in raw.split(".") if (number := whole_number(part)) is not None}
    return sorted(ids, reverse=True)[:HIDDEN_KEPT]


def hidden_key(request: Request) -> str:
    """The announcements hidden, as one value for a page's validator or cache key."""
    return ".".join(str(number) for number in hidden_announcements(request))


def page_parts(request: Request, session: Session, event: Event) -> dict[str, Any]:
    """What every live participant page adds: its stream, and the announcements (without
    those this participant hid; the page tells app.js which, for the live stream's copies)."""
    hidden = hidden_announcements(request)
    standing = shared_announcements(request, session, event)
    return {
        "live_url": f"/e/{event.join_code}/live?v={event.agenda_version}",
        "announcements": [note for note in standing if note.id not in hidden],
        "hidden_announcements": " ".join(str(number) for number in hidden),
        "jitter": jitter(),
    }


def stream(
    request: Request,
    event_id: int,
    messages: Callable[[Frame, Frame | None], str],
    page_version: str | None,
) -> StreamingResponse:
    """A page's event stream; proxies are asked not to buffer it."""
    live: Live = request.app.state.live
    known = known_version(request.headers.get("last-event-id"), page_version)
    return StreamingResponse(
        live.watch(event_id, known, messages, i18n.current()),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )
