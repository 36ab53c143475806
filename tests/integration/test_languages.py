"""Languages, little data and no phone: what a person notices of issue 7 without a browser."""

import gzip
import re
from datetime import date, time

from fastapi.testclient import TestClient

from app.models import Event
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, placed_topic

URDU = {"Accept-Language": "ur-PK,ur;q=0.9,en;q=0.5"}


def _html_tag(html: str) -> str:
    found = re.search(r"<html[^>]*>", html)
    assert found is not None
    return found.group()


def test_browser_language_is_the_default_and_urdu_reads_right_to_left(
    client: TestClient, make: Factory
) -> None:
    event = make.event()
    english = client.get(f"/e/{event.join_code}/join")
    assert 'lang="en" dir="ltr"' in _html_tag(english.text)
    urdu = client.get(f"/e/{event.join_code}/join", headers=URDU)
    assert 'lang="ur" dir="rtl"' in _html_tag(urdu.text)
    assert urdu.headers["content-language"] == "ur"
    # The interface is in Urdu; what the organiser typed stays as typed.
    assert "Your name" not in text_of(urdu.text) and "Your name" in text_of(english.text)
    assert event.name in urdu.text


def test_switcher_on_every_page_remembers_the_choice(client: TestClient, make: Factory) -> None:
    event = make.event()
    page = client.get(f"/e/{event.join_code}/join")
    switcher = re.search(r'<form class="languages".*?</form>', page.text, re.S)
    assert (
        switcher is not None and 'value="pl"' in switcher.group() and "Polski" in switcher.group()
    )
    chosen = post_form(
        client, "/language", {"language": "pl", "next": f"/e/{event.join_code}/join"}
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == f"/e/{event.join_code}/join"
    polish = client.get(f"/e/{event.join_code}/join")
    assert 'lang="pl"' in _html_tag(polish.text)
    # Even a browser that asks for Urdu keeps the language the person chose.
    assert 'lang="pl"' in _html_tag(client.get("/", headers=URDU).text)
    # A page elsewhere is not a place to be sent back to.
    away = post_form(client, "/language", {"language": "en", "next": "https://evil.example/"})
    assert away.headers["location"] == "/"


def test_event_offers_only_the_languages_its_organiser_chose(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    event = make.event(organiser, starts_on=date(2026, 11, 7))
    log_in(client, organiser.email)
    form = {
        "name": event.name,
        "starts_on": "2026-11-07",
        "timezone": "Europe/Warsaw",
        "theme_question": "Kto jest nieobecny?",
    }
    refused = post_form(client, f"/organiser/events/{event.id}", form)
    assert refused.status_code == 422
    assert "Please choose at least one language." in text_of(refused.text)
    assert 'value="Kto jest nieobecny?"' in refused.text  # what was typed is kept
    saved = post_form(
        client,
        f"/organiser/events/{event.id}",
        {**form, "languages": ["pl", "en"]},
    )
    assert saved.status_code == 200 and "Saved." in text_of(saved.text)
    phone = TestClient(client.app)
    # An Urdu phone gets the next language it accepts that the event offers, and no Urdu button.
    page = phone.get(f"/e/{event.join_code}/join", headers={"Accept-Language": "ur, pl;q=0.5"})
    assert 'lang="pl"' in _html_tag(page.text)
    assert 'value="ur"' not in page.text and 'value="en"' in page.text
    # Dates are written the Polish way once the person has joined.
    post_form(phone, f"/e/{event.join_code}/join", {"display_name": "Zofia"})
    home = phone.get(f"/e/{event.join_code}", headers={"Accept-Language": "pl"})
    assert "sobota 7 listopada 2026" in text_of(home.text)


def test_pages_travel_compressed_and_static_files_are_cached_for_a_year(
    client: TestClient, make: Factory
) -> None:
    event = make.event()
    page = client.get(f"/e/{event.join_code}/join", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert any("htmx" in a for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert re.search(r"\.[0-9a-f]{10}\.\w+$", asset), f"{asset} is not named by its content"
        response = client.get(asset, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["cache-control"]
    # A name with an old hash still works after a release, but is not kept for long.
    stale = re.sub(r"\.[0-9a-f]{10}\.", ".0123456789.", assets[0])
    answer = client.get(stale)
    assert answer.status_code == 200 and "31536000" not in answer.headers["cache-control"]
    assert gzip.decompress(gzip.compress(b"x")) == b"x"


def test_service_worker_keeps_the_event_pages_for_offline(client: TestClient) -> None:
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    for path in re.findall(r'"(/static/[^"]+)"', worker.text):
        assert client.get(path).status_code == 200
    offline = client.get("/offline", headers=URDU)
    assert offline.status_code == 200 and 'dir="rtl"' in offline.text


def test_desk_prints_the_agenda_of_someone_without_a_phone(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    event: Event = make.event(organiser)
    space = make.space(event, "Garden room", 10)
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, space, "Bus passes for carers")
    log_in(client, organiser.email)
    joined = post_form(
        client,
        f"/facilitate/{event.id}/desk/sign-up",
        {"participant": "", "new_name": "Mrs Begum", "topic": str(topic.id)},
    )
    assert joined.status_code == 303
    desk = client.get(joined.headers["location"])  # the desk, ready to print their agenda
    form = re.search(
        r'<form method="get" action="(/events/\d+/print/person)".*?</form>', desk.text, re.S
    )
    assert form is not None, "the desk offers to print a person's agenda"
    begum = re.search(r'name="participant" value="(\d+)"', form.group())
    assert "Mrs Begum" in text_of(form.group())
    assert begum is not None
    link = f"{form.group(1)}?participant={begum.group(1)}"
    printed = client.get(link)
    text = text_of(printed.text)
    assert "Mrs Begum" in text and "Bus passes for carers" in text and "Garden room" in text
    assert "10:00" in text and "<svg" in printed.text  # the QR code to carry on on a phone
    # Only the event's team may print it.
    assert TestClient(client.app, follow_redirects=False).get(link).status_code in (
        303,
        401,
        403,
    )


def test_the_live_refresh_of_the_topic_list_is_the_list_alone(
    client: TestClient, make: Factory
) -> None:
    event = make.event()
    post_form(client, f"/e/{event.join_code}/join", {"display_name": "Zofia"})
    page = client.get(f"/e/{event.join_code}/topics")
    part = client.get(f"/e/{event.join_code}/topics", headers={"HX-Request": "true"})
    assert "<html" in page.text and "<html" not in part.text
    assert part.text.lstrip().startswith('<section class="panel" id="topic-list"')
    # Different answers at one address: never each other's 304, nor each other's cached copy.
    assert page.headers["etag"] != part.headers["etag"]
    assert "HX-Request" in part.headers["vary"]
    again = client.get(
        f"/e/{event.join_code}/topics", headers={"If-None-Match": part.headers["etag"]}
    )
    assert again.status_code == 200 and "<html" in again.text


def test_the_default_principles_read_in_the_readers_language(
    client: TestClient, make: Factory
) -> None:
    event = make.event()  # the organiser kept the default principles
    post_form(client, f"/e/{event.join_code}/join", {"display_name": "Zofia"})
    polish = text_of(client.get(f"/e/{event.join_code}", headers={"Accept-Language": "pl"}).text)
    assert "Prawo dwóch stóp" in polish and "The law of two feet" not in polish
