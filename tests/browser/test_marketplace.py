"""In a real Chromium: participants propose topics, put them on the wall and sign up on phones."""

import math
import re
from collections.abc import Callable, Iterator
from datetime import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlmodel import select

from app.models import Event, Role, Topic
from app.models.agenda import TopicCreate
from app.rates import InMemory
from app.services import events as event_service
from app.services import marketplace
from app.web.kit.common import IDENTITY_COOKIE
from app.web.kit.limits import LIMITS
from tests.browser.pages import PHONE, join, log_in, settled
from tests.browser.test_accessibility import axe_findings, start_axe
from tests.factories import Factory, placed_topic

pytestmark = pytest.mark.browser


Phones = Callable[..., BrowserContext]


@pytest.fixture
def phones(browser: Browser, live_server: str) -> Iterator[Phones]:
    """New phone-sized browser contexts (each its own person), closed after the test."""
    contexts: list[BrowserContext] = []

    def new_phone(**options: object) -> BrowserContext:
        context = browser.new_context(base_url=live_server, **PHONE, **options)  # type: ignore[arg-type]
        contexts.append(context)
        return context

    yield new_phone
    for context in contexts:
        context.close()


def _open_marketplace(make: Factory, event: Event) -> None:
    with make.database.write() as session:
        fresh = session.get(Event, event.id)
        assert fresh is not None
        marketplace.open_marketplace(session, fresh, True)


def _propose(page: Page, code: str, title: str) -> None:
    page.goto(f"/e/{code}/topics")
    page.get_by_label("Your topic, in a few words").fill(title)
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your topic is proposed")


def _put_on_wall(page: Page, space_name: str) -> None:
    """On the convener's own topic page: choose the free place in this space, put it there."""
    cell = page.locator("select#cell")
    value = cell.locator("option", has_text=space_name).get_attribute("value")
    assert value is not None
    cell.select_option(value)
    page.get_by_role("button", name="Put it there").click()
    status = page.locator("#topic-status")
    expect(status).to_contain_text(space_name.rpartition(" · ")[2])
    expect(status).to_contain_text("You convene this session: a seat in it is yours")
    expect(page.get_by_role("heading", name="Move it on the wall")).to_be_visible()


def _be_elsewhere(page: Page) -> None:
    """On the convener's own topic page: give up the seat kept for her in it."""
    status = page.locator("#topic-status")
    status.get_by_role("button", name="I will be elsewhere").click()
    expect(status).to_contain_text("said you will be elsewhere")
    settled(page)


def _agenda_row(page: Page, code: str) -> Locator:
    page.goto(f"/e/{code}")
    expect(page.get_by_role("heading", name="My agenda")).to_be_visible()
    return page.locator(".agenda-slot")


BOOTH_TOPIC = "Energy bills and damp homes"
HALL_TOPIC = "Walking buses to school"


def _two_conveners_on_the_wall(phones: Phones, make: Factory) -> tuple[str, Page, Page]:
    """Two people on phones each propose a topic and put it on the wall: one in the Booth
    (one seat), the other in the Hall; both then look at the wall, where both can sign up."""
    event = make.event(name="Warm homes, warm streets")
    make.slot(event, time(10, 45), time(11, 45))
    make.space(event, "Booth", 1)
    make.space(event, "Hall", 30)
    _open_marketplace(make, event)
    code = event.join_code

    zofia = join(phones(), code, "Zofia Wiśniewska")
    mohammed = join(phones(), code, "محمد اقبال")
    _propose(zofia, code, BOOTH_TOPIC)
    _propose(mohammed, code, HALL_TOPIC)
    # Each is the convener of their own topic, on the page the proposal led to; each holds
    # a seat in it, and says they will be elsewhere (to race for the other's seats).
    _put_on_wall(zofia, "Booth")
    _put_on_wall(mohammed, "Hall")
    _be_elsewhere(zofia)
    _be_elsewhere(mohammed)

    for page in (zofia, mohammed):
        page.goto(f"/e/{code}/wall")
        booth = page.locator(".session", has_text=BOOTH_TOPIC)
        expect(booth).to_contain_text("Booth")
        expect(booth).to_contain_text("0 of 1 seats taken")
        expect(booth.get_by_role("button", name="Sign up")).to_be_visible()
        hall = page.locator(".session", has_text=HALL_TOPIC)
        expect(hall).to_contain_text("Hall")
        expect(hall).to_contain_text("0 of 30 seats taken")
    return code, zofia, mohammed


def _take_the_last_booth_seat(page: Page) -> Locator:
    """Take the booth's one seat on this page; returns the booth's card."""
    booth = page.locator(".session", has_text=BOOTH_TOPIC)
    booth.get_by_role("button", name="Sign up").click()
    expect(booth).to_contain_text("You have a seat here")
    expect(booth).to_contain_text("Full · 1 of 1 seats taken")
    settled(page)
    return booth


def test_two_participants_propose_place_and_race_for_the_last_seat(
    phones: Phones, make: Factory, screenshots: Path
) -> None:
    code, zofia, mohammed = _two_conveners_on_the_wall(phones, make)
    # The second person's page hears nothing live for a while (as when a phone's stream has
    # dropped), so their wall goes on offering a seat that is gone.
    live = f"**/e/{code}/live*"
    mohammed.route(live, lambda route: route.abort())
    mohammed.reload()
    zofia_booth = _take_the_last_booth_seat(zofia)

    # The second person's wall still offers the seat; their tap comes a moment too late:
    # they are told the session is full and offered its waitlist, and the seat stays taken.
    mohammed_booth = mohammed.locator(".session", has_text=BOOTH_TOPIC)
    mohammed_booth.get_by_role("button", name="Sign up").click()
    expect(mohammed_booth.get_by_role("alert")).to_have_text(
        "This session is full. You can join its waitlist."
    )
    expect(mohammed_booth).to_contain_text("Full · 1 of 1 seats taken")
    expect(mohammed_booth).not_to_contain_text("You have a seat here")
    expect(mohammed_booth.get_by_role("button", name="Sign up")).to_have_count(0)
    settled(mohammed)
    mohammed_booth.get_by_role("button", name="Join the waitlist").click()
    expect(mohammed_booth).to_contain_text("You are number 1 on the waitlist.")
    expect(mohammed_booth).to_contain_text("1 waiting")
    expect(mohammed_booth.get_by_role("button", name="Leave the waitlist")).to_be_visible()
    settled(mohammed)
    mohammed.screenshot(path=str(screenshots / "participant-phone-wall.png"), full_page=True)
    width = mohammed.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the wall scrolls sideways on a phone ({width}px)"

    mohammed.unroute(live)
    agenda = _agenda_row(mohammed, code)
    # He runs his own session at this time, and waits for a seat in hers.
    expect(agenda).to_contain_text(f"You convene {HALL_TOPIC} · Hall")
    expect(agenda).not_to_contain_text("No session chosen")
    expect(agenda.locator(".waiting")).to_have_text(
        f"Waitlist for {BOOTH_TOPIC}: you are number 1."
    )

    # The first changes their mind: the seat they leave goes to the first in line.
    zofia_hall = zofia.locator(".session", has_text=HALL_TOPIC)
    zofia_hall.get_by_role("button", name="Switch to this session").click()
    expect(zofia_hall).to_contain_text("You have a seat here")
    expect(zofia_hall).to_contain_text("1 of 30 seats taken")
    expect(zofia_booth).not_to_contain_text("You have a seat here")
    expect(zofia_booth).to_contain_text("Full · 1 of 1 seats taken")
    expect(zofia_booth).not_to_contain_text("waiting")
    # The one promoted sees it on the page they have open (their agenda), without reloading.
    expect(agenda).to_contain_text(f"{BOOTH_TOPIC} · Booth", timeout=10_000)
    expect(mohammed.locator("#seat-news")).to_contain_text("A seat came free for you")

    mohammed.reload()
    expect(agenda).to_contain_text(f"{BOOTH_TOPIC} · Booth")
    expect(agenda.locator(".waiting")).to_have_count(0)
    expect(agenda).not_to_contain_text("No session chosen")
    expect(_agenda_row(zofia, code)).to_contain_text(f"{HALL_TOPIC} · Hall")

    mohammed.goto(f"/e/{code}/wall")
    expect(mohammed_booth).to_contain_text("You have a seat here")


def test_the_one_promoted_from_the_waitlist_sees_it_on_the_wall_they_have_open(
    phones: Phones, make: Factory
) -> None:
    _code, zofia, mohammed = _two_conveners_on_the_wall(phones, make)
    zofia_booth = _take_the_last_booth_seat(zofia)
    mohammed_booth = mohammed.locator(".session", has_text=BOOTH_TOPIC)
    # Live, on the page they have open: the session is full and now offers its waitlist.
    expect(mohammed_booth).to_contain_text("Full · 1 of 1 seats taken")
    mohammed_booth.get_by_role("button", name="Join the waitlist").click()
    expect(mohammed_booth).to_contain_text("You are number 1 on the waitlist.")
    settled(mohammed)

    # Their tap left the focus on the card's button; their page still updates when the
    # seat comes to them.
    zofia_booth.get_by_role("button", name="Leave").click()
    expect(zofia_booth).to_contain_text("You left this session.")
    expect(mohammed_booth).to_contain_text("You have a seat here", timeout=10_000)
    expect(mohammed_booth).not_to_contain_text("waitlist")
    # And the top of the page says so, until they say they saw it.
    news = mohammed.locator("#seat-news")
    expect(news).to_contain_text(f"A seat came free for you: you are now in {BOOTH_TOPIC}")
    start_axe(mohammed)
    assert axe_findings(mohammed, "the wall with the seat news") == []
    news.get_by_role("button", name="Got it").click()
    expect(news).not_to_contain_text("A seat came free")
    # The button went with the notice: the focus goes to the page's heading, not nowhere.
    expect(mohammed.get_by_role("heading", level=1)).to_be_focused()
    mohammed.reload()
    expect(mohammed_booth).to_contain_text("You have a seat here")
    expect(news).not_to_contain_text("A seat came free")


def test_a_double_tap_on_leave_does_not_sign_the_person_up_again(
    phones: Phones, make: Factory
) -> None:
    _code, zofia, _mohammed = _two_conveners_on_the_wall(phones, make)
    hall = zofia.locator(".session", has_text=HALL_TOPIC)
    hall.get_by_role("button", name="Sign up").click()
    expect(hall).to_contain_text("You have a seat here")
    # The live refresh the sign-up brings (0.3 s, then up to 1.5 s of delay) has come and
    # gone: it would put a new Leave button where the finger is about to land.
    zofia.wait_for_timeout(2000)
    settled(zofia)
    box = hall.get_by_role("button", name="Leave").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    zofia.mouse.click(x, y)
    expect(hall).to_contain_text("You left this session.")
    # htmx keeps the old attributes on the new card for its settle step (20 ms): the card is
    # drawn as the person's own (narrower, the button wrapped lower) until it has settled.
    expect(hall).not_to_have_class(re.compile(r"session--mine"))
    # The second tap of the double tap lands on the button now under the finger.
    under = zofia.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('button')?.textContent", [x, y]
    )
    assert under is not None and "Sign up" in under
    zofia.mouse.click(x, y)
    zofia.wait_for_timeout(1500)
    settled(zofia)
    expect(hall).not_to_contain_text("You have a seat here")
    expect(hall).to_contain_text("0 of 30 seats taken")


def test_the_answer_to_a_tap_stays_when_the_wall_refreshes_by_itself(
    phones: Phones, make: Factory
) -> None:
    """A change of someone else's, a moment after a tap, refreshes the open wall: the answer
    beside the session (a full session looks the same after a leave) is not taken away."""
    _code, zofia, mohammed = _two_conveners_on_the_wall(phones, make)
    hall = zofia.locator(".session", has_text=HALL_TOPIC)
    hall.get_by_role("button", name="Sign up").click()
    expect(hall).to_contain_text("You have a seat here")
    settled(zofia)
    hall.get_by_role("button", name="Leave").click()
    expect(hall).to_contain_text("You left this session.")
    # Someone else fills the booth: the wall's layout changed, and Zofia's wall refetches it.
    mohammed_booth = mohammed.locator(".session", has_text=BOOTH_TOPIC)
    mohammed_booth.get_by_role("button", name="Sign up").click()
    zofia_booth = zofia.locator(".session", has_text=BOOTH_TOPIC)
    expect(zofia_booth.get_by_role("button", name="Join the waitlist")).to_be_visible(
        timeout=10_000
    )
    expect(hall).to_contain_text("You left this session.")
    expect(hall.get_by_role("button", name="Sign up")).to_be_visible()


def test_propose_and_sign_up_with_javascript_off(
    phones: Phones, live_server: str, make: Factory
) -> None:
    event = make.event(name="Paper-first day")
    slot = make.slot(event, time(10, 45), time(11, 45))
    garden = make.space(event, "Garden", 15)
    placed_topic(make, event, slot, garden, "Warm spaces")
    _open_marketplace(make, event)
    code = event.join_code

    page = join(phones(java_script_enabled=False), code, "Amira Hussain")

    page.goto(f"/e/{code}/topics")
    about = "Lifts to the food bank on Saturdays\nBring a bag"
    page.get_by_label("A sentence or two about it").fill(about)
    page.get_by_label("Language of the session").fill("Urdu")
    page.get_by_role("button", name="Propose").click()
    title = page.get_by_label("Your topic, in a few words")
    expect(page.locator("#title-error")).to_have_text("Error: Please fill this in.")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("A sentence or two about it")).to_have_value(about)
    expect(page.get_by_label("Language of the session")).to_have_value("Urdu")
    title.fill("Getting to the food bank")
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("heading", level=1, name="Getting to the food bank")).to_be_visible()
    # The description keeps its line break, as it was typed.
    assert page.locator(".description").inner_text() == about
    expect(page.locator("#topic-status")).to_contain_text("Not on the wall yet")

    page.goto(f"/e/{code}/topics")
    expect(page.get_by_role("heading", name="Topics proposed (2)")).to_be_visible()

    page.goto(f"/e/{code}/wall")
    session = page.locator(".session", has_text="Warm spaces")
    expect(session).to_contain_text("Garden")
    anchor = session.get_attribute("id")
    session.get_by_role("button", name="Sign up").click()
    # Without JavaScript the form posts and the wall comes back, scrolled to the session
    # (and saying so at the top).
    expect(page).to_have_url(f"{live_server}/e/{code}/wall?done=signed_up&at={anchor}#{anchor}")
    expect(page.locator(".session", has_text="Warm spaces")).to_contain_text("You have a seat here")
    expect(page.locator(".session", has_text="Warm spaces")).to_contain_text("1 of 15 seats taken")

    agenda = _agenda_row(page, code)
    expect(agenda).to_contain_text("Warm spaces · Garden")
    expect(agenda.get_by_role("link", name="Warm spaces")).to_be_visible()


def test_marking_interest_on_the_topic_list_keeps_the_card_in_place(
    phones: Phones, make: Factory
) -> None:
    """With htmx: the card changes where it is (it once vanished, taking the live list's
    hx-select for its own)."""
    event = make.event()
    _open_marketplace(make, event)
    convener = make.participant(event, "Convener")
    with make.database.write() as session:
        fresh = session.get_one(Event, event.id)
        for title in ("Food banks", "Night buses"):
            marketplace.propose_topic(session, fresh, convener, TopicCreate(title=title))
    page = join(phones(), event.join_code, "Ada")
    page.goto(f"/e/{event.join_code}/topics")
    settled(page)
    card = page.locator(".card", has_text="Night buses")
    card.get_by_role("button", name="I’m interested").click()
    expect(card.get_by_role("button", name="Interested")).to_have_attribute("aria-pressed", "true")
    expect(card).to_contain_text("1 interested")
    expect(page.locator(".card")).to_have_count(2)


def test_a_pause_gives_back_what_was_sent_and_goes_once_it_goes_through(
    phones: Phones, make: Factory, served: tuple[str, FastAPI]
) -> None:
    """Past a rate limit: a posted page gives the typed topic back with "Send it again"; with
    htmx the message is in the status line and goes once the same press goes through (it
    once stayed for good)."""
    event = make.event()
    _open_marketplace(make, event)
    convener = make.participant(event, "Convener")
    with make.database.write() as session:
        fresh = session.get_one(Event, event.id)
        marketplace.propose_topic(session, fresh, convener, TopicCreate(title="Night buses"))
    context = phones()
    page = join(context, event.join_code, "Ada")
    app = served[1]
    person = next(c["value"] for c in context.cookies() if c["name"] == IDENTITY_COOKIE)

    def spent(kind: str) -> None:  # ten ideas, or sixty presses, in a minute
        for _ in range(math.ceil(LIMITS[kind][0] * app.state.settings.rate_limit_scale)):
            app.state.limiter.note(kind, "p:" + person[-40:])

    spent("sign-up")
    page.goto(f"/e/{event.join_code}/topics")
    settled(page)
    card = page.locator(".card", has_text="Night buses")
    card.get_by_role("button", name="I’m interested").click()
    status_line = page.locator("#connection")
    expect(status_line).to_be_visible()
    expect(status_line).to_contain_text("wait a minute")
    app.state.limiter = InMemory()  # the minute has passed
    card.get_by_role("button", name="I’m interested").click()
    expect(card).to_contain_text("1 interested")
    expect(status_line).to_be_hidden()
    spent("propose")
    page.get_by_label("Your topic, in a few words").fill("Rain gardens")
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("heading", level=1, name="Please slow down a little")).to_be_visible()
    expect(page.get_by_label("Your topic, in a few words")).to_have_value("Rain gardens")
    app.state.limiter = InMemory()
    page.get_by_role("button", name="Send it again").click()
    expect(page.get_by_role("heading", level=1, name="Rain gardens")).to_be_visible()


def test_on_the_topic_page_a_tap_shows_its_answer_at_once(phones: Phones, make: Factory) -> None:
    """With htmx, on a topic's own page: sign up, and the page says so at once, with "Leave"
    in place of "Sign up" (the live part around the button once kept the answer out, as if
    it were a live refresh arriving while the person was inside)."""
    event = make.event()
    slot = make.slot(event, time(10, 45), time(11, 45))
    topic = placed_topic(make, event, slot, make.space(event, "Hall", 30), "Walking buses")
    page = join(phones(), event.join_code, "Ada")
    page.goto(f"/e/{event.join_code}/topics/{topic.id}")
    settled(page)
    status = page.locator("#topic-status")
    status.get_by_role("button", name="Sign up").click()
    expect(status).to_contain_text("1 of 30 seats taken")
    expect(status.get_by_role("button", name="Leave")).to_be_visible()
    settled(page)
    status.get_by_role("button", name="Leave").click()
    expect(status).to_contain_text("0 of 30 seats taken")
    expect(status.get_by_role("button", name="Sign up")).to_be_visible()


def test_a_convener_holds_a_seat_and_moving_her_full_session_is_the_facilitators(
    phones: Phones, make: Factory, screenshots: Path, browser: Browser, live_server: str
) -> None:
    """Her page counts her in her session and says she convenes it; once others signed up,
    it no longer offers her to move it, and the people it moves are told on their phones."""
    event = make.event(name="Warm homes, warm streets")
    make.slot(event, time(10, 45), time(11, 45))
    afternoon = make.slot(event, time(14, 0), time(15, 0))
    make.space(event, "Hall", 12)
    corner = make.space(event, "Café corner", 2)
    _open_marketplace(make, event)
    code = event.join_code
    maria = join(phones(), code, "Maria Kowalska")
    _propose(maria, code, BOOTH_TOPIC)
    _put_on_wall(maria, "10:45 · Hall")
    status = maria.locator("#topic-status")
    expect(status).to_contain_text("1 of 12 seats taken")
    expect(status.get_by_role("button", name="Sign up")).to_have_count(0)
    guests = [join(phones(), code, name) for name in ("Aisha Khan", "Tomasz Nowak")]
    for guest in guests:
        guest.goto(f"/e/{code}/wall")
        card = guest.locator(".session", has_text=BOOTH_TOPIC)
        card.get_by_role("button", name="Sign up").click()
        expect(card).to_contain_text("You have a seat here")
    maria.reload()
    expect(status).to_contain_text("3 of 12 seats taken")
    place = maria.locator("#place")
    expect(place).to_contain_text("only a facilitator can move it now")
    expect(place.get_by_role("button", name="Put it there")).to_have_count(0)
    settled(maria)
    maria.screenshot(path=str(screenshots / "convener-phone-own-session.png"), full_page=True)
    width = maria.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the topic page scrolls sideways on a phone ({width}px)"

    # The facilitator moves it to the 2-seat corner in the afternoon, from the wall's Move
    # list on a laptop: she sees first who keeps a seat and who waits, then confirms.
    facilitator = make.organiser()
    with make.database.write() as session:
        fresh = session.get_one(Event, event.id)
        event_service.add_team_member(session, fresh, facilitator.email, "", Role.facilitator)
        topic_id = session.exec(select(Topic.id).where(Topic.title == BOOTH_TOPIC)).one()
    laptop = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    desk = laptop.new_page()
    log_in(desk, facilitator.email)
    desk.goto(f"/facilitate/{event.id}/wall")
    desk.locator(f"#topic-{topic_id}").get_by_role("link", name="Move…").click()
    desk.locator(f"#move-{topic_id}").select_option(f"{afternoon.id}:{corner.id}")
    desk.get_by_role("button", name="Move").click()
    heading = desk.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"Move “{BOOTH_TOPIC}” to 14:00, Café corner?")
    preview = desk.locator("main")
    expect(preview).to_contain_text("2 keep a seat:")
    expect(preview).to_contain_text("1 goes to the front of its waitlist")
    expect(preview).to_contain_text("Tomasz Nowak")
    start_axe(desk)
    assert axe_findings(desk, "the facilitator's move preview") == []
    desk.screenshot(path=str(screenshots / "facilitator-laptop-move-preview.png"), full_page=True)
    desk.get_by_role("button", name="Move it").click()
    expect(desk.locator("main")).to_contain_text(
        "Everyone whose seat changed is told on their phone."
    )
    laptop.close()
    last = guests[1]
    last.goto(f"/e/{code}")
    news = last.locator("#seat-news")
    expect(news).to_contain_text(f"Your session {BOOTH_TOPIC} moved to 14:00, Café corner")
    expect(news).to_contain_text("you are now on its waitlist")
    settled(last)
    last.screenshot(path=str(screenshots / "participant-phone-session-moved.png"), full_page=True)
    news.get_by_role("button", name="Got it").click()
    expect(news).not_to_contain_text("moved to")
