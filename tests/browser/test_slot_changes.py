"""In a real Chromium: the organiser edits a slot in place and moves the rest of the day;
a phone's wall shows the new times without being reloaded."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from app.db import Database
from tests.browser.pages import PHONE, connected, join, log_in
from tests.factories import Factory
from tests.integration.test_slot_changes import a_day_today

pytestmark = pytest.mark.browser


def test_slot_edit_and_day_shift_reach_a_phone_live(
    browser: Browser,
    live_server: str,
    make: Factory,
    database: Database,
    contexts: list[BrowserContext],
    screenshots: Path,
) -> None:
    day = a_day_today(make, database)
    event, zone = day.event, day.event.zone

    def at(moment: datetime, minutes: int = 0) -> str:
        return (moment + timedelta(minutes=minutes)).astimezone(zone).strftime("%H:%M")

    phone_context = browser.new_context(base_url=live_server, **PHONE)
    laptop = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    contexts.extend([phone_context, laptop])
    phone = join(phone_context, event.join_code, "Tomasz")
    phone.goto(f"/e/{event.join_code}/wall")
    connected(phone)
    wall = phone.locator("#wall-slots")
    expect(wall).to_contain_text(at(day.next.starts_at))

    page = laptop.new_page()
    log_in(page, day.organiser.email)
    page.goto(f"/organiser/events/{event.id}#slots")
    slots = page.locator("#slots")
    slots.locator("summary", has_text="Round 2").click()
    edit = slots.locator(f'form[action$="/slots/{day.next.id}"]')
    # An overlap with the next slot is refused by the start, with the typed times kept.
    edit.get_by_label("Starts").fill(at(day.later.starts_at, -10))
    edit.get_by_label("Ends").fill(at(day.later.starts_at, 20))
    edit.get_by_role("button", name="Save the slot").click()
    edit = slots.locator(f'form[action$="/slots/{day.next.id}"]')
    expect(edit.locator(".error")).to_contain_text(
        f"This overlaps the slot starting at {at(day.later.starts_at)}"
    )
    expect(edit.get_by_label("Starts")).to_have_value(at(day.later.starts_at, -10))
    slots.screenshot(path=str(screenshots / "slot-edit-refused-1366.png"))

    edit.get_by_label("Starts").fill(at(day.next.starts_at, 5))
    edit.get_by_label("Ends").fill(at(day.next.ends_at, 5))
    edit.get_by_label("Title").fill("Round 2 (after lunch)")
    edit.get_by_role("button", name="Save the slot").click()
    expect(slots.get_by_role("status")).to_contain_text("Saved.")
    expect(wall).to_contain_text("Round 2 (after lunch)")
    expect(wall).to_contain_text(at(day.next.starts_at, 5))

    slots.get_by_label("By how many minutes").fill("5")
    slots.get_by_role("button", name="Move the slots").click()
    expect(slots.get_by_role("status")).to_contain_text("Moved 3 slots 5 minutes later")
    expect(slots).to_contain_text(f"{at(day.next.starts_at, 10)}–{at(day.next.ends_at, 10)}")
    expect(slots).to_contain_text(f"{at(day.running.starts_at)}–{at(day.running.ends_at)}")
    slots.screenshot(path=str(screenshots / "slot-shift-1366.png"))

    expect(wall).to_contain_text(at(day.next.starts_at, 10))
    expect(wall).to_contain_text(at(day.later.starts_at, 5))
    # The links to each slot at the top of the wall give the new times too.
    jump = phone.locator(".slot-jump")
    expect(jump).to_contain_text(at(day.later.starts_at, 5))
    expect(jump).not_to_contain_text(at(day.later.starts_at))
    phone.screenshot(path=str(screenshots / "slot-shift-phone-390.png"), full_page=True)

    # The facilitator's day, on a phone-sized screen: the same form, as a plain post.
    facilitator = laptop.new_page()
    facilitator.set_viewport_size({"width": 390, "height": 844})
    facilitator.goto(f"/facilitate/{event.id}")
    facilitator.get_by_label("By how many minutes").fill("-30")
    facilitator.get_by_role("button", name="Move the slots").click()
    expect(facilitator.locator("#shift-minutes-error")).to_contain_text(
        f"would overlap the slot at {at(day.running.starts_at)}"
    )
    expect(facilitator.get_by_label("By how many minutes")).to_have_value("-30")
    facilitator.locator("#shift-h").scroll_into_view_if_needed()
    facilitator.screenshot(path=str(screenshots / "slot-shift-facilitator-390.png"))
