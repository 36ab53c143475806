"""How the day went: a day scripted through the services with the clock moved to each tap,
then the organiser's page read the next morning, its numbers checked against the script."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from lxml import etree, html
from sqlmodel import select

from app.models import Event, Organiser, Participant, SeatChange, Topic
from app.models.base import set_clock
from app.services import day_stats, privacy, signups
from tests.conftest import log_in, text_of
from tests.factories import Factory, placed_topic

DAY = date(2026, 3, 10)
LONDON = ZoneInfo("Europe/London")
SVG = "{http://www.w3.org/2000/svg}"
SVG_LIMIT = 30 * 1024


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=LONDON)


@pytest.fixture
def clock() -> Iterator[None]:
    yield
    set_clock(None)


@dataclass
class Day:
    organiser: Organiser
    event: Event


def scripted_day(make: Factory) -> Day:
    """Two rounds: 10:00–11:00 (Hall 3 seats, Studio 2, Garden 1) and 11:30–12:30 (Hall 3,
    Studio 2); five topics proposed between 09:00 and 09:04; six people who sign up,
    switch, wait, are given seats and move while sessions run."""
    set_clock(at(8, 30))
    organiser = make.organiser("day@example.org")
    event = make.event(organiser, name="Healthy streets", starts_on=DAY)
    first = make.slot(event, time(10, 0), time(11, 0))
    second = make.slot(event, time(11, 30), time(12, 30))
    hall, studio = make.space(event, "Hall", 3), make.space(event, "Studio", 2)
    garden = make.space(event, "Garden", 1)
    people = [make.participant(event, f"Person {n}") for n in range(6)]
    topics: dict[str, Topic] = {}
    for (minute, second_), name, slot, space in (
        ((0, 10), "A", first, hall),
        ((0, 40), "B", first, studio),
        ((1, 30), "C", first, garden),
        ((3, 5), "D", second, hall),
        ((3, 20), "E", second, studio),
    ):
        set_clock(at(9, minute, second_))
        topics[name] = placed_topic(make, event, slot, space, f"Session {name}")

    def tap(hour: int, minute: int, what: str, person: int, name: str) -> None:
        set_clock(at(hour, minute))
        with make.database.write() as session:
            topic = session.get_one(Topic, topics[name].id)
            who = session.get_one(Participant, people[person].id)
            shown = session.get_one(Event, event.id)
            getattr(signups, what)(session, shown, topic, who)

    # Before the first round begins: sign-ups, a switch, a waitlist and its promotion.
    tap(9, 30, "sign_up", 0, "A")
    tap(9, 31, "sign_up", 1, "A")
    tap(9, 32, "sign_up", 2, "B")
    tap(9, 33, "sign_up", 3, "B")  # the Studio is full
    tap(9, 34, "join_waitlist", 4, "B")
    tap(9, 35, "sign_up", 5, "C")  # the Garden is full
    tap(9, 40, "sign_up", 2, "A")  # a switch; Person 4 is given the seat in B
    # Once it has begun: two people move (one by a switch, one by leaving, then joining).
    tap(10, 10, "leave", 5, "C")
    tap(10, 15, "sign_up", 0, "C")  # moved A → C
    tap(10, 20, "sign_up", 5, "A")  # moved C → (left) → A
    tap(10, 30, "leave", 3, "B")  # left, went nowhere: not a move
    tap(10, 40, "join_waitlist", 3, "A")  # A is full: waiting still
    # The second round: one sign-up; the Hall stays empty.
    tap(11, 0, "sign_up", 1, "E")
    set_clock(at(8, 0, day=date(2026, 3, 11)))  # the next morning
    return Day(organiser, event)


def _columns(tree: html.HtmlElement, key: str) -> list[str]:
    section = tree.xpath(f'//section[@aria-labelledby="fig-{key}"]')[0]
    return [cell.text_content().strip() for cell in section.xpath(".//table/thead/tr/th")][1:]


def _table(tree: html.HtmlElement, key: str) -> list[list[str]]:
    section = tree.xpath(f'//section[@aria-labelledby="fig-{key}"]')[0]
    return [
        [cell.text_content().strip() for cell in row.xpath("./th|./td")]
        for row in section.xpath(".//table/tbody/tr")
    ]


def test_day_report_counts_what_people_did_on_a_scripted_day(make: Factory, clock: None) -> None:
    day = scripted_day(make)
    with make.database.read() as session:
        report = day_stats.day_report(session, session.get_one(Event, day.event.id))
    assert report.ready
    first, second = report.slots
    assert (first.sign_ups, first.switches, first.promotions) == (5, 3, 1)
    assert (first.movers, first.moves) == (2, 2)
    assert (second.sign_ups, second.switches, second.promotions, second.movers) == (1, 0, 0, 0)
    rooms = {
        room.line.topic.title: (room.taken, room.capacity, room.waiting) for room in report.rooms
    }
    assert rooms == {
        "Session A": (3, 3, 1),
        "Session B": (1, 2, 0),
        "Session C": (1, 1, 0),
        "Session D": (0, 3, 0),
        "Session E": (1, 2, 0),
    }
    # Full at some time: A and C at the end, B when Person 4 waited for a seat.
    assert [r.line.topic.title for r in report.full] == ["Session A", "Session B", "Session C"]
    assert [r.line.topic.title for r in report.empty] == ["Session D"]


def test_how_the_day_went_page_the_next_morning(
    client: TestClient, make: Factory, clock: None
) -> None:
    day = scripted_day(make)
    log_in(client, day.organiser.email)
    page = client.get(f"/organiser/events/{day.event.id}/how-the-day-went")
    assert page.status_code == 200
    assert "<script" not in page.text.split("<main", 1)[1]  # nothing on it needs JavaScript
    tree = html.fromstring(page.text)
    text = text_of(page.text)
    assert (
        "Sign-ups: 6. Switches to another session of the same slot: 3. "
        "Seats given from a waitlist: 1." in text
    )
    assert _table(tree, "seats") == [["10:00", "5", "3", "1"], ["11:30", "1", "0", "0"]]
    assert _table(tree, "two-feet") == [["10:00", "2"], ["11:30", "0"]]
    assert "2 people left a session after it began and joined another" in text
    assert _table(tree, "rooms") == [
        ["Session A", "3", "0"],
        ["Session B", "1", "1"],
        ["Session C", "1", "0"],
        ["Session D", "0", "3"],
        ["Session E", "1", "1"],
    ]
    assert (
        "3 of 5 sessions were full at some time (every seat taken at the end, or someone "
        "waited for a seat); 1 had nobody signed up at the end." in text
    )
    full = tree.xpath('//section[@aria-labelledby="rooms-h"]')[0].text_content()
    assert "1 person still waiting" in full and "1 seat given from the waitlist" in full
    # Proposals minute by minute, from the first one's minute.
    assert _table(tree, "proposals") == [
        ["09:00", "2"],
        ["09:01", "1"],
        ["09:02", "0"],
        ["09:03", "2"],
    ]
    # Each chart: SVG, titled as its section, its numbers those of the table beside it.
    drawn = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<svg[^>]*id="chart-([a-z-]+)".*?</svg>', page.text, flags=re.S)
    }
    assert set(drawn) == {"seats", "two-feet", "rooms", "proposals"}
    for key, svg in drawn.items():
        assert len(svg.encode()) <= SVG_LIMIT and "<script" not in svg
        root = etree.fromstring(svg.encode())
        assert root.get("role") == "img"
        heading = tree.xpath(f'//h2[@id="fig-{key}"]')[0].text_content()
        assert root.findtext(f"{SVG}title") == heading
        desc = root.findtext(f"{SVG}desc") or ""
        for label, *values in _table(tree, key):
            said = desc.split(f"{label}: ", 1)[1].split(";", 1)[0].rstrip(".")
            assert said.split(", ") == [
                f"{value} {column.lower()}" if len(values) > 1 else value
                for value, column in zip(values, _columns(tree, key), strict=True)
            ], (key, desc)
    # Linked from the event's page and from the follow-up dashboard.
    for place in ("", "/dashboard"):
        linking = client.get(f"/organiser/events/{day.event.id}{place}")
        assert f'href="/organiser/events/{day.event.id}/how-the-day-went"' in linking.text


def test_how_the_day_went_waits_for_the_day(client: TestClient, make: Factory, clock: None) -> None:
    set_clock(at(9, 0))
    organiser = make.organiser("early@example.org")
    event = make.event(organiser, starts_on=DAY)
    make.slot(event, time(10, 0), time(11, 0))
    log_in(client, organiser.email)
    page = client.get(f"/organiser/events/{event.id}/how-the-day-went")
    assert page.status_code == 200
    assert "fills in once the day has begun, on 10 March 2026 at 10:00" in text_of(page.text)
    assert "<svg" not in page.text


def test_how_the_day_went_is_only_for_the_events_organisers(
    client: TestClient, make: Factory, clock: None
) -> None:
    day = scripted_day(make)
    address = f"/organiser/events/{day.event.id}/how-the-day-went"
    assert client.get(address).headers["location"].startswith("/login")
    log_in(client, make.organiser("stranger@example.org").email)
    assert client.get(address).status_code == 403


def test_a_seat_change_keeps_no_more_than_the_seats(make: Factory, clock: None) -> None:
    """What is kept for the morning after: the slot, the person, the sessions left and
    taken, whether a waitlist gave the seat, and when; no text at all."""
    scripted_day(make)
    columns = set(SeatChange.__table__.columns.keys())  # type: ignore[attr-defined]
    assert columns == {
        "id",
        "event_id",
        "slot_id",
        "participant_id",
        "from_topic_id",
        "to_topic_id",
        "promoted",
        "at",
    }
    with make.database.read() as session:
        assert len(session.exec(select(SeatChange)).all()) == 12


@pytest.mark.parametrize("minutes", [0, 3, 29, 30, 31, 149, 150, 600, 2000])
def test_proposals_are_counted_in_at_most_thirty_bars(minutes: int) -> None:
    size = day_stats.bucket_minutes(timedelta(minutes=minutes))
    assert minutes // size + 1 <= day_stats.MOST_BARS or size == day_stats.BUCKETS[-1]
    smaller = [b for b in day_stats.BUCKETS if b < size]
    assert all(minutes // b + 1 > day_stats.MOST_BARS for b in smaller)


def test_a_persons_seat_changes_are_in_their_data(
    client: TestClient, make: Factory, clock: None
) -> None:
    day = scripted_day(make)
    with make.database.read() as session:
        person = session.exec(
            select(Participant).where(Participant.display_name == "Person 5")
        ).one()
        data = privacy.my_data(session, session.get_one(Event, day.event.id), person)
    assert [(s["left"], s["took"], s["from_a_waitlist"]) for s in data["seat_changes"]] == [
        ("", "Session C", False),
        ("Session C", "", False),
        ("", "Session A", False),
    ]
    assert data["seat_changes"][1]["at"] == at(10, 10).isoformat()
