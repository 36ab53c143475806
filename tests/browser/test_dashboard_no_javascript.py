"""The dashboard across an organiser's events in a real Chromium with JavaScript off, on a
phone: every chart is drawn (server-side SVG, named for a screen reader), its table beside it,
and the page does not scroll sideways (wide tables scroll inside their box)."""

from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.pages import PHONE
from tests.factories import PASSWORD, Factory
from tests.integration.test_followup_dashboard import a_year_on, clock  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def no_js_phone(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server, java_script_enabled=False, **PHONE)
    yield context
    context.close()


def test_dashboard_across_events_with_javascript_off_on_a_phone(
    no_js_phone: BrowserContext,
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    year = a_year_on(make)
    make.event(year.organiser, name="Healthy towns 2026", starts_on=date(2026, 11, 26))
    page = no_js_phone.new_page()
    page.goto("/login")
    signing_in = page.locator("form").filter(has=page.get_by_role("button", name="Log in"))
    signing_in.get_by_label("E-mail").fill(year.organiser.email)
    signing_in.get_by_label("Password").fill(PASSWORD)
    signing_in.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="What became of them").click()
    expect(page.get_by_role("heading", name="What became of my events")).to_be_visible()
    assert page.evaluate("typeof window.htmx") == "undefined"
    for title in (
        "Actions of all your events, from the first day to now",
        "Actions by event",
        "Actions by theme, all events",
        "Overdue, gone quiet, owner not reached",
        "Pledges answered, by event",
    ):
        expect(page.get_by_role("img", name=title)).to_be_visible()
        expect(page.get_by_role("table", name=f"The numbers of “{title}”")).to_be_attached()
    side = page.get_by_role(
        "table", name="Each event's actions and pledges, and all of them together"
    )
    expect(side.get_by_role("row").last).to_contain_text("All events")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways on a phone ({width}px)"
