"""The book of proceedings in a real Chromium: laid out for A4 when printed."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models import Event, Organiser, Topic
from tests.browser.pages import log_in

pytestmark = pytest.mark.browser


def test_the_book_prints_on_a4_with_a_page_per_report(
    contexts: list[BrowserContext],
    browser: object,
    live_server: str,
    exported: tuple[Organiser, Event, Topic, Topic],
    screenshots: Path,
) -> None:
    organiser, event, _, _ = exported
    context = browser.new_context(base_url=live_server)  # type: ignore[attr-defined]
    contexts.append(context)
    page = context.new_page()
    log_in(page, organiser.email)
    page.goto(f"/organiser/events/{event.id}")
    page.get_by_role("link", name="Open the book").click()
    expect(page.get_by_role("heading", name="Transport")).to_be_visible()
    toolbar = page.get_by_role("navigation", name="Book of proceedings")
    expect(toolbar).to_be_visible()

    page.emulate_media(media="print")
    expect(toolbar).to_be_hidden()  # the screen's links are not printed
    chapter = page.locator("article.chapter").first
    assert chapter.evaluate("e => getComputedStyle(e).breakBefore") == "page"
    page.screenshot(path=str(screenshots / "proceedings-print.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    # cover, contents, one page for each of the two reports, actions by theme
    assert pages >= 5, pages
