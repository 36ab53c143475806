"""In a real Chromium with JavaScript switched off, on a phone: every participant flow works
as plain forms and whole pages (join, propose, interest, sign up, switch, report, action,
pledge), and each answer is a page that says what happened."""

import re
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.models import Event
from app.services import check_out, marketplace
from tests.browser.pages import PHONE
from tests.factories import PASSWORD, Factory, placed_topic

pytestmark = pytest.mark.browser


GARDEN_TOPIC = "Warm spaces"
HALL_TOPIC = "Walking buses to school"
NAME = "Amira Hussain"


@pytest.fixture
def no_js_phone(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server, java_script_enabled=False, **PHONE)
    yield context
    context.close()


def _open_marketplace(make: Factory, event: Event) -> None:
    with make.database.write() as session:
        marketplace.open_marketplace(session, session.get_one(Event, event.id), True)


def _no_sideways_scroll(page: Page) -> None:
    # With JavaScript off `evaluate` still runs (Playwright's own world), the page's does not.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} scrolls sideways on a phone ({width}px)"


def test_every_participant_flow_with_javascript_off(
    no_js_phone: BrowserContext, live_server: str, make: Factory, screenshots: Path
) -> None:
    event = make.event(name="Paper-first day", starts_on=date(2027, 3, 20))
    slot = make.slot(event, time(10, 45), time(11, 45))
    garden = placed_topic(make, event, slot, make.space(event, "Garden", 15), GARDEN_TOPIC)
    hall = placed_topic(make, event, slot, make.space(event, "Hall", 30), HALL_TOPIC)
    _open_marketplace(make, event)
    code = event.join_code
    page = no_js_phone.new_page()
    # Nothing of the page's own scripts runs: no htmx, no app.js.
    page.goto(f"/e/{code}/join")
    assert page.evaluate("typeof window.htmx") == "undefined"

    # --- join: the empty name is refused next to the field, then it works --------------------
    page.get_by_role("button", name="Join").click()
    expect(page).to_have_url(f"{live_server}/e/{code}/join")
    name = page.get_by_label("Your name")
    expect(page.locator("#display_name-error")).to_have_text("Error: Please fill this in.")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_attribute("aria-describedby", re.compile(r"display_name-error"))
    name.fill(NAME)
    page.get_by_role("button", name="Join").click()
    expect(page).to_have_url(f"{live_server}/e/{code}")
    expect(page.get_by_text(f"Hello, {NAME}")).to_be_visible()
    expect(page.locator(".agenda-slot")).to_contain_text("No session chosen")

    # --- propose a topic ---------------------------------------------------------------------
    page.get_by_role("link", name="Propose a topic").click()
    page.get_by_label("Your topic, in a few words").fill("Lifts to the food bank")
    page.get_by_label("A sentence or two about it").fill("Saturdays, from the mosque car park")
    page.get_by_role("button", name="Propose").click()
    expect(page).to_have_url(re.compile(rf"/e/{code}/topics/\d+\?proposed=1$"))
    expect(page.get_by_role("heading", level=1, name="Lifts to the food bank")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your topic is proposed")
    expect(page.get_by_text("Saturdays, from the mosque car park")).to_be_visible()
    expect(page.locator("#topic-status")).to_contain_text("Not on the wall yet")

    # --- mark interest in someone else's topic -----------------------------------------------
    page.goto(f"/e/{code}/topics")
    expect(page.get_by_role("heading", name="Topics proposed (3)")).to_be_visible()
    card = page.locator(".card", has_text=GARDEN_TOPIC)
    expect(card).to_contain_text("0 interested")
    card.get_by_role("button", name="I’m interested").click()
    expect(page).to_have_url(f"{live_server}/e/{code}/topics#topic-{garden.id}")
    card = page.locator(".card", has_text=GARDEN_TOPIC)
    expect(card).to_contain_text("1 interested")
    expect(card.get_by_role("button", name="Interested")).to_have_attribute("aria-pressed", "true")

    # --- sign up on the wall -----------------------------------------------------------------
    page.get_by_role("navigation", name="Event").get_by_role("link", name="Wall").click()
    garden_session = page.locator(".session", has_text=GARDEN_TOPIC)
    hall_session = page.locator(".session", has_text=HALL_TOPIC)
    expect(garden_session).to_contain_text("0 of 15 seats taken")
    garden_session.get_by_role("button", name="Sign up").click()
    signed_up = f"/e/{code}/wall?done=signed_up&at=topic-{garden.id}#topic-{garden.id}"
    expect(page).to_have_url(live_server + signed_up)  # at the session, said at the top too
    expect(garden_session).to_contain_text("You have a seat here")
    expect(garden_session).to_contain_text("1 of 15 seats taken")

    # --- the law of two feet: switch to the other session of the same slot -------------------
    hall_session.get_by_role("button", name="Switch to this session").click()
    switched = f"/e/{code}/wall?done=signed_up&at=topic-{hall.id}#topic-{hall.id}"
    expect(page).to_have_url(live_server + switched)
    expect(hall_session).to_contain_text("You have a seat here")
    expect(hall_session).to_contain_text("1 of 30 seats taken")
    expect(garden_session).not_to_contain_text("You have a seat here")
    expect(garden_session).to_contain_text("0 of 15 seats taken")
    expect(garden_session.get_by_role("button", name="Switch to this session")).to_be_visible()
    _no_sideways_scroll(page)
    page.goto(f"/e/{code}")
    expect(page.locator(".agenda-slot")).to_contain_text(f"{HALL_TOPIC} · Hall")

    # --- write in the session's report: the empty note is refused first ----------------------
    page.get_by_role("link", name="Write or read the reports").click()
    expect(page.get_by_role("heading", name="My sessions")).to_be_visible()
    page.locator("section", has_text="My sessions").get_by_role("link", name=HALL_TOPIC).click()
    expect(page.get_by_role("heading", level=1, name=HALL_TOPIC)).to_be_visible()
    report_url = f"{live_server}/e/{code}/reports/{hall.id}"
    add = page.locator("#add")
    add.get_by_role("button", name="Add to the report").click()
    expect(page).to_have_url(f"{report_url}/contributions")
    expect(page.locator("#body-error")).to_have_text("Error: Please fill this in.")
    expect(add.get_by_label("Your words")).to_have_attribute("aria-invalid", "true")
    add.get_by_label("Next step").check()
    add.get_by_label("Your words").fill("Ask the council for a crossing patrol")
    add.get_by_role("button", name="Add to the report").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(report_url)}#c\d+$"))
    body = page.locator("#report-body")
    expect(body).to_contain_text(f"Ask the council for a crossing patrol — {NAME}")
    next_steps = body.locator("h3", has_text="Next step").locator("xpath=following-sibling::*[1]")
    expect(next_steps).to_contain_text("Ask the council for a crossing patrol")
    expect(page.get_by_label("Your words")).to_have_value("")

    # --- an action with an owner and a due date (the <details> opens without JavaScript) -----
    page.get_by_text("Add an action").click()
    form = page.locator("#add-action")
    form.get_by_label("What will be done").fill("Map the safe routes to Greenside school")
    form.get_by_label("Who will do it?").select_option(label="Someone else: type the name below")
    form.get_by_label("Name of the person or organisation").fill("Living Streets")
    form.get_by_label("By when").fill("2027-06-30")
    form.get_by_role("button", name="Add the action").click()
    # Back on the report, to write the next: the notice leads to the action's own page.
    expect(page).to_have_url(re.compile(rf"{re.escape(report_url)}\?added=\d+#action-\d+$"))
    added = page.get_by_role("status").filter(has_text="Added")
    expect(added).to_contain_text("Map the safe routes to Greenside school")
    added.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Map the safe routes to Greenside school"
    )
    facts = page.locator(".facts")
    expect(facts).to_contain_text("Living Streets")
    expect(facts).to_contain_text("30 June 2027")
    page.get_by_role("link", name=HALL_TOPIC).click()
    expect(page.locator("#action-list")).to_contain_text("Map the safe routes to Greenside school")
    expect(page.locator("#action-list")).to_contain_text("Living Streets")

    # --- the pledge: asking to be contacted needs an e-mail; then it is saved -----------------
    page.goto(f"/e/{code}/pledge")
    expect(page.get_by_label("Remind me on")).to_have_value("2027-09-20")
    page.get_by_label("My pledge", exact=True).fill("Walk my children to school twice a week")
    page.get_by_label("Yes, the organisers may contact me about my pledge").check()
    page.get_by_role("button", name="Make my pledge").click()
    expect(page.locator("#email-error")).to_contain_text("Give an e-mail address")
    expect(page.get_by_label("My pledge", exact=True)).to_have_value(
        "Walk my children to school twice a week"
    )
    expect(page.get_by_label("Yes, the organisers may contact me about my pledge")).to_be_checked()
    page.get_by_label("My e-mail address, for these").fill("amira@example.org")
    page.get_by_role("button", name="Make my pledge").click()
    expect(page).to_have_url(f"{live_server}/e/{code}/pledge?saved=1")
    expect(page.get_by_role("status")).to_have_text("Your pledge is saved.")
    expect(page.get_by_label("My pledge", exact=True)).to_have_value(
        "Walk my children to school twice a week"
    )
    expect(page.get_by_role("button", name="Save my pledge")).to_be_visible()
    expect(page.get_by_role("link", name="Add the reminder to my calendar")).to_be_visible()
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "participant-phone-no-js-pledge.png"), full_page=True)


# Arabic script (Urdu's), with its presentation forms.
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


def test_urdu_phone_reads_right_to_left(
    browser: Browser, live_server: str, make: Factory, screenshots: Path
) -> None:
    # The event's own words are all in Latin script, so Arabic script on the page is the
    # interface's. Labels are found by id: their words are being translated.
    event = make.event(name="Paper-first day", theme_question="Who is missing, and why?")
    make.slot(event, time(10, 45), time(11, 45))
    make.space(event, "Garden", 15)
    context = browser.new_context(
        base_url=live_server, locale="ur-PK", java_script_enabled=False, **PHONE
    )
    try:
        page = context.new_page()
        page.goto(f"/e/{event.join_code}/join")
        page.locator("#display_name").fill(NAME)
        page.locator("form[action$='/join'] button[type=submit]").click()
        expect(page).to_have_url(f"{live_server}/e/{event.join_code}")
        expect(page.locator(".participant-name")).to_have_text(NAME)

        html = page.locator("html")
        expect(html).to_have_attribute("lang", "ur")
        expect(html).to_have_attribute("dir", "rtl")
        assert page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
        # Laid out from the right: the brand starts the header on the right-hand side, and the
        # event's name starts at the right edge of its panel.
        brand = page.locator(".site-header .brand").bounding_box()
        assert brand is not None and brand["x"] > 390 / 2, f"the brand is on the left: {brand}"
        edges = page.evaluate(
            """() => {
                const h1 = document.querySelector('main h1');
                const range = document.createRange();
                range.selectNodeContents(h1);
                const text = range.getBoundingClientRect(), box = h1.getBoundingClientRect();
                return {textLeft: text.left, textRight: text.right, boxRight: box.right};
            }"""
        )
        assert edges["boxRight"] - edges["textRight"] < 2, f"the title is not at the right: {edges}"
        assert edges["textLeft"] > 390 / 3, f"the short title does not start right: {edges}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the Urdu page scrolls sideways on a phone ({width}px)"
        page.screenshot(path=str(screenshots / "participant-phone-urdu.png"), full_page=True)

        # Interface words (the headings and the event menu: no dates, names or language
        # names) come from the Urdu catalogue, in Arabic script.
        interface = page.evaluate(
            "[...document.querySelectorAll('main h2, header nav a')]"
            ".map(e => e.textContent).join(' | ')"
        )
        assert ARABIC_SCRIPT.search(interface), f"no Urdu in the interface: {interface}"
        assert "My agenda" not in interface
    finally:
        context.close()


def test_check_out_and_how_the_day_went_with_javascript_off(
    no_js_phone: BrowserContext, browser: Browser, live_server: str, make: Factory
) -> None:
    """The closing circle's question on a phone, and the organiser's figures of the day,
    as plain forms and whole pages."""
    organiser = make.organiser("no-js-day@example.org")
    event = make.event(organiser, name="Paper-first day", starts_on=date(2026, 3, 20))
    slot = make.slot(event, time(10, 45), time(11, 45))
    placed_topic(make, event, slot, make.space(event, "Garden", 15), GARDEN_TOPIC)
    with make.database.write() as session:
        check_out.open_check_out(session, session.get_one(Event, event.id), True)
    code = event.join_code
    page = no_js_phone.new_page()
    page.goto(f"/e/{code}/join")
    page.get_by_label("Your name").fill(NAME)
    page.get_by_role("button", name="Join").click()
    page.get_by_role("link", name="Check-out: what will you take with you?").click()
    expect(page).to_have_url(f"{live_server}/e/{code}/check-out")
    page.get_by_label("What will you take with you?").fill("Ask before assuming")
    page.get_by_role("button", name="Send my answer").click()  # no mark chosen: refused
    expect(page.locator("#usefulness-error")).to_contain_text("from 1 to 5")
    expect(page.get_by_label("What will you take with you?")).to_have_value("Ask before assuming")
    page.get_by_role("radio", name="4").check()
    page.get_by_role("button", name="Send my answer").click()
    expect(page).to_have_url(f"{live_server}/e/{code}/check-out?thanks=1")
    expect(page.get_by_role("status")).to_contain_text("your answer is in")
    _no_sideways_scroll(page)

    laptop = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        desk = laptop.new_page()
        desk.goto("/login")
        form = desk.locator("form[action='/login']")
        form.get_by_label("E-mail address").fill(organiser.email)
        form.get_by_label("Password").fill(PASSWORD)
        form.get_by_role("button", name="Log in").click()
        expect(desk).to_have_url(f"{live_server}/organiser")
        desk.goto(f"/organiser/events/{event.id}")
        desk.get_by_role("link", name="How the day went").click()
        expect(desk.get_by_role("heading", level=1)).to_have_text("How the day went")
        rooms = desk.locator('section[aria-labelledby="fig-rooms"]')
        expect(rooms.locator("svg[role=img]")).to_be_visible()
        expect(rooms.locator("table")).to_contain_text(GARDEN_TOPIC)
    finally:
        laptop.close()
