"""Rate limits: a clear answer when hit, per person first, and never a 500."""

import re

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.services import marketplace
from app.web.limits import LIMITS
from tests.conftest import post_form, text_of
from tests.factories import Factory


def test_one_person_proposing_too_fast_is_paused_and_others_are_not(
    settings: Settings, make: Factory
) -> None:
    event = make.event()
    with make.database.write() as session:
        marketplace.open_marketplace(session, event, True)
    app = create_app(settings.model_copy(update={"rate_limit_scale": 1.0}))
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
