"""In a real Chromium: what a tap says when the domain says no, by the kind of no."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from app.models import Event, Topic
from app.models.agenda import TopicCreate
from app.services import marketplace
from tests.browser.pages import PHONE, join, settled
from tests.factories import Factory

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server, **PHONE)  # type: ignore[arg-type]
    yield context
    context.close()


def test_a_tap_on_a_topic_no_longer_there_says_why_in_the_status_line(
    phone: BrowserContext, make: Factory
) -> None:
    """The facilitator took the topic off the wall while the list was open on a phone whose
    live updates did not arrive: the tap answers 404, and the status line says why (htmx
    leaves out an error's answer by itself, so the tap once said nothing)."""
    event = make.event()
    convener = make.participant(event, "Convener")
    with make.database.write() as session:
        fresh = session.get_one(Event, event.id)
        marketplace.open_marketplace(session, fresh, True)
        topic = marketplace.propose_topic(
            session, fresh, convener, TopicCreate(title="Night buses")
        )
        topic_id = topic.id
    phone.route("**/live", lambda route: route.abort())  # no live updates on this phone
    page = join(phone, event.join_code, "Ada")
    page.goto(f"/e/{event.join_code}/topics")
    settled(page)
    with make.database.write() as session:
        marketplace.set_hidden(session, session.get_one(Topic, topic_id), True)
    card = page.locator(".card", has_text="Night buses")
    with page.expect_response(lambda answer: answer.url.endswith("/interest")) as tapped:
        card.get_by_role("button", name="I’m interested").click()
    assert tapped.value.status == 404
    status_line = page.locator("#connection")
    expect(status_line).to_be_visible()
    expect(status_line).to_contain_text("taken off the wall")
    expect(card).to_be_visible()  # the rest of the page is as it was
