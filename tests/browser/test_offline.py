"""In a real Chromium with bad Wi-Fi: the service worker shows the kept copy of an event's
pages without a connection, and what a person writes offline waits in the phone's outbox and
is sent, once, when the connection returns."""

from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlmodel import select

from app.models import Contribution, Event, Topic
from app.services import marketplace
from tests.browser.pages import PHONE, join
from tests.factories import Factory, count, placed_topic

pytestmark = pytest.mark.browser


NO_CONNECTION = "No connection. This page is the copy kept on this phone"
QUEUED = "will be sent when the connection returns"
SENT = "What you wrote while offline has been sent."


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server, **PHONE)
    yield context
    context.close()


def _event(make: Factory) -> tuple[Event, Topic]:
    event = make.event(name="Patchy Wi-Fi day", starts_on=date(2027, 3, 20))
    slot = make.slot(event, time(10, 45), time(11, 45))
    topic = placed_topic(make, event, slot, make.space(event, "Basement", 20), "Warm spaces")
    with make.database.write() as session:
        marketplace.open_marketplace(session, session.get_one(Event, event.id), True)
    return event, topic


def _controlled(page: Page) -> None:
    """Wait for the service worker to be active, then reload once so it controls the page."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def _banner(page: Page) -> Locator:
    return page.locator("#connection")


def test_the_kept_wall_is_shown_without_a_connection(
    phone: BrowserContext, make: Factory, screenshots: Path
) -> None:
    event, _topic = _event(make)
    code = event.join_code
    page = join(phone, code, "Zofia Wiśniewska")
    _controlled(page)
    page.goto(f"/e/{code}/wall")
    expect(page.locator(".session", has_text="Warm spaces")).to_contain_text("Basement")
    expect(_banner(page)).to_be_hidden()

    phone.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1, name="The wall")).to_be_visible()
    expect(page.locator(".session", has_text="Warm spaces")).to_contain_text("Basement")
    expect(_banner(page)).to_be_visible()
    expect(_banner(page)).to_contain_text(NO_CONNECTION)
    expect(page.get_by_role("status").filter(has_text=NO_CONNECTION)).to_have_count(1)

    # The home page was kept too: a link followed offline shows it, not Chromium's error page.
    page.set_viewport_size({"width": 390, "height": 400})  # a small phone
    page.get_by_role("navigation", name="Event").get_by_role("link", name="My agenda").click()
    expect(page.get_by_text("Hello, Zofia Wiśniewska")).to_be_visible()
    # The link named "My agenda" lands on the agenda, not on the event's details above it.
    expect(page.get_by_role("heading", name="My agenda")).to_be_in_viewport()
    page.set_viewport_size({"width": 390, "height": 844})
    expect(_banner(page)).to_contain_text(NO_CONNECTION)
    page.screenshot(path=str(screenshots / "participant-phone-offline.png"), full_page=True)

    # A page never opened before: the app's own "no connection" page.
    page.goto(f"/e/{code}/news")
    expect(page.get_by_role("heading", level=1, name="No connection")).to_be_visible()

    phone.set_offline(False)
    expect(_banner(page)).to_have_text("Connected again.")


def test_a_note_written_offline_is_sent_once_when_the_connection_returns(
    phone: BrowserContext, live_server: str, make: Factory
) -> None:
    event, topic = _event(make)
    code = event.join_code
    page = join(phone, code, "بلال احمد")
    _controlled(page)
    report = f"/e/{code}/reports/{topic.id}"
    page.goto(report)

    phone.set_offline(True)
    words = page.get_by_label("Your words")
    words.fill("Mosques already run warm hubs")
    page.get_by_role("button", name="Add to the report").click()
    expect(_banner(page)).to_contain_text(QUEUED)
    expect(words).to_have_value("Mosques already run warm hubs")
    expect(page).to_have_url(f"{live_server}{report}")
    assert count(make.database, Contribution) == 0

    phone.set_offline(False)
    expect(_banner(page)).to_have_text(SENT)
    assert count(make.database, Contribution) == 1
    # The page reloads by itself a moment later, with the note in the report.
    expect(page.locator("#report-body")).to_contain_text(
        "Mosques already run warm hubs — بلال احمد", timeout=5000
    )
    expect(page.get_by_label("Your words")).to_have_value("")
    assert count(make.database, Contribution) == 1

    # The next note, written online in the fresh form, is a note of its own.
    page.get_by_label("Your words").fill("Transport is the real barrier")
    page.get_by_role("button", name="Add to the report").click()
    expect(page.locator("#report-body")).to_contain_text("Transport is the real barrier")
    assert count(make.database, Contribution) == 2


def _topics_titled(make: Factory, title: str) -> int:
    with make.database.read() as session:
        return len(session.exec(select(Topic).where(Topic.title == title)).all())


def test_a_topic_proposed_offline_on_the_kept_page_is_sent_and_new_typing_is_kept(
    phone: BrowserContext, live_server: str, make: Factory
) -> None:
    event, _topic = _event(make)
    code = event.join_code
    page = join(phone, code, "Amira Hussain")
    _controlled(page)
    page.goto(f"/e/{code}/topics")

    # Offline, the topics page opened before is shown from the phone.
    phone.set_offline(True)
    page.goto(f"/e/{code}")
    page.get_by_role("navigation", name="Event").get_by_role("link", name="Topics").click()
    expect(page.get_by_role("heading", name="Propose a topic")).to_be_visible()
    expect(_banner(page)).to_contain_text(NO_CONNECTION)
    title = page.get_by_label("Your topic, in a few words")
    title.fill("Lifts to the food bank")
    page.get_by_role("button", name="Propose").click()
    expect(_banner(page)).to_contain_text(QUEUED)
    expect(title).to_have_value("Lifts to the food bank")
    assert _topics_titled(make, "Lifts to the food bank") == 0

    # They start on their next idea; the connection returns while they type.
    title.fill("Night buses home")
    page.evaluate("window.stillThisPage = true")
    phone.set_offline(False)
    expect(_banner(page)).to_have_text(SENT)
    assert _topics_titled(make, "Lifts to the food bank") == 1
    page.wait_for_timeout(2500)  # longer than the reload after sending waits
    assert page.evaluate("window.stillThisPage") is True, "the page reloaded over their typing"
    expect(title).to_have_value("Night buses home")

    # Sent from the same form, the new idea is a topic of its own, not the first one again.
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("heading", level=1, name="Night buses home")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your topic is proposed")
    assert _topics_titled(make, "Lifts to the food bank") == 1
    assert _topics_titled(make, "Night buses home") == 1
    page.goto(f"/e/{code}/topics")
    expect(page.get_by_role("heading", name="Topics proposed (3)")).to_be_visible()
