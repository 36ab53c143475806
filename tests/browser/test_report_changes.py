"""In a real Chromium on a 390 px phone: taking someone off a session's list asks first and
can be undone; a form whose token has expired gives the text back; the tracker's status
badges never break inside a word. With JavaScript on and off; screenshots to look at."""

import re
import time as clock
from datetime import date, time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect
from sqlmodel import select

from app.models import ActionStatus, Event, Participant, Topic
from app.models.outcomes import ActionForm
from app.services import actions, marketplace, signups
from tests.browser.pages import PHONE, join, log_in
from tests.factories import Factory, placed_topic

pytestmark = pytest.mark.browser

WORDS = "Open the library on Sundays.\nAsk the council for the heating — Zażółć gęślą jaźń"


def _day(make: Factory) -> tuple[Event, Topic]:
    organiser = make.organiser("office@example.org")
    event = make.event(organiser, starts_on=date(2027, 3, 20))
    slot = make.slot(event, time(14, 0), time(15, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Garden room", 20), "Warm spaces")
    ahmed = make.participant(event, "Ahmed Raza")
    with make.database.write() as session:
        signups.sign_up(session, event, session.get_one(Topic, topic.id), ahmed)
    return event, topic


def _phone(
    browser: Browser, live_server: str, contexts: list[BrowserContext], js: bool
) -> BrowserContext:
    context = browser.new_context(base_url=live_server, java_script_enabled=js, **PHONE)  # type: ignore[arg-type]
    contexts.append(context)
    return context


def _convener(make: Factory, event: Event, topic: Topic, name: str) -> None:
    with make.database.write() as session:
        person = session.exec(
            select(Participant).where(
                Participant.display_name == name, Participant.event_id == event.id
            )
        ).one()
        marketplace.co_convene(session, session.get_one(Topic, topic.id), person)


def _listed(page: Page) -> str:
    return page.locator("#people ul.rows").first.inner_text()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_take_off_asks_first_and_undo_puts_back(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
    js: bool,
) -> None:
    event, topic = _day(make)
    maria = join(_phone(browser, live_server, contexts, js), event.join_code, "Maria")
    _convener(make, event, topic, "Maria")
    report = f"/e/{event.join_code}/reports/{topic.id}"
    maria.goto(report)
    take_off = maria.get_by_role("button", name="Take off Ahmed Raza")
    suffix = "js" if js else "nojs"
    if js:
        asked: list[str] = []

        def no(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        maria.once("dialog", no)
        take_off.click()
        assert asked == ["Take Ahmed Raza off the list of who took part?"]
        assert "Ahmed Raza" in _listed(maria), "a 'no' changes nothing"
        maria.once("dialog", lambda dialog: dialog.accept())
        take_off.click()
    else:
        take_off.click()
        expect(maria.get_by_role("heading", level=1)).to_have_text(
            "Take Ahmed Raza off the list of who took part?"
        )
        maria.screenshot(path=str(screenshots / "phone-take-off-confirm-nojs.png"), full_page=True)
        maria.get_by_role("button", name="Take Ahmed Raza off").click()
    notice = maria.locator("#people .notice")
    expect(notice).to_contain_text(re.compile(r"Ahmed Raza taken off by Maria, \d\d:\d\d · Undo"))
    assert "Ahmed Raza" not in _listed(maria)
    maria.locator("#people").screenshot(path=str(screenshots / f"phone-take-off-undo-{suffix}.png"))
    notice.get_by_role("button", name="Undo").click()
    expect(maria.locator("#people ul.rows").first).to_contain_text("Ahmed Raza")
    expect(maria.locator("#people .changes")).to_contain_text(
        re.compile(r"Ahmed Raza added by Maria, \d\d:\d\d")
    )


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_expired_token_gives_the_text_back_to_send_again(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
    js: bool,
) -> None:
    event, topic = _day(make)
    context = _phone(browser, live_server, contexts, js)
    amira = join(context, event.join_code, "Amira")
    token = next(c for c in context.cookies() if c["name"] == "openspace_csrf")
    assert token["expires"] > clock.time() + 86400, "the token outlives a closed browser"
    report = f"/e/{event.join_code}/reports/{topic.id}"
    amira.goto(report)
    amira.get_by_label("Your words").fill(WORDS)
    # Meanwhile the browser's token changed (the page was kept from before it was renewed).
    context.add_cookies([{**token, "value": "r" * 43}])  # type: ignore[list-item]
    amira.get_by_role("button", name="Add to the report").click()
    expect(amira.get_by_role("heading", level=1)).to_have_text("Please send it again")
    kept = amira.get_by_label("What you wrote")
    expect(kept).to_have_value(WORDS)
    amira.screenshot(
        path=str(screenshots / f"phone-expired-token-{'js' if js else 'nojs'}.png"),
        full_page=True,
    )
    kept.fill(WORDS + " (sent again)")
    amira.get_by_role("button", name="Send it again").click()
    amira.wait_for_url(f"**{report}#c*")
    expect(amira.locator("#report-body")).to_contain_text("Ask the council for the heating")
    expect(amira.locator("#report-body")).to_contain_text("(sent again) — Amira")


def test_tracker_status_badges_never_break_inside_a_word(
    browser: Browser,
    live_server: str,
    make: Factory,
    contexts: list[BrowserContext],
    screenshots: Path,
) -> None:
    event, topic = _day(make)
    ahmed = make.participant(event, "Ahmed Raza the second")
    with make.database.write() as session:
        placed = session.get_one(Topic, topic.id)
        for n, status in enumerate(ActionStatus):
            form = ActionForm(
                title=f"Action {n}: map every warm space in the borough",
                owner_name="Age UK Lewisham",
                status=status,
            )
            actions.add_action(session, event, placed, ahmed, form)
    for width, name in ((390, "phone"), (1366, "laptop")):
        context = browser.new_context(
            base_url=live_server, viewport={"width": width, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        log_in(page, "office@example.org")
        page.goto(f"/organiser/events/{event.id}/actions")
        badges = page.locator(".tracker .status")
        expect(badges).to_have_count(len(ActionStatus))
        lines = badges.evaluate_all("els => els.map(e => e.getClientRects().length)")
        assert lines == [1] * len(ActionStatus), f"a badge wraps at {width} px: {lines}"
        badges.first.scroll_into_view_if_needed()
        page.locator(".tracker").locator("xpath=..").screenshot(
            path=str(screenshots / f"{name}-tracker-badges.png")
        )
