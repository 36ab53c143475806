"""A form whose CSRF token is refused never loses what was typed, and a phone keeps its
token for the day even when the browser is closed."""

import re
from datetime import date, time

from fastapi.testclient import TestClient

from app.models import Contribution
from tests.conftest import csrf_token, post_form, text_of
from tests.factories import Factory, count, placed_topic

WORDS = "Open the library on Sundays — Zażółć gęślą jaźń, <b>not bold</b>"


def _report(client: TestClient, make: Factory) -> str:
    event = make.event(starts_on=date(2027, 8, 31))
    slot = make.slot(event, time(10, 45), time(11, 45))
    topic = placed_topic(make, event, slot, make.space(event, "Garden room", 30))
    joined = post_form(client, f"/e/{event.join_code}/join", {"display_name": "Amira"})
    assert joined.status_code == 303  # type: ignore[attr-defined]
    return f"/e/{event.join_code}/reports/{topic.id}"


def test_csrf_cookie_lasts_past_the_browser_session(client: TestClient) -> None:
    cookie = client.get("/").headers["set-cookie"]
    assert "openspace_csrf=" in cookie
    max_age = re.search(r"Max-Age=(\d+)", cookie, re.I)
    assert max_age is not None and int(max_age[1]) >= 86400


def test_expired_token_gives_the_text_back_with_a_fresh_token(
    client: TestClient, make: Factory
) -> None:
    url = _report(client, make)
    stale = "s" * 43  # the token of a page opened before the cookie was renewed
    refused = client.post(
        f"{url}/contributions",
        data={"kind": "key_point", "body": WORDS, "write_key": "k1", "csrf_token": stale},
    )
    assert refused.status_code == 403
    page = refused.text
    assert "Please send it again" in text_of(page) and "nothing was saved" in text_of(page)
    assert "This page is not for you" not in page
    # The words come back in a field the person can edit, not as HTML.
    area = re.search(r"<textarea[^>]*name=\"body\"[^>]*>(.*?)</textarea>", page, re.S)
    assert area is not None and area[1] == WORDS.replace("<", "&lt;").replace(">", "&gt;")
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert fresh is not None and fresh[1] == csrf_token(client) != stale
    assert f'action="{url}/contributions"' in page
    assert count(make.database, Contribution) == 0
    # "Send it again" posts the same fields with the fresh token.
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert fields["kind"] == "key_point" and fields["write_key"] == "k1"
    again = client.post(f"{url}/contributions", data={**fields, "body": WORDS})
    assert again.status_code == 303
    assert WORDS in text_of(client.get(url).text)


def test_expired_token_with_no_cookie_at_all_gives_the_text_back(
    client: TestClient, make: Factory
) -> None:
    url = _report(client, make)
    token = csrf_token(client)
    client.cookies.delete("openspace_csrf")  # the browser dropped it
    refused = client.post(
        f"{url}/contributions", data={"kind": "note", "body": WORDS, "csrf_token": token}
    )
    assert refused.status_code == 403 and "Please send it again" in refused.text
    assert "openspace_csrf=" in refused.headers["set-cookie"]
    assert "Zażółć gęślą jaźń" in refused.text


def test_expired_token_with_htmx_keeps_the_form_and_sends_the_fresh_token(
    client: TestClient, make: Factory
) -> None:
    url = _report(client, make)
    refused = client.post(
        f"{url}/contributions",
        data={"kind": "note", "body": WORDS},
        headers={"HX-Request": "true", "X-CSRF-Token": "s" * 43},
    )
    assert refused.status_code == 422
    assert refused.headers["HX-Retarget"] == "#connection"
    assert "send it again" in refused.text
    assert f'"openspace:csrf-token": "{csrf_token(client)}"' in refused.headers["HX-Trigger"]


def test_expired_token_from_another_site_is_refused_plainly(
    client: TestClient, make: Factory
) -> None:
    url = _report(client, make)
    forged = client.post(
        f"{url}/contributions",
        data={"kind": "note", "body": "Forged words"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403
    assert "Forged words" not in forged.text and "Send it again" not in forged.text
