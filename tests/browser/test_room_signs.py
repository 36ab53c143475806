"""In a real Chromium: the organiser names the space that hosts the plenaries, and the room
signs say so, and say only what scanning their code does."""

from datetime import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from app.models import SlotKind
from tests.browser.pages import log_in
from tests.factories import Factory, placed_topic

pytestmark = pytest.mark.browser


def test_room_signs_name_the_plenary_room_chosen_on_set_up(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
) -> None:
    organiser = make.organiser()
    event = make.event(organiser, name="Reducing inequalities together")
    make.slot(event, time(9, 30), time(10, 30), SlotKind.plenary)
    morning = make.slot(event, time(10, 45), time(11, 45))
    make.space(event, "Main hall", 120)
    garden = make.space(event, "Garden", 20)
    placed_topic(make, event, morning, garden, "Warm spaces this winter")
    context = browser.new_context(base_url=live_server)
    contexts.append(context)
    page = context.new_page()
    log_in(page, organiser.email)
    page.goto(f"/organiser/events/{event.id}#spaces")
    page.get_by_label("Plenaries are held in").select_option(label="Main hall")
    page.get_by_role("button", name="Save the plenary space").click()
    expect(page.get_by_role("status")).to_contain_text("the plenaries are in Main hall")
    page.screenshot(path=str(screenshots / "organiser-plenary-space.png"), full_page=True)

    page.goto(f"/events/{event.id}/print/rooms")
    hall_sign, garden_sign = page.locator(".room-sign").all()
    expect(hall_sign).to_contain_text("Plenary (everyone together, in this room)")
    expect(garden_sign).to_contain_text("Plenary (everyone together, in Main hall)")
    expect(garden_sign).to_contain_text("Warm spaces this winter")
    for sign in (hall_sign, garden_sign):
        expect(sign).not_to_contain_text("not in this room")
        expect(sign).not_to_contain_text("sign in to the session")
        expect(sign).to_contain_text("open each session and its report")
    page.screenshot(path=str(screenshots / "room-signs.png"), full_page=True)
