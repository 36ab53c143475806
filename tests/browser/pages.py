"""Steps several browser tests take the same way a person would."""

from playwright.sync_api import BrowserContext, Page, expect

from tests.factories import PASSWORD


def log_in(page: Page, email: str) -> None:
    """The organiser logs in on the log-in page, with the factories' password."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My events")).to_be_visible()


def join(context: BrowserContext, code: str, name: str) -> Page:
    """A new page in `context` joins the event by its code under `name`."""
    page = context.new_page()
    page.goto(f"/e/{code}/join")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text(f"Hello, {name}")).to_be_visible()
    return page


def connected(page: Page) -> None:
    """The page's live stream is open (htmx's SSE extension has connected)."""
    page.wait_for_function(
        "() => { const d = document.body['htmx-internal-data'];"
        " return d && d.sseEventSource && d.sseEventSource.readyState === 1; }"
    )


# A phone-sized screen, as the participant pages are built for first.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def settled(page: Page) -> None:
    """htmx has finished swapping and settling, as a person would wait before going on, and
    the session just tapped takes taps again (app.js keeps a double tap to one action). (A
    function, not an expression: the pages' Content-Security-Policy forbids the eval that
    Playwright would poll an expression with.)"""
    page.wait_for_function(
        "() => !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added, html[data-seat-guard]')"
    )
