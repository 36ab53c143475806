"""The facilitator at 500 people, in Chromium: the desk's search as one types (and without
JavaScript), its sessions by time, and the wall's queues, Move page and drag-and-drop."""

from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.db import Database
from app.models import Event, Participant, Topic
from app.models.agenda import TopicCreate
from app.models.event import SpaceCreate
from app.models.people import ParticipantJoin
from app.services import events, marketplace, participants, signups, wall
from tests.browser.pages import PHONE, log_in
from tests.factories import Factory

LAPTOP = {"viewport": {"width": 1366, "height": 768}}
PHONE_390 = PHONE


@pytest.fixture
def busy_day(make: Factory, database: Database) -> tuple[str, Event, list[int]]:
    """500 people (Guest 1 … Guest 500, joined in no order), 5 slots × 8 rooms with 40
    sessions, and a full one-seat session with two people waiting."""
    organiser = make.organiser()
    event = make.event(organiser)
    slots = [make.slot(event, time(9 + n), time(9 + n, 50)) for n in range(5)]
    with database.write() as session:
        spaces = [
            events.add_space(
                session, event, SpaceCreate(name=f"Room {n + 1}", capacity=1 if n == 0 else 20)
            )
            for n in range(8)
        ]
        people = [
            participants.join_event(session, event, ParticipantJoin(display_name=f"Guest {n}"))
            for n in sorted(range(1, 501), key=str)
        ]
        topics = []
        for n in range(40):
            convener = people[n]
            topic = marketplace.propose_topic(
                session, event, convener, TopicCreate(title=f"Session {n + 1}"), at_the_desk=True
            )
            signups.convener_elsewhere(session, topic, convener.id or 0, True)
            wall.move_by_facilitator(session, event, topic, slots[n // 8].id, spaces[n % 8].id)
            topics.append(topic.id or 0)
        first = session.get_one(Topic, topics[0])  # Room 1, one seat
        for person in people[100:103]:
            signups.join_waitlist(session, event, first, session.get_one(Participant, person.id))
    return organiser.email, event, topics


@pytest.fixture
def contexts_of(browser: Browser, live_server: str) -> Iterator[Any]:
    made: list[BrowserContext] = []

    def new(**options: Any) -> Page:
        context = browser.new_context(base_url=live_server, **options)
        made.append(context)
        return context.new_page()

    yield new
    for context in made:
        context.close()


@pytest.mark.parametrize("screen", ["phone", "laptop"])
def test_desk_search_types_ahead_and_chooses_by_keyboard(
    screen: str, busy_day: tuple[str, Event, list[int]], contexts_of: Any, screenshots: Path
) -> None:
    email, event, _topics = busy_day
    page: Page = contexts_of(**(PHONE_390 if screen == "phone" else LAPTOP))
    log_in(page, email)
    page.goto(f"/facilitate/{event.id}/desk")
    search = page.get_by_label("Find someone who has joined, by any part of their name")
    search.press_sequentially("GUEST 1", delay=30)
    status = page.locator("#desk-found-count")
    expect(status).to_have_text("176 people found; the first 25 are listed: type more of the name.")
    expect(status).to_have_attribute("role", "status")  # announced to screen readers
    found = page.locator("#desk-found li")
    expect(found.first).to_have_text("Guest 1")
    names = found.all_inner_texts()
    assert names[:12] == [
        "Guest 1",
        *(f"Guest {n}" for n in range(10, 20)),
        "Guest 100",
    ]  # then 101…
    search.press_sequentially("7", delay=30)
    # Any part of a name ("17" is in 117 too), those that start with it first.
    expect(status).to_have_text("15 people found.")
    assert found.all_inner_texts() == [
        "Guest 17",
        *(f"Guest {n}" for n in range(170, 180)),
        *(f"Guest {n}" for n in (117, 217, 317, 417)),
    ]
    page.screenshot(path=screenshots / f"desk-search-{screen}.png", full_page=False)
    # The keyboard: from the field, Tab past the Search button to the first person found.
    search.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Guest 17", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#desk-chosen")).to_contain_text("Helping Guest 17.")
    sessions = page.get_by_label("Session", exact=True)
    groups = sessions.locator("optgroup")
    expect(groups).to_have_count(5)
    label = groups.first.get_attribute("label") or ""
    assert label.endswith("09:00–09:50"), label
    options = groups.first.locator("option").all_inner_texts()
    assert options[0] == "Session 1 · 09:00–09:50, Room 1 · full, 2 waiting", options
    assert options[1] == "Session 2 · 09:00–09:50, Room 2 · 20 seats left", options
    sessions.select_option(label="Session 2 · 09:00–09:50, Room 2 · 20 seats left")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Guest 17 has a seat in “Session 2”.")).to_be_visible()
    page.screenshot(path=screenshots / f"desk-chosen-{screen}.png", full_page=True)


def test_desk_search_works_without_javascript(
    busy_day: tuple[str, Event, list[int]], contexts_of: Any, screenshots: Path
) -> None:
    email, event, _topics = busy_day
    page: Page = contexts_of(java_script_enabled=False, **PHONE_390)
    log_in(page, email)
    page.goto(f"/facilitate/{event.id}/desk")
    page.get_by_label("Find someone who has joined, by any part of their name").fill("guest 25")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#desk-found-count")).to_have_text("15 people found.")
    assert page.locator("#desk-found li").all_inner_texts()[:3] == [
        "Guest 25",
        "Guest 250",
        "Guest 251",
    ]
    page.screenshot(path=screenshots / "desk-search-no-javascript.png", full_page=False)
    page.get_by_role("link", name="Guest 250", exact=True).click()
    expect(page.locator("#desk-chosen")).to_contain_text("Helping Guest 250.")


def test_wall_shows_who_waits_and_moves_by_page_and_by_drag(
    busy_day: tuple[str, Event, list[int]], contexts_of: Any, screenshots: Path
) -> None:
    email, event, topics = busy_day
    page: Page = contexts_of(**LAPTOP)
    log_in(page, email)
    page.goto(f"/facilitate/{event.id}/wall")
    full = page.locator(f"#topic-{topics[0]}")
    expect(full).to_contain_text("1/1 seats")
    expect(full).to_contain_text("Full: 2 people wait for a seat.")
    full.get_by_text("2 wait for a seat").click()  # the names, on demand
    queue = [f"Guest {n}" for n in sorted(range(1, 501), key=str)[101:103]]  # as they joined
    expect(full.locator("details li")).to_have_text(queue)
    assert page.locator("option").count() == 0
    page.screenshot(path=screenshots / "facilitator-wall-1366.png", full_page=False)
    # The card's own Move page.
    moving = page.locator(f"#topic-{topics[1]}")
    moving.get_by_role("link", name="Move… “Session 2”").click()
    expect(page.get_by_role("heading", name="Move “Session 2”")).to_be_visible()
    page.screenshot(path=screenshots / "facilitator-move-page-1366.png", full_page=False)
    page.get_by_label("Move “Session 2” to").select_option(
        label="Room 2 (20) — swap with “Session 10”"
    )
    page.get_by_role("button", name="Move “Session 2”").click()
    expect(page.get_by_text("“Session 2” and “Session 10” swapped places.")).to_be_visible()
    # Drag-and-drop still moves a card, through the wall's one shared form.
    page.locator(f"#topic-{topics[2]}").drag_to(page.locator(f"#topic-{topics[3]}").locator(".."))
    expect(page.get_by_text("“Session 3” and “Session 4” swapped places.")).to_be_visible()
