"""Participants join by code or QR with no account, and come back on another device."""

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Participant
from app.models.agenda import TopicCreate
from app.security import LinkSigner
from app.services.marketplace import propose_topic
from app.web.kit.common import absolute, qr_svg
from tests.conftest import claim, csrf_token, post_form, text_of
from tests.factories import Factory, count


def test_join_code_found_in_any_case_with_dashes(client: TestClient, make: Factory) -> None:
    event = make.event()
    typed = f" {event.join_code[:3].lower()}-{event.join_code[3:].lower()} "
    response = client.get("/join", params={"code": typed})
    assert response.status_code == 303
    assert response.headers["location"] == f"/e/{event.join_code}/join"


def test_join_unknown_code_friendly_page_keeps_text(client: TestClient, make: Factory) -> None:
    make.event()
    response = client.get("/join", params={"code": "NOPE42"})
    assert response.status_code == 404
    page = text_of(response.text)
    assert "could not find an event with the code “NOPE42”" in page
    assert 'value="NOPE42"' in response.text
    assert "Find the event" in page


def test_join_qr_link_leads_to_the_join_form(client: TestClient, make: Factory) -> None:
    event = make.event(theme_question="What will we do differently?")
    response = client.get(f"/j/{event.join_code}", follow_redirects=True)
    assert response.status_code == 200
    assert "What will we do differently?" in response.text
    assert 'name="display_name"' in response.text


def test_join_qr_code_encodes_the_join_link(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    event = make.event()
    response = client.get(f"/e/{event.join_code}/qr.svg")
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.content == qr_svg(absolute(settings, f"/j/{event.join_code}")).body


def test_join_with_name_in_any_script_shows_the_event(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = make.event(venue="Kala Sangam, Bradford")
    response = post_form(
        client,
        f"/e/{event.join_code}/join",
        {"display_name": "  عائشہ خان 🌻 ", "organisation": "Łódź Zdrowie", "email": ""},
    )
    assert response.status_code == 303
    home = client.get(f"/e/{event.join_code}")
    assert home.status_code == 200
    page = text_of(home.text)
    assert "Hello, عائشہ خان 🌻" in page
    assert "Kala Sangam, Bradford" in page
    assert "Continue on another device" in page
    with database.read() as session:
        stored = session.exec(select(Participant)).one()
        assert stored.display_name == "عائشہ خان 🌻"
        assert stored.organisation == "Łódź Zdrowie"


def test_join_cookie_is_signed_httponly_and_samesite_lax(client: TestClient, make: Factory) -> None:
    event = make.event()
    response = post_form(client, f"/e/{event.join_code}/join", {"display_name": "Sam"})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("openspace=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    client.cookies.set("openspace", client.cookies["openspace"][:-4] + "AAAA")
    assert client.get(f"/e/{event.join_code}").headers["location"].endswith("/join")


def test_join_without_name_keeps_text_and_says_why(client: TestClient, make: Factory) -> None:
    event = make.event()
    response = post_form(
        client,
        f"/e/{event.join_code}/join",
        {"display_name": "   ", "organisation": "Carers' Resource", "email": "not-an-email"},
    )
    assert response.status_code == 422
    assert 'id="display_name-error"' in response.text
    assert "Please fill this in." in response.text
    assert "Please enter an e-mail address like name@example.org." in response.text
    assert "Carers&#39; Resource" in response.text
    assert 'value="not-an-email"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_join_name_too_long_refused(client: TestClient, make: Factory) -> None:
    event = make.event()
    response = post_form(client, f"/e/{event.join_code}/join", {"display_name": "x" * 81})
    assert response.status_code == 422
    assert "80 characters or fewer" in response.text


def test_join_tapped_twice_makes_one_participant(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = make.event()
    for _ in range(2):
        assert (
            post_form(client, f"/e/{event.join_code}/join", {"display_name": "Sam"}).status_code
            == 303
        )
    assert count(database, Participant) == 1


def test_join_taps_racing_before_the_cookie_arrives_make_one_participant(
    app: object, client: TestClient, make: Factory, database: Database
) -> None:
    event = make.event()
    form = client.get(f"/e/{event.join_code}/join").text
    join_key = form.split('name="join_key" value="')[1].split('"')[0]
    token = csrf_token(client)

    def tap(_: int) -> int:
        # Each tap is sent before any answer (and its cookie) has come back.
        with TestClient(app, follow_redirects=False) as browser:  # type: ignore[arg-type]
            browser.cookies.set("openspace_csrf", token)
            return browser.post(
                f"/e/{event.join_code}/join",
                data={"display_name": "Sam", "join_key": join_key, "csrf_token": token},
            ).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(tap, range(4))) == [303] * 4
    assert count(database, Participant) == 1


def test_continue_link_signs_in_on_another_device_until_renewed(
    app: object, client: TestClient, make: Factory, settings: Settings
) -> None:
    event = make.event()
    post_form(client, f"/e/{event.join_code}/join", {"display_name": "Priya Patel"})
    page = client.get(f"/e/{event.join_code}/device")
    assert page.status_code == 200
    signer = LinkSigner(settings.secret_key)
    link = next(
        word.split('"')[0]
        for word in page.text.split('value="')[1:]
        if word.startswith(settings.base_url)
    )
    path = link.removeprefix(settings.base_url)
    assert signer.read("device", path.rsplit("/", 1)[1]) is not None
    assert client.get(f"/e/{event.join_code}/device/qr.svg").status_code == 200

    with TestClient(app, follow_redirects=False) as laptop:  # type: ignore[arg-type]
        assert laptop.get(f"/e/{event.join_code}").status_code == 303
        assert claim(laptop, path).status_code == 303
        assert "Hello, Priya Patel" in text_of(laptop.get(f"/e/{event.join_code}").text)

        renewed = post_form(client, f"/e/{event.join_code}/device/revoke", {})
        assert renewed.status_code == 303
        # This phone stays in; the old link and the laptop it signed in are out.
        assert client.get(f"/e/{event.join_code}").status_code == 200
        assert laptop.get(f"/e/{event.join_code}").status_code == 303
        old = laptop.get(path)
        assert old.status_code == 404
        assert "This link no longer works" in old.text


def test_participant_of_one_event_is_not_in_another(client: TestClient, make: Factory) -> None:
    first, second = make.event(), make.event(name="Another day")
    post_form(client, f"/e/{first.join_code}/join", {"display_name": "Sam"})
    assert client.get(f"/e/{second.join_code}").status_code == 303
    assert csrf_token(client)


def test_participant_home_lists_topics_with_their_conveners(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = make.event()
    convener = make.participant(event, "Nadia Rahman")
    with database.write() as session:
        propose_topic(
            session,
            event,
            convener,
            TopicCreate(title="Warm spaces <after> winter"),
            at_the_desk=True,
        )
    post_form(client, f"/e/{event.join_code}/join", {"display_name": "Sam"})
    assert "1 topic proposed so far" in text_of(client.get(f"/e/{event.join_code}").text)
    page = client.get(f"/e/{event.join_code}/topics")
    assert "Warm spaces &lt;after&gt; winter" in page.text
    assert "Topics proposed (1)" in text_of(page.text)
    assert "Nadia Rahman" in page.text
