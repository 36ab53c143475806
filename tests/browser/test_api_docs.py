"""The API's documentation page, /api/docs, in a real Chromium: Swagger UI from our own files,
with no other server reachable, under the app's Content-Security-Policy, and accessible."""

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, BrowserContext, Route, expect

from tests.browser.test_accessibility import AXE_OPTIONS
from tests.browser.test_content_security import WATCH, refused

pytestmark = pytest.mark.browser

# Every WCAG rule, and the best practices but two that Swagger UI's own markup breaks and no
# stylesheet can mend: its title is an h1 and its operations' groups h3s (heading-order), and
# its title block is outside the <main> it draws for the operations (region).
SWAGGER_AXE_OPTIONS = {
    **AXE_OPTIONS,
    "rules": {"heading-order": {"enabled": False}, "region": {"enabled": False}},
}


def test_api_docs_show_the_api_offline_under_the_policy(
    browser: Browser, live_server: str, contexts: list[BrowserContext]
) -> None:
    context = browser.new_context(base_url=live_server)
    contexts.append(context)
    context.add_init_script(WATCH)
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        """The network is this server alone: anything else is noted and fails."""
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    page.goto("/api/docs")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("OpenSpace")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    paths = set(operations.all_inner_texts())
    assert "/api/v1/events" in paths and all(path.startswith("/api/v1/") for path in paths)
    page.get_by_role("button", name="POST /api/v1/events/{event_id}/slots Add Slot").click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    page.get_by_role("button", name="SlotCreate", exact=True).click()  # its rules, in words
    expect(page.get_by_text("and the slot ends after it starts")).to_be_visible()
    assert elsewhere == []
    assert refused(page) == []
    results = Axe().run(page, options=SWAGGER_AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()
