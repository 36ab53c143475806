"""Rate limits: a clear answer when hit, per person first, and never a 500."""

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.models import Event
from app.services import marketplace
from app.web.kit.limits import LIMITS, WRONG_CODES
from tests.conftest import post_form, text_of
from tests.factories import Factory


def _open_with_limits(settings: Settings, make: Factory) -> tuple[Event, FastAPI]:
    """An event with its marketplace open, and the app with the limits as they are shipped."""
    event = make.event()
    with make.database.write() as session:
        marketplace.open_marketplace(session, event, True)
    return event, create_app(settings.model_copy(update={"rate_limit_scale": 1.0}))


def test_one_person_proposing_too_fast_is_paused_and_others_are_not(
    settings: Settings, make: Factory
) -> None:
    event, app = _open_with_limits(settings, make)
    flooder, neighbour = TestClient(app), TestClient(app)
    for browser, name in ((flooder, "Flooder"), (neighbour, "Neighbour")):
        post_form(browser, f"/e/{event.join_code}/join", {"display_name": name})
    per_person = LIMITS["propose"][0]
    answers = [
        post_form(flooder, f"/e/{event.join_code}/topics", {"title": f"Idea {n}"})
        for n in range(per_person + 2)
    ]
    statuses = [a.status_code for a in answers]  # type: ignore[attr-defined]
    assert 429 not in statuses[:per_person] and statuses[-1] == 429
    paused = answers[-1]
    assert int(paused.headers["retry-after"]) >= 1  # type: ignore[attr-defined]
    assert "wait a minute" in text_of(paused.text)  # type: ignore[attr-defined]
    # The idea typed is given back, ready to send again.
    assert f">Idea {per_person + 1}</textarea>" in paused.text  # type: ignore[attr-defined]
    assert "Send it again" in paused.text  # type: ignore[attr-defined]
    # htmx gets the message for the page's status line, and the form stays as it is.
    fragment = flooder.post(
        f"/e/{event.join_code}/topics",
        data={"title": "One more", "csrf_token": flooder.cookies["openspace_csrf"]},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 429 and fragment.headers["hx-retarget"] == "#connection"
    assert "<html" not in fragment.text
    # Someone else at the same address carries on.
    ok = post_form(neighbour, f"/e/{event.join_code}/topics", {"title": "My own idea"})
    assert ok.status_code in (200, 303)  # type: ignore[attr-defined]
    assert not re.search(r"wait a minute", text_of(ok.text))  # type: ignore[attr-defined]


def test_guessing_join_codes_is_paused_and_then_tells_nothing(
    settings: Settings, make: Factory
) -> None:
    event = make.event()
    assert len(event.join_code) == 8
    app = create_app(settings.model_copy(update={"rate_limit_scale": 1.0}))
    # Two phones on one IPv6 network count as one address; a room elsewhere does not.
    guesser = TestClient(app, client=("2001:db8:1:2::17", 50000))
    same_network = TestClient(app, client=("2001:db8:1:2:abcd::9", 50000))
    elsewhere = TestClient(app, client=("2001:db8:1:3::17", 50000))
    wrong = [guesser.get(f"/join?code=QQQQ{n:04d}") for n in range(WRONG_CODES)]
    assert {page.status_code for page in wrong} == {404}
    assert "could not find an event" in text_of(wrong[0].text)
    # Past the limit, the right code gets the same pause as a wrong one: nothing to learn.
    for browser in (guesser, same_network):
        for url in (f"/join?code={event.join_code}", f"/e/{event.join_code}/join"):
            paused = browser.get(url, follow_redirects=False)
            assert paused.status_code == 429, url
            seconds = int(paused.headers["retry-after"])
            assert seconds >= 1
            assert f"paused for {seconds} seconds" in text_of(paused.text)
            assert "Your code may well be right" in text_of(paused.text)
    form = guesser.get(f"/join?code={event.join_code.lower()}")
    assert f'value="{event.join_code.lower()}"' in form.text  # the typed code is kept
    found = elsewhere.get(f"/join?code={event.join_code}", follow_redirects=False)
    assert found.status_code == 303
    assert found.headers["location"] == f"/e/{event.join_code}/join"


def test_a_few_typos_in_a_room_pause_no_one(settings: Settings, make: Factory) -> None:
    event = make.event()
    app = create_app(settings.model_copy(update={"rate_limit_scale": 1.0}))
    joined, typist = TestClient(app), TestClient(app)
    post_form(joined, f"/e/{event.join_code}/join", {"display_name": "Ada"})
    for n in range(WRONG_CODES - 1):
        assert typist.get(f"/join?code=XX{n}").status_code == 404
    assert joined.get(f"/e/{event.join_code}").status_code == 200
    assert typist.get(f"/join?code={event.join_code}").status_code == 200


def test_people_in_the_event_carry_on_while_their_network_is_paused(
    settings: Settings, make: Factory
) -> None:
    event = make.event()
    app = create_app(settings.model_copy(update={"rate_limit_scale": 1.0}))
    joined, typist = TestClient(app), TestClient(app)  # one venue Wi-Fi, one address
    post_form(joined, f"/e/{event.join_code}/join", {"display_name": "Ada"})
    for n in range(WRONG_CODES):
        typist.get(f"/join?code=XX{n}")
    assert typist.get(f"/e/{event.join_code}/join").status_code == 429
    assert joined.get(f"/e/{event.join_code}").status_code == 200
    assert joined.get(f"/e/{event.join_code}/topics").status_code == 200
    again = joined.get(f"/join?code={event.join_code}", follow_redirects=False)
    assert again.status_code == 303


def test_a_paused_press_with_nothing_typed_says_nothing_is_lost(
    settings: Settings, make: Factory
) -> None:
    event, app = _open_with_limits(settings, make)
    browser = TestClient(app)
    post_form(browser, f"/e/{event.join_code}/join", {"display_name": "Ada"})
    topic = post_form(browser, f"/e/{event.join_code}/topics", {"title": "Night buses"})
    interest = topic.url.path + "/interest"  # type: ignore[attr-defined]
    pressed = {"interested": "1", "next": topic.url.path}  # type: ignore[attr-defined]
    answers = [post_form(browser, interest, pressed) for _ in range(LIMITS["sign-up"][0] + 1)]
    paused = answers[-1]
    assert paused.status_code == 429  # type: ignore[attr-defined]
    text = text_of(paused.text)  # type: ignore[attr-defined]
    assert "Nothing is lost" in text and "What you sent is below" not in text
    assert "Send it again" in text
