"""The Content-Security-Policy allows no inline script, and no page of ours needs one."""

from datetime import time

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.security import LinkSigner
from app.services import events as event_service
from tests.browser.pages import connected, join
from tests.factories import Factory, placed_topic

pytestmark = pytest.mark.browser

SECRET = "test-secret-key-that-is-long-enough-for-anything"
WATCH = (
    "window.__refused = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__refused.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"
)


def refused(page: Page) -> list[str]:
    return list(page.evaluate("window.__refused || []"))


def test_pages_work_under_the_policy_and_inline_script_is_refused(
    browser: Browser, live_server: str, make: Factory, contexts: list[BrowserContext]
) -> None:
    event = make.event()
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, make.space(event, "Garden", 5), "Allotments")
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Laptop")
    signer = LinkSigner(SECRET)
    context = browser.new_context(base_url=live_server)
    contexts.append(context)
    context.add_init_script(WATCH)

    phone = join(context, event.join_code, "Amira")
    for path in ("", "/wall", "/topics", f"/topics/{topic.id}", "/reports", "/pledge"):
        phone.goto(f"/e/{event.join_code}{path}")
        assert refused(phone) == [], path
    phone.goto(f"/e/{event.join_code}/wall")
    connected(phone)  # the live stream (htmx's SSE extension) runs under the policy
    phone.get_by_role("button", name="Sign up").first.click()  # htmx swaps under the policy
    expect(phone.get_by_text("You have a seat here")).to_be_visible()
    assert refused(phone) == []

    laptop = context.new_page()
    laptop.goto(f"/f/{signer.sign('facilitator', link.id or 0)}")
    laptop.get_by_role("button", name="Facilitate on this browser").click()
    laptop.wait_for_url(f"**/facilitate/{event.id}")
    for path in ("", "/wall", "/topics", "/desk", "/outcomes"):
        laptop.goto(f"/facilitate/{event.id}{path}")
        assert refused(laptop) == [], path
    projector = context.new_page()
    projector.goto(f"/display/{signer.sign('projector', event.id or 0, 1)}")
    connected(projector)
    assert refused(projector) == []

    # Should someone's text ever slip through as markup, a script in it would not run.
    phone.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.append(s); }"
    )
    assert phone.evaluate("window.__ran === undefined")
    assert any("script-src" in r for r in refused(phone))
