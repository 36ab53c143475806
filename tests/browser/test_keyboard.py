"""In a real Chromium, by keyboard alone (issue 7): every flow works with Tab, Enter and the
arrow keys, focus is always visible and never lost, form errors are announced, and live updates
arrive in polite live regions without taking anyone's place.

Nothing here clicks, fills or focuses: after each page is first loaded, the person only presses
keys and types, as someone without a mouse or touch screen would.
"""

from collections.abc import Callable, Iterator
from datetime import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from app.models import Event
from app.services import marketplace
from tests.browser.pages import PHONE, connected, settled
from tests.conftest import phone
from tests.factories import PASSWORD, Factory, placed_topic

pytestmark = pytest.mark.browser

Contexts = Callable[..., BrowserContext]
MAX_PRESSES = 80

# What the focused element looks like: enough to tell a visible ring from none, and to say
# in a failure where the focus is.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const name = (el.getAttribute('aria-label') || el.innerText || el.value || '').trim();
  return {
    where: `<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}> ${name.slice(0, 60)}`,
    body: el === document.body || el === null,
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    boxShadow: style.boxShadow,
  };
}"""


@pytest.fixture
def new_context(browser: Browser, live_server: str) -> Iterator[Contexts]:
    made: list[BrowserContext] = []

    def new(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server, **options)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


def focused(page: Page) -> dict[str, Any]:
    return page.evaluate(FOCUSED)  # type: ignore[no-any-return]


def is_focused(target: Locator) -> bool:
    return bool(target.evaluate("el => el === document.activeElement"))


def assert_visible_focus(page: Page) -> None:
    """The focused element draws a ring: a solid outline of 2px or more, or a box shadow."""
    now = focused(page)
    outline = now["outlineStyle"] != "none" and now["outlineWidth"] >= 2
    shadow = now["boxShadow"] not in ("", "none")
    assert outline or shadow, f"no visible focus on {now['where']}: {now}"


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus; fail after MAX_PRESSES."""
    key = "Shift+Tab" if backwards else "Tab"
    target.wait_for(state="attached")
    passed: list[str] = []
    for _ in range(MAX_PRESSES):
        if is_focused(target):
            assert_visible_focus(page)
            return
        page.keyboard.press(key)
        passed.append(focused(page)["where"])
    pytest.fail(
        f"{MAX_PRESSES} presses of {key} never reached {target}; the focus went through: "
        + " | ".join(dict.fromkeys(passed))
    )


def nav_link(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Event").get_by_role("link", name=name)


def activate(page: Page, target: Locator) -> None:
    """Tab to a link or button and press Enter on it."""
    tab_to(page, target)
    page.keyboard.press("Enter")


def focus_kept(page: Page) -> dict[str, Any]:
    """After an htmx swap the focus is on something, not dropped back to <body>."""
    settled(page)
    now = focused(page)
    assert not now["body"], "the swap dropped the keyboard focus back to the top of the page"
    return now


def join_by_keyboard(page: Page, code: str, name: str) -> None:
    page.goto(f"/e/{code}/join")
    tab_to(page, page.get_by_label("Your name"))
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Hello, {name}")).to_be_visible()


def open_marketplace(make: Factory, event: Event) -> None:
    with make.database.write() as session:
        fresh = session.get(Event, event.id)
        assert fresh is not None
        marketplace.open_marketplace(session, fresh, True)


def organiser_browser(base: str, email: str) -> httpx.Client:
    """The organiser, logged in, in a plain HTTP client (for what others do meanwhile)."""
    client = httpx.Client(base_url=base, timeout=10)
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": client.cookies["openspace_csrf"]},
    )
    assert response.status_code == 303, response.text
    return client


def test_participant_joins_signs_up_and_switches_by_keyboard(
    new_context: Contexts, make: Factory
) -> None:
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    carers = placed_topic(make, event, slot, make.space(event, "Garden", 10), "Carers")
    libraries = placed_topic(make, event, slot, make.space(event, "Library", 10), "Libraries")
    code = event.join_code
    page = new_context(**PHONE).new_page()

    join_by_keyboard(page, code, "Amara")
    activate(page, nav_link(page, "Wall"))
    expect(page.get_by_role("heading", level=1, name="The wall")).to_be_visible()
    connected(page)

    first = page.locator(f"#topic-{carers.id}")
    second = page.locator(f"#topic-{libraries.id}")
    activate(page, first.get_by_role("button", name="Sign up"))
    expect(first).to_contain_text("You have a seat here")
    expect(first).to_contain_text("1 of 10 seats taken")
    # The focus goes to what now belongs where the pressed button was: that session's "Leave".
    focus_kept(page)
    expect(first.get_by_role("button", name="Leave")).to_be_focused()
    assert_visible_focus(page)
    # The wall's own live refresh, set off by this sign-up, waits while the person is in it …
    page.wait_for_function("() => document.getElementById('wall-slots').dataset.waiting === '1'")

    # … and still waits when the next swap takes away the button they pressed.
    activate(page, second.get_by_role("button", name="Switch to this session"))
    expect(second).to_contain_text("You have a seat here")
    expect(second).to_contain_text("1 of 10 seats taken")
    expect(first).not_to_contain_text("You have a seat here")
    expect(first).to_contain_text("0 of 10 seats taken")
    focus_kept(page)
    expect(second.get_by_role("button", name="Leave")).to_be_focused()
    assert_visible_focus(page)

    # From where the focus now is, the next session's action is still a Tab or two away.
    tab_to(page, first.get_by_role("button", name="Switch to this session"), backwards=True)


def test_facilitator_moves_a_topic_on_the_wall_by_keyboard(
    new_context: Contexts, make: Factory
) -> None:
    organiser = make.organiser("keys@example.org")
    event = make.event(organiser)
    morning = make.slot(event, time(10, 0), time(11, 0))
    later = make.slot(event, time(11, 15), time(12, 15))
    garden = make.space(event, "Garden", 10)
    make.space(event, "Library", 10)
    topic = placed_topic(make, event, morning, garden, "Who cares for the carers?")
    page = new_context().new_page()

    page.goto("/login")
    tab_to(page, page.get_by_label("E-mail"))
    page.keyboard.type("keys@example.org")
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My events")).to_be_visible()

    page.goto(f"/facilitate/{event.id}/wall")
    before = page.locator(f'td[data-cell="{morning.id}:{garden.id}"]')
    after = page.locator(f'td[data-cell="{later.id}:{garden.id}"]')
    expect(before).to_contain_text(topic.title)
    expect(after).not_to_contain_text(topic.title)

    # The card's "Move…" link opens its own page, with the list of places.
    tab_to(page, page.get_by_role("link", name=f"Move… “{topic.title}”"))
    page.keyboard.press("Enter")
    # Arrow down (a closed select changes its value) to the new place.
    choice = page.get_by_label(f"Move “{topic.title}” to")
    tab_to(page, choice)
    wanted = f"{later.id}:{garden.id}"
    for _ in range(20):
        if choice.input_value() == wanted:
            break
        page.keyboard.press("ArrowDown")
    assert choice.input_value() == wanted, "the arrow keys never reached the new place"
    activate(page, page.get_by_role("button", name=f"Move “{topic.title}”"))

    expect(after).to_contain_text(topic.title)
    expect(before).not_to_contain_text(topic.title)
    expect(before).to_have_class("cell cell--free")
    # Back on the wall at the moved card: the next Tab is its own "Move…" link, not the top.
    assert page.url.endswith(f"#topic-{topic.id}")
    page.keyboard.press("Tab")
    moved = after.get_by_role("link", name=f"Move… “{topic.title}”")
    assert is_focused(moved), f"Tab after the move went to {focused(page)['where']}"


def test_focus_is_visible_on_links_buttons_and_fields(new_context: Contexts, make: Factory) -> None:
    event = make.event()
    page = new_context(**PHONE).new_page()
    page.goto(f"/e/{event.join_code}/join")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for control in (
        page.get_by_role("link", name="Skip to content"),
        page.get_by_role("link", name="OpenSpace"),
        page.get_by_label("Your name"),
        page.get_by_label("Your e-mail"),
        page.get_by_role("checkbox", name="Put my e-mail next to my name"),
        page.get_by_role("checkbox", name="E-mail me the private link"),
        page.get_by_role("button", name="Join"),
    ):
        tab_to(page, control)  # checks the ring on each
        assert page.evaluate("document.activeElement.matches(':focus-visible')")


def test_a_form_error_is_announced_at_the_field(new_context: Contexts, make: Factory) -> None:
    event = make.event()
    page = new_context(**PHONE).new_page()
    page.goto(f"/e/{event.join_code}/join")
    activate(page, page.get_by_role("button", name="Join"))

    name = page.get_by_label("Your name")
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    described = (name.get_attribute("aria-describedby") or "").split()
    assert "display_name-error" in described, described
    expect(page.locator("#display_name-error")).to_contain_text("Please fill this in")
    expect(name).to_have_accessible_description(
        "As you would like others to see it. Any language is fine. Error: Please fill this in."
    )
    assert_visible_focus(page)

    # Still by keyboard: type the name where the focus already is, and join.
    page.keyboard.type("Amara")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Hello, Amara")).to_be_visible()


def test_live_updates_are_polite_and_never_take_the_focus(
    new_context: Contexts, make: Factory, live_server: str
) -> None:
    organiser = make.organiser("live-keys@example.org")
    event = make.event(organiser)
    slot = make.slot(event, time(10, 0), time(11, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Garden", 10), "Warm spaces")
    open_marketplace(make, event)
    code = event.join_code
    page = new_context(**PHONE).new_page()
    join_by_keyboard(page, code, "Amara")
    other = phone(live_server, event, "Bartosz")
    facilitator = organiser_browser(live_server, "live-keys@example.org")

    # Half-way through typing a topic, someone else proposes one: the list grows, the typing
    # stays where it was.
    activate(page, nav_link(page, "Topics"))
    expect(page.locator("#list-h")).to_have_text("Topics proposed (1)")
    connected(page)
    title = page.get_by_label("Your topic, in a few words")
    tab_to(page, title)
    page.keyboard.type("Bike repair caf")
    page.evaluate("window.typing = document.activeElement")
    proposed = other.post(
        f"/e/{code}/topics",
        data={"title": "Seed swaps", "csrf_token": other.cookies["openspace_csrf"]},
    )
    assert proposed.status_code == 303, proposed.text
    expect(page.locator("#list-h")).to_have_text("Topics proposed (2)", timeout=3000)
    expect(page.locator("#topic-list")).to_contain_text("Seed swaps")
    assert page.evaluate("document.activeElement === window.typing"), focused(page)["where"]
    page.keyboard.type("é")
    expect(title).to_have_value("Bike repair café")

    # An announcement arrives in a polite status region, and the focus stays in the field.
    announced = facilitator.post(
        f"/facilitate/{event.id}/announcements",
        data={
            "text": "Lunch is in the garden",
            "csrf_token": facilitator.cookies["openspace_csrf"],
        },
    )
    assert announced.status_code == 303, announced.text
    region = page.locator("#announcements")
    expect(region).to_contain_text("Lunch is in the garden", timeout=3000)
    expect(region).to_have_attribute("role", "status")
    assert region.get_attribute("aria-live") in (None, "polite")
    assert page.evaluate("document.activeElement === window.typing"), focused(page)["where"]
    expect(title).to_have_value("Bike repair café")

    # On the wall, on a "Sign up" button: someone else's sign-up changes the count under it,
    # and the button keeps the focus.
    activate(page, nav_link(page, "Wall"))
    expect(page.get_by_role("heading", level=1, name="The wall")).to_be_visible()
    connected(page)
    session = page.locator(f"#topic-{topic.id}")
    button = session.get_by_role("button", name="Sign up")
    tab_to(page, button)
    page.evaluate("window.waiting = document.activeElement")
    signed = other.post(
        f"/e/{code}/topics/{topic.id}/sign-up",
        data={"csrf_token": other.cookies["openspace_csrf"]},
    )
    assert signed.status_code == 303, signed.text
    expect(session).to_contain_text("1 of 10 seats taken", timeout=3000)
    assert page.evaluate(
        "document.activeElement === window.waiting && document.contains(window.waiting)"
    ), focused(page)["where"]
    # The button still works from the keyboard, where the person left it.
    page.keyboard.press("Enter")
    expect(session).to_contain_text("You have a seat here")
    expect(session).to_contain_text("2 of 10 seats taken")
    focus_kept(page)
    other.close()
    facilitator.close()
