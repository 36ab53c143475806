"""In a real Chromium: every projector view reads from the back of the hall at 720p, 1080p
and 4K, and says what is true at each moment of the day."""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlmodel import col, select

from app.models import Event, Participant, SlotKind, Topic
from app.models.agenda import TopicCreate
from app.models.event import SlotCreate
from app.models.live import AnnouncementCreate, CheckOutForm
from app.models.outcomes import ActionForm, ActionStatus, ContributionCreate
from app.security import LinkSigner
from app.services import actions as action_service
from app.services import check_out, contributions, convergence, marketplace, signups, wall
from app.services import events as event_service
from app.services import live as live_service
from app.services import reports as report_service
from tests.factories import Factory

pytestmark = pytest.mark.browser

SECRET = "test-secret-key-that-is-long-enough-for-anything"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
VIEWS = ["opening", "marketplace", "news", "converge", "now", "wall", "checkout"]
ROOMS = [
    ("Main hall", 120),
    ("Room 1 – Kala", 30),
    ("Room 2 – Sangam", 24),
    ("Studio", 40),
    ("Garden", 20),
    ("Café corner", 12),
]
TITLES = [
    "Digital exclusion and GP appointments",
    "Poverty Truth Commission: what next?",
    "Translators and interpreters on the front line",
    "Cost of living and mental health",
    "Housing association repairs",
    "Warm spaces this winter",
    "Young carers at school",
    "Food banks and dignity",
    "Buses after dark",
    "Loneliness in later life",
    "Social prescribing that works",
    "Data we should share",
    "Paying people with lived experience",
    "Green spaces for every street",
]

# What the page shows, measured as a person would see it: every text node that is drawn
# (not the visually hidden ones), its computed font size and where it is, and the images.
MEASURE = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!node.textContent.trim() || !element) continue;
    if (element.closest('.visually-hidden, .skip-link, [hidden], script, style')) continue;
    if (!element.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    texts.push({ text: node.textContent.trim().slice(0, 50),
                 size: parseFloat(getComputedStyle(element).fontSize),
                 top: r.top, bottom: r.bottom, left: r.left, right: r.right });
  }
  const images = [...document.querySelectorAll('img')]
    .map((image) => image.getBoundingClientRect())
    .map((r) => ({ top: r.top, bottom: r.bottom, left: r.left, right: r.right }));
  return { width: innerWidth, height: innerHeight, texts, images };
}"""


def venue_zone() -> str:
    """A time zone where it is late morning now, so that the slots these tests place around
    now fall on one day at the venue, whenever the suite runs."""
    now = datetime.now(UTC)
    for offset in range(-12, 15):
        name = f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "Etc/GMT"
        if 10 <= now.astimezone(ZoneInfo(name)).hour < 12:
            return name
    raise AssertionError("some zone has late morning now")


def at(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


class Day:
    """An event like the demo's, its rounds placed around now, and what happened in it."""

    def __init__(self, make: Factory, *, on: date | None = None, **fields: Any) -> None:
        self.make = make
        zone = fields.pop("timezone", None) or venue_zone()
        starts_on = on or datetime.now(ZoneInfo(zone)).date()
        self.event = make.event(
            name="Reducing inequalities together",
            theme_question="What will each of us do, starting tomorrow, to reduce inequalities "
            "in our district?",
            timezone=zone,
            starts_on=starts_on,
            **fields,
        )
        self.spaces = [make.space(self.event, name, size) for name, size in ROOMS]
        self.people = [make.participant(self.event, f"Person {n}") for n in range(1, 9)]

    def slot(self, start: datetime, end: datetime, kind: SlotKind, title: str) -> int:
        with self.make.database.write() as session:
            slot = event_service.add_slot(
                session,
                self.event,
                SlotCreate(starts_at=start, ends_at=end, kind=kind, title=title),
            )
            assert slot.id is not None
            return slot.id

    def rounds(self, starts: list[int], length: int = 60) -> list[int]:
        """A plenary an hour and a half before the first round, then a round at each start
        (minutes from now), each `length` minutes long."""
        self.slot(at(starts[0] - 90), at(starts[0] - 30), SlotKind.plenary, "Opening circle")
        return [
            self.slot(at(start), at(start + length), SlotKind.breakout, f"Round {n}")
            for n, start in enumerate(starts, 1)
        ]

    def with_hall(self) -> None:
        with self.make.database.write() as session:
            event_service.set_plenary_space(session, self.event, self.spaces[0].id)

    def topics(self, rounds: list[int], *, sign_ups: bool = True) -> list[Topic]:
        """The demo's topics on the wall, room by room, round by round; two not yet placed;
        five people signed up to the last one placed (unless its time is past)."""
        placed = []
        with self.make.database.write() as session:
            event = session.get_one(Event, self.event.id)
            places = [(slot, space) for slot in rounds for space in self.spaces]
            for n, title in enumerate(TITLES):
                convener = self.people[n % len(self.people)]
                topic = marketplace.propose_topic(
                    session, event, convener, TopicCreate(title=title), at_the_desk=True
                )
                if n < len(places) and n < len(TITLES) - 2:
                    slot_id, space = places[n]
                    wall.move_by_facilitator(session, event, topic, slot_id, space.id)
                    placed.append(topic)
            for person in self.people[:5] if sign_ups else []:
                signups.sign_up(session, event, placed[-1], person)
        return placed

    def reports(self, topics: list[Topic]) -> list[int]:
        """Three reports marked complete, with key points and actions; their action ids."""
        actions = []
        with self.make.database.write() as session:
            event = session.get_one(Event, self.event.id)
            for topic in topics[:3]:
                topic = session.get_one(Topic, topic.id)
                convener = session.get_one(Participant, topic.convener_id)
                for point in (
                    "People leave appointments without understanding what was said to them",
                    "Interpreters are booked too late, and family members fill the gap",
                ):
                    contributions.contribute(
                        session, event, topic, convener, ContributionCreate(body=point)
                    )
                for title in ("Book interpreters at referral", "Train reception staff"):
                    action = action_service.add_action(
                        session,
                        event,
                        topic,
                        convener,
                        ActionForm(title=title, status=ActionStatus.agreed),
                        owner_id=convener.id,
                    )
                    actions.append(action.id or 0)
                report_service.complete_report(session, event, topic, convener, True)
        return actions

    def vote(self, actions: list[int], *, still_open: bool) -> None:
        with self.make.database.write() as session:
            event = session.get_one(Event, self.event.id)
            convergence.open_vote(session, event, True, 5)
            for n, person in enumerate(self.people):
                voter = session.get_one(Participant, person.id)
                for action_id in actions[: 1 + n % 5]:
                    convergence.place_dot(session, event, voter, "action", action_id)
            convergence.open_vote(session, event, still_open)

    def marketplace(self, *, pitching: bool) -> None:
        with self.make.database.write() as session:
            event = session.get_one(Event, self.event.id)
            marketplace.open_marketplace(session, event, True)
            for person in self.people[:4]:
                convener = session.get_one(Participant, person.id)
                topic = marketplace.propose_topic(
                    session, event, convener, TopicCreate(title=f"Ideas from {person.display_name}")
                )
                live_service.queue_pitch(session, event, topic, convener)
            if pitching:
                live_service.next_pitch(session, event)

    def announce(self, text: str) -> None:
        with self.make.database.write() as session:
            live_service.announce(session, self.event, AnnouncementCreate(text=text))

    def check_out(self, answers: list[tuple[str, int]]) -> None:
        """The closing circle's check-out, open, each answer from its own person."""
        with self.make.database.write() as session:
            event = session.get_one(Event, self.event.id)
            check_out.open_check_out(session, event, True)
            for person, (words, mark) in zip(self.people, answers, strict=False):
                data = CheckOutForm(words=words, usefulness=mark)
                check_out.check_out(session, event, session.get_one(Participant, person.id), data)

    def show(self, page: Page, view: str) -> str:
        """The projector, switched to `view` by the facilitator, as it first draws; its text."""
        with self.make.database.write() as session:
            live_service.show_on_projector(session, session.get_one(Event, self.event.id), view)
        token = LinkSigner(SECRET).sign("projector", self.event.id or 0, 1)
        page.goto(f"/display/{token}")
        return " ".join((page.locator("#screen").text_content() or "").split())


def projector(
    browser: Browser, live_server: str, contexts: list[BrowserContext], size: str
) -> Page:
    """A projector's browser at this size. Its live stream is cut: what is measured is the
    screen as drawn for this view, not an earlier frame arriving late."""
    width, height = SIZES[size]
    context = browser.new_context(base_url=live_server, viewport={"width": width, "height": height})
    contexts.append(context)
    page = context.new_page()
    page.route("**/live?*", lambda route: route.abort())
    return page


def readable(page: Page, where: str) -> dict[str, Any]:
    """Check what a person at the back sees: no text smaller than 1/30 of the screen's
    height, and none cut off at its edges. Returns the measurements."""
    seen = page.evaluate(MEASURE)
    height, width = seen["height"], seen["width"]
    assert seen["texts"], where
    small = [t for t in seen["texts"] if t["size"] < height / 30 - 0.01]
    assert not small, f"{where}: text under {height / 30:.1f} px: {small[:5]}"
    off = [
        t
        for t in seen["texts"]
        if t["top"] < -1 or t["bottom"] > height + 1 or t["left"] < -1 or t["right"] > width + 1
    ]
    assert not off, f"{where}: text cut off at the screen's edge: {off[:5]}"
    return seen


def filled(seen: dict[str, Any], where: str) -> None:
    """The view uses the screen: no empty band across it as tall as a quarter of the height
    (the wall left its bottom third empty), and it spans the width."""
    height, width = seen["height"], seen["width"]
    boxes = sorted((box["top"], box["bottom"]) for box in seen["texts"] + seen["images"])
    reached, gaps = 0.0, []
    for top, bottom in boxes:
        gaps.append(top - reached)
        reached = max(reached, bottom)
    gaps.append(height - reached)
    assert max(gaps) < height / 4, f"{where}: an empty band of {max(gaps):.0f} of {height} px"
    left = min(box["left"] for box in seen["texts"] + seen["images"])
    right = max(box["right"] for box in seen["texts"] + seen["images"])
    assert left < width * 0.1 and right > width * 0.9, f"{where}: spans {left:.0f}–{right:.0f}"


def test_projector_views_fill_the_screen_at_720p_1080p_and_4k(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
) -> None:
    """A day in full swing: six rooms, three rounds, pitches, reports, a dot vote."""
    day = Day(make)
    day.with_hall()
    rounds = day.rounds([-20, 50, 120])
    placed = day.topics(rounds)
    day.vote(day.reports(placed), still_open=True)
    day.marketplace(pitching=True)
    day.announce("Lunch is in the Café corner until 13:30")
    day.check_out(
        [
            ("Courage to ask the people who use the service", 5),
            ("A bus pass and a list of names", 4),
            ("Courage", 5),
            ("Listening before fixing", 4),
            ("That the council listens", 3),
            ("Warm spaces need volunteers and courage", 5),
            ("Ask before assuming", 4),
        ]
    )
    for size in SIZES:
        page = projector(browser, live_server, contexts, size)
        for view in VIEWS:
            day.show(page, view)
            where = f"{view} at {size}"
            page.screenshot(path=str(screenshots / f"projector-{view}-{size}.png"))
            filled(readable(page, where), where)


def test_projector_wall_shows_whole_rounds_never_one_cut_or_covered(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
) -> None:
    """Six rooms and four rounds of long titles do not fit a screen: a later round gives way
    whole (a walk of the day saw the last row cut in half under the join line)."""
    day = Day(make)
    rounds = day.rounds([-20, 50, 120, 190])
    day.topics(rounds)
    with make.database.write() as session:
        event = session.get_one(Event, day.event.id)
        for n, slot_id in enumerate(rounds):
            for space in day.spaces:
                if wall_card_at(session, event, slot_id, space.id) is None:
                    topic = marketplace.propose_topic(
                        session,
                        event,
                        day.people[n],
                        TopicCreate(title=f"Anchor institutions buying locally, round {n + 1}"),
                        at_the_desk=True,
                    )
                    wall.move_by_facilitator(session, event, topic, slot_id, space.id)
    for size in ("720p", "1080p"):
        page = projector(browser, live_server, contexts, size)
        day.show(page, "wall")
        page.screenshot(path=str(screenshots / f"projector-wall-full-{size}.png"))
        box = page.locator(".screen-table").bounding_box()
        footer = page.locator(".screen-main > p.screen-small").last.bounding_box()
        assert box is not None
        shown = [r for r in page.locator(".screen-wall tbody tr").all() if r.is_visible()]
        assert shown, size
        for row in shown:
            edge = row.bounding_box()
            assert edge is not None
            assert edge["y"] + edge["height"] <= box["y"] + box["height"] + 1, size
            if footer is not None:
                assert edge["y"] + edge["height"] <= footer["y"] + 1, size


def wall_card_at(session: Any, event: Event, slot_id: int, space_id: int | None) -> Any:
    """The topic at this place on the wall, if any."""
    return session.exec(
        select(Topic).where(
            Topic.event_id == event.id,
            Topic.slot_id == slot_id,
            Topic.space_id == space_id,
            col(Topic.hidden).is_(False),
        )
    ).first()


# Each moment of the day, and what every view must (and must not) say then.
PHASES: dict[str, dict[str, Any]] = {
    "before-the-day": {
        "now": [r"Starts on \w+ \d+ \w+ at \d\d:\d\d"],
        "marketplace": ["Proposing topics has not started yet."],
        "converge": ["The dot vote is not open."],
        "wall": ["to sign up"],
    },
    "marketplace": {
        "now": [
            "Now · Opening circle",
            "Everyone together in Main hall",
            r"Next at \d\d:\d\d · in [\d:]+",
        ],
        "marketplace": ["Pitching now", "Ideas from Person 1"],
        "converge": ["The dot vote is not open."],
    },
    "between-slots": {
        "now": ["Coming up", r"Next at \d\d:\d\d · in \d+:\d\d"],
        "marketplace": ["Proposing topics is over: the topics are on the wall."],
    },
    "in-a-slot": {
        "now": ["Now · Round 1", "Now, until", "Next, ", "Digital exclusion"],
        "wall": ["Digital exclusion", "to sign up"],
    },
    "vote-open": {
        "converge": ["Dot vote open · 5 dots each", "Book interpreters at referral"],
    },
    "vote-closed": {
        "converge": ["The dot vote is closed.", "Book interpreters at referral"],
    },
    "after-the-end": {
        "now": ["The day is over"],
        "wall": ["The day is over", "Digital exclusion"],
        "news": ["Digital exclusion", "2 actions"],
    },
}
# Never said in that phase, whatever the view.
NEVER = {
    "before-the-day": ["Place your dots", "Now ·", "Dot vote open"],
    "marketplace": ["Place your dots", "Dot vote open"],
    "between-slots": ["Now, until", "Place your dots"],
    "in-a-slot": ["Place your dots", "Starts on"],
    "vote-open": [],
    "vote-closed": ["Place your dots", "Dot vote open"],
    "after-the-end": ["Place your dots", "to sign up", "Coming up", "Next at", "Queue to pitch"],
}


def phase_day(make: Factory, phase: str) -> Day:
    if phase == "before-the-day":
        day = Day(make, on=date.today() + timedelta(days=14))
        day.with_hall()
        start = datetime.combine(day.event.starts_on, datetime.min.time(), day.event.zone)
        day.slot(start + timedelta(hours=9), start + timedelta(hours=10), SlotKind.plenary, "")
        day.slot(start + timedelta(hours=10), start + timedelta(hours=11), SlotKind.breakout, "")
        return day
    day = Day(make)
    day.with_hall()
    starts = {
        "marketplace": [60, 130],
        "between-slots": [-100, 20],
        "after-the-end": [-400, -300, -200],
    }.get(phase, [-20, 50, 120])
    placed = day.topics(day.rounds(starts), sign_ups=phase != "after-the-end")
    if phase == "marketplace":
        day.marketplace(pitching=True)
    elif phase in ("vote-open", "vote-closed", "after-the-end"):
        day.vote(day.reports(placed), still_open=phase == "vote-open")
    return day


@pytest.mark.parametrize("phase", list(PHASES))
def test_projector_says_what_is_true_in_each_phase(
    phase: str,
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
) -> None:
    """Before the day, at the marketplace, between rounds, in one, with the vote open and
    closed, after the end: every view, read and looked at."""
    day = phase_day(make, phase)
    page = projector(browser, live_server, contexts, "1080p")
    for view in VIEWS:
        shown = day.show(page, view)
        page.screenshot(path=str(screenshots / f"projector-phase-{phase}-{view}.png"))
        where = f"{view} {phase}"
        readable(page, where)
        for expected in PHASES[phase].get(view, []):
            assert re.search(expected, shown), f"{where}: {expected!r} not in {shown!r}"
        for wrong in NEVER[phase]:
            assert wrong not in shown, f"{where}: says {wrong!r}: {shown!r}"
        # A countdown is for today: never a day or more of hours.
        for clock in page.locator(".countdown").all_inner_texts():
            assert re.fullmatch(
                r"([1-9]|1\d|2[0-3]):[0-5]\d:[0-5]\d|[1-5]?\d:[0-5]\d( · paused)?", clock
            ), clock
