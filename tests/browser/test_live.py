"""In a real Chromium: the projector and phones follow the day live."""

from datetime import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from app.models import Event
from app.security import LinkSigner
from app.services import events as event_service
from tests.browser.pages import PHONE, connected, join
from tests.factories import Factory, placed_topic

pytestmark = pytest.mark.browser

SECRET = "test-secret-key-that-is-long-enough-for-anything"
PROJECTOR = {"viewport": {"width": 1920, "height": 1080}}


def test_projector_and_phones_follow_sign_ups_and_announcements(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
) -> None:
    event = make.event(theme_question="How do we share power in our city?")
    slot = make.slot(event, time(10, 0), time(11, 0))
    garden = make.space(event, "Garden", 3)
    placed_topic(make, event, slot, garden, "Who cares for the carers?")
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Laptop")
    signer = LinkSigner(SECRET)

    def context(**options: object) -> BrowserContext:
        made = browser.new_context(base_url=live_server, **options)  # type: ignore[arg-type]
        contexts.append(made)
        return made

    # The facilitator's laptop puts the wall on the projector.
    laptop = context().new_page()
    laptop.goto(f"/f/{signer.sign('facilitator', link.id or 0)}")
    laptop.get_by_role("button", name="Facilitate on this browser").click()
    laptop.wait_for_url("**/facilitate/*")
    projector = context(**PROJECTOR).new_page()
    projector.goto(f"/display/{signer.sign('projector', event.id or 0, 1)}")
    connected(projector)
    expect(projector.locator("#screen")).to_contain_text("How do we share power in our city?")
    laptop.get_by_role("button", name="The wall").click()
    expect(laptop.get_by_role("button", name="The wall")).to_have_attribute("aria-pressed", "true")
    expect(projector.locator(".screen-wall")).to_contain_text("0/3", timeout=2000)

    # Two phones: one watches the wall, the other signs up.
    watching = join(context(**PHONE), event.join_code, "Amara")
    watching.goto(f"/e/{event.join_code}/wall")
    connected(watching)
    # A third is on their agenda, which shows no session's fill bar: the counts reach it too.
    agenda = join(context(**PHONE), event.join_code, "Chidi")
    agenda.goto(f"/e/{event.join_code}")
    connected(agenda)
    errors: list[str] = []
    agenda.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    agenda.evaluate(
        "window.countsHeard = 0; document.addEventListener('htmx:sseBeforeMessage',"
        " e => { if (e.detail.type === 'counts') window.countsHeard += 1 })"
    )
    signing = join(context(**PHONE), event.join_code, "Bartosz")
    signing.goto(f"/e/{event.join_code}/wall")
    signing.get_by_role("button", name="Sign up").click()
    expect(signing.get_by_text("You have a seat here")).to_be_visible()
    expect(projector.locator(".screen-wall")).to_contain_text("1/3", timeout=2000)
    expect(watching.locator(".fill")).to_contain_text("1 of 3 seats taken", timeout=2000)
    agenda.wait_for_function("window.countsHeard > 0", timeout=5000)
    assert errors == []  # htmx logged an error for each fill bar the page does not show
    expect(watching.get_by_role("button", name="Sign up")).to_be_visible()  # still theirs

    # An announcement reaches the phone (politely, without taking focus) and the projector.
    watching.get_by_role("button", name="Sign up").focus()
    laptop.get_by_label("Message to everyone").fill("Room 3 has moved to the garden")
    laptop.get_by_role("button", name="Announce").click()
    expect(laptop.get_by_role("status")).to_contain_text("Announced")
    expect(watching.get_by_role("status")).to_contain_text(
        "Room 3 has moved to the garden", timeout=2000
    )
    expect(watching.get_by_role("button", name="Sign up")).to_be_focused()
    expect(projector.locator(".screen-announce")).to_contain_text("Room 3 has moved")
    projector.screenshot(path=str(screenshots / "projector-wall.png"))
    watching.screenshot(path=str(screenshots / "phone-announcement.png"))


def test_pitch_queue_on_the_projector(
    browser: Browser, live_server: str, make: Factory, contexts: list[BrowserContext]
) -> None:
    event = make.event()
    with make.database.write() as session:
        fresh = session.get(Event, event.id)
        assert fresh is not None
        from app.services import marketplace

        marketplace.open_marketplace(session, fresh, True)
        fresh.projector_view = "marketplace"
        session.add(fresh)
        link = event_service.create_facilitator_link(session, event, "Laptop")
    signer = LinkSigner(SECRET)
    projector_context = browser.new_context(base_url=live_server, **PROJECTOR)  # type: ignore[arg-type]
    phone_context = browser.new_context(base_url=live_server, **PHONE)  # type: ignore[arg-type]
    laptop_context = browser.new_context(base_url=live_server)
    contexts.extend([projector_context, phone_context, laptop_context])
    projector = projector_context.new_page()
    projector.goto(f"/display/{signer.sign('projector', event.id or 0, 1)}")
    connected(projector)

    convener = join(phone_context, event.join_code, "Chidi")
    convener.goto(f"/e/{event.join_code}/topics")
    convener.get_by_label("Your topic, in a few words").fill("Libraries as warm spaces")
    convener.get_by_role("button", name="Propose").click()
    expect(projector.locator(".ticker")).to_contain_text("Libraries as warm spaces", timeout=2000)
    convener.get_by_role("button", name="Queue to pitch").click()
    expect(convener.get_by_text("number 1 in the queue")).to_be_visible()
    expect(projector.locator(".pitch-next")).to_contain_text("Chidi", timeout=2000)

    laptop = laptop_context.new_page()
    laptop.goto(f"/f/{signer.sign('facilitator', link.id or 0)}")
    laptop.get_by_role("button", name="Facilitate on this browser").click()
    laptop.wait_for_url("**/facilitate/*")
    laptop.get_by_role("button", name="Start the first pitch").click()
    expect(projector.locator(".pitch-now")).to_contain_text(
        "Libraries as warm spaces", timeout=2000
    )
    clock = projector.locator(".pitch-now .countdown")
    first = clock.inner_text()
    expect(clock).not_to_have_text(first, timeout=3000)  # it counts down by itself
    laptop.get_by_role("button", name="Pause the clock").click()
    expect(projector.locator(".countdown--paused")).to_be_visible(timeout=2000)
