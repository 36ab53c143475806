"""In Chromium: a convener on a 390 px phone edits her topic, leaves the pitch queue,
withdraws the topic (the browser asks first) and puts it back; a facilitator on a 1366 px
laptop finds topics to merge as she types and undoes a move on the wall. Screenshots in
test-artifacts/screenshots/."""

from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

from app.db import Database
from app.models import Event, Topic
from app.models.agenda import TopicCreate
from app.models.people import ParticipantJoin
from app.services import marketplace, participants, signups, wall
from tests.browser.pages import PHONE, join, log_in, settled
from tests.factories import Factory

LAPTOP = {"viewport": {"width": 1366, "height": 768}}


@pytest.fixture
def contexts_of(browser: Browser, live_server: str) -> Iterator[Any]:
    made: list[BrowserContext] = []

    def new(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server, **options)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


@pytest.fixture
def open_day(make: Factory, database: Database) -> tuple[str, Event]:
    """The marketplace open, two slots, a hall and a booth, and topics to merge."""
    organiser = make.organiser()
    event = make.event(organiser)
    morning = make.slot(event, time(10), time(10, 50))
    make.slot(event, time(14), time(14, 50))
    hall = make.space(event, "Hall", 20)
    make.space(event, "Café corner", 6)
    with database.write() as session:
        marketplace.open_marketplace(session, session.get_one(Event, event.id), True)
        for n, title in enumerate(["Bus fares", "Damp homes", "Buses at night", "Warm spaces"]):
            convener = participants.join_event(
                session, event, ParticipantJoin(display_name=f"Convener {n + 1}")
            )
            topic = marketplace.propose_topic(
                session, event, convener, TopicCreate(title=title), at_the_desk=True
            )
            if n == 0:
                wall.move_by_facilitator(session, event, topic, morning.id, hall.id)
    return organiser.email, event


def test_convener_edits_leaves_the_queue_withdraws_and_puts_back_on_a_phone(
    open_day: tuple[str, Event],
    contexts_of: Any,
    database: Database,
    screenshots: Path,
) -> None:
    _email, event = open_day
    page = join(contexts_of(**PHONE), event.join_code, "Maria Convener")
    page.goto(f"/e/{event.join_code}/topics")
    page.get_by_label("Your topic, in a few words").fill("Transport to hospitl")
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("heading", name="Transport to hospitl")).to_be_visible()
    topic_id = int(page.url.split("/topics/")[1].split("?")[0])
    with database.write() as session:
        guest = participants.join_event(session, event, ParticipantJoin(display_name="Ahmed"))
    page.get_by_label("A free time and place").select_option(index=0)
    page.get_by_role("button", name="Put it there").click()
    with database.write() as session:  # Ahmed signs up at the desk
        signups.sign_up(session, event, session.get_one(Topic, topic_id), guest)
    # Queue to pitch, and leave the queue.
    page.get_by_role("button", name="Queue to pitch").click()
    expect(page.get_by_text("You are number 1 in the queue to pitch.")).to_be_visible()
    page.get_by_role("button", name="Leave the queue").click()
    expect(page.get_by_text("You left the queue to pitch.")).to_be_visible()
    expect(page.get_by_role("button", name="Queue to pitch")).to_be_visible()
    # Edit: a typo in the title.
    page.get_by_role("link", name="Edit the topic").click()
    page.get_by_label("Your topic, in a few words").fill("Transport to hospital")
    page.get_by_label("A sentence or two about it").fill("Buses that miss appointments")
    page.screenshot(path=screenshots / "convener-edit-topic-390.png", full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your changes to the topic are saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Transport to hospital")).to_be_visible()
    page.screenshot(path=screenshots / "convener-topic-edited-390.png", full_page=True)
    # Withdraw: the browser asks first, saying what happens to Ahmed's seat.
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.get_by_role("button", name="Withdraw the topic").click()
    expect(
        page.get_by_text("You withdrew “Transport to hospital”: nobody sees it now.")
    ).to_be_visible()
    assert asked and "1 other person has a seat in it: it goes from their agenda." in asked[0]
    page.screenshot(path=screenshots / "convener-withdrawn-390.png", full_page=False)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Your topic is back, where it was.")).to_be_visible()
    settled(page)
    page.screenshot(path=screenshots / "convener-put-back-390.png", full_page=False)
    with database.read() as session:
        back = session.get_one(Topic, topic_id)
        assert not back.hidden and back.placed
        assert signups.seats_taken(session, topic_id) == 2


def test_facilitator_finds_topics_to_merge_as_she_types_and_undoes_a_move(
    open_day: tuple[str, Event],
    contexts_of: Any,
    screenshots: Path,
) -> None:
    email, event = open_day
    page: Page = contexts_of(**LAPTOP).new_page()
    log_in(page, email)
    page.goto(f"/facilitate/{event.id}/topics")
    keep = page.get_by_label("Keep", exact=True)
    expect(keep).to_have_value("")
    expect(keep.locator("option")).to_have_text(
        ["Choose a topic", "Bus fares", "Buses at night", "Damp homes", "Warm spaces"]
    )
    page.get_by_label("Find topics by a word of their title").fill("bus")
    expect(keep.locator("option")).to_have_text(["Choose a topic", "Bus fares", "Buses at night"])
    expect(page.get_by_text("2 topics match “bus”.")).to_be_visible()
    page.get_by_label("Keep", exact=True).select_option(label="Bus fares")
    page.get_by_label("Duplicate to fold into it (it will be hidden)").select_option(
        label="Bus fares"
    )
    page.get_by_role("button", name="Merge…").click()
    expect(page.get_by_text("Choose two different topics to merge.")).to_be_visible()
    page.screenshot(path=screenshots / "facilitator-merge-search-1366.png", full_page=False)
    # A move, and its undo.
    page.goto(f"/facilitate/{event.id}/wall")
    page.get_by_role("link", name="Move… “Bus fares”").click()
    page.get_by_label("Move “Bus fares” to").select_option(label="Hall (20) — free")
    page.get_by_role("button", name="Move “Bus fares”").click()
    expect(page.get_by_text("“Bus fares” is now at 14:00, Hall.")).to_be_visible()
    page.screenshot(path=screenshots / "facilitator-move-undo-1366.png", full_page=False)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Move undone. “Bus fares” is now at 10:00, Hall.")).to_be_visible()
    page.screenshot(path=screenshots / "facilitator-move-undone-1366.png", full_page=False)
