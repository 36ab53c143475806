"""In a real Chromium: an organiser sets an event up; a participant joins on a phone."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import PHONE, log_in, settled
from tests.factories import Factory

pytestmark = pytest.mark.browser

LAPTOP = {"viewport": {"width": 1280, "height": 900}}


def _add_space(page: Page, name: str, capacity: str, notes: str) -> None:
    spaces = page.locator("#spaces")
    spaces.get_by_label("Name").last.fill(name)
    spaces.get_by_label("Capacity").last.fill(capacity)
    spaces.get_by_label("Access notes").last.fill(notes)
    spaces.get_by_role("button", name="Add space").click()
    expect(page.locator("#spaces summary", has_text=name)).to_be_visible()
    settled(page)


def _add_slot(page: Page, start: str, end: str, title: str) -> None:
    # The form that adds a slot (each slot has its own edit form too).
    slots = page.locator("#slots form", has_text="Add a time slot")
    slots.get_by_label("Starts").fill(start)
    slots.get_by_label("Ends").fill(end)
    slots.get_by_label("Title").fill(title)
    slots.get_by_role("button", name="Add slot").click()
    expect(page.locator("#slots .row", has_text=title)).to_be_visible()
    settled(page)


def test_organiser_sets_up_event_and_participant_joins_on_phone(
    browser: Browser, live_server: str, make: Factory, screenshots: Path
) -> None:
    organiser = make.organiser(email="olu@example.org")

    laptop = browser.new_context(base_url=live_server, **LAPTOP)
    page = laptop.new_page()
    log_in(page, organiser.email)

    page.get_by_label("Name").fill("Inequalities Action Workshop")
    page.get_by_label("Theme question").fill("How do we take ownership of actions?")
    page.get_by_label("Date").fill("2026-06-27")
    page.get_by_label("Time zone").fill("Europe/London")
    page.get_by_label("Venue").fill("Kala Sangam")
    page.get_by_role("button", name="Create the event").click()
    expect(page.get_by_role("heading", name="Inequalities Action Workshop")).to_be_visible()

    _add_space(page, "Room 1", "30", "Step-free; hearing loop")
    _add_space(page, "Garden", "15", "Outdoors")
    _add_slot(page, "10:45", "11:45", "Round 1")
    _add_slot(page, "12:30", "13:30", "Round 2")
    # htmx swapped the sections in place: the page was never reloaded with errors.
    expect(page.locator("#spaces .row")).to_have_count(2)
    expect(page.locator("#slots .row")).to_have_count(2)
    code = page.locator("#join strong.code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    code = code.replace("-", "")
    page.screenshot(path=str(screenshots / "organiser-event-setup.png"), full_page=True)

    phone = browser.new_context(base_url=live_server, **PHONE)
    mobile = phone.new_page()
    mobile.goto("/")
    mobile.get_by_label("Event code").fill(code.lower()[:3] + " " + code.lower()[3:])
    mobile.get_by_role("button", name="Find the event").click()
    expect(mobile.get_by_role("heading", name="Inequalities Action Workshop")).to_be_visible()
    mobile.get_by_label("Your name").fill("Zofia Wiśniewska 🌻")
    mobile.get_by_role("button", name="Join").click()
    expect(mobile.get_by_text("Hello, Zofia Wiśniewska 🌻")).to_be_visible()
    expect(mobile.get_by_text("How do we take ownership of actions?")).to_be_visible()
    expect(mobile.get_by_text("10:45–11:45")).to_be_visible()
    expect(mobile.get_by_text("Step-free; hearing loop")).to_be_visible()
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    mobile.screenshot(path=str(screenshots / "participant-phone-home.png"), full_page=True)

    # The participant's cookie does not open the organiser's page.
    response = mobile.goto("/organiser")
    assert response is not None and "/login" in response.url
    laptop.close()
    phone.close()


def test_participant_joins_with_javascript_off(
    browser: Browser, live_server: str, make: Factory, screenshots: Path
) -> None:
    event = make.event(name="Paper-first day")
    context = browser.new_context(base_url=live_server, java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("Event code").fill("nope")
    page.get_by_role("button", name="Find the event").click()
    expect(page.get_by_text("We could not find an event with the code “nope”")).to_be_visible()
    expect(page.get_by_label("Event code")).to_have_value("nope")
    page.get_by_label("Event code").fill(event.join_code)
    page.get_by_role("button", name="Find the event").click()
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("Please fill this in.")).to_be_visible()
    page.get_by_label("Your name").fill("محمد اقبال")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("Hello, محمد اقبال")).to_be_visible()
    page.screenshot(path=str(screenshots / "participant-phone-no-js.png"), full_page=True)
    context.close()
