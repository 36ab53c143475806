"""The closing circle's check-out: the facilitator opens it, phones answer once (anonymous
unless the person adds their name), the projector shows the answers as they come in, and
the book of proceedings keeps them."""

import io
import re
from typing import Any

import docx
import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import html
from sqlmodel import select

from app.config import Settings
from app.main import create_app
from app.models import CheckOut, Event, Organiser, Participant
from app.models.privacy import ErasedBy, ErasureMode
from app.services import check_out, privacy
from app.web.kit.limits import LIMITS
from tests.conftest import log_in, phone, phone_in, post_form, text_of
from tests.factories import PASSWORD, Factory, outcomes_event
from tests.sse import EventStream


def _open(client: TestClient, event: Event, is_open: bool = True) -> None:
    answer = post_form(
        client, f"/facilitate/{event.id}/check-out", {"open": "1" if is_open else "0"}
    )
    assert answer.status_code == 303, answer  # type: ignore[attr-defined]


def _projector(client: TestClient, event: Event) -> str:
    """The projector's address, as the facilitator's page hands it out."""
    page = client.get(f"/facilitate/{event.id}")
    found = html.fromstring(page.text).xpath('//input[@aria-label="Projector link"]/@value')
    return str(found[0]).split("://", 1)[1].split("/", 1)[1]


def _answers(make: Factory, event: Event) -> list[CheckOut]:
    with make.database.read() as session:
        return list(
            session.exec(
                select(CheckOut).where(CheckOut.event_id == event.id).order_by(CheckOut.id)  # type: ignore[arg-type]
            )
        )


def _event(make: Factory) -> tuple[Organiser, Event]:
    organiser, event, _transport, _housing = outcomes_event(make)
    return organiser, event


def test_check_out_is_anonymous_one_per_phone_and_on_the_projector(
    app: FastAPI, client: TestClient, phones: list[TestClient], make: Factory
) -> None:
    organiser, event = _event(make)
    log_in(client, organiser.email)
    amira = phone_in(app, phones, event, "Amira Hussain")
    # Closed: the phone says so, and an answer is refused.
    assert "The check-out is not open" in text_of(amira.get(f"/e/{event.join_code}/check-out").text)
    refused = post_form(amira, f"/e/{event.join_code}/check-out", {"usefulness": "4"})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert _answers(make, event) == []
    _open(client, event)
    home = amira.get(f"/e/{event.join_code}")
    assert f'href="/e/{event.join_code}/check-out"' in home.text
    form = amira.get(f"/e/{event.join_code}/check-out")
    assert "What will you take with you?" in text_of(form.text)
    assert "<script" not in form.text.split("<main", 1)[1]
    sent = post_form(
        amira,
        f"/e/{event.join_code}/check-out",
        {"words": "Courage to ask the council", "usefulness": "4"},
    )
    assert sent.status_code == 303  # type: ignore[attr-defined]
    assert "your answer is in" in text_of(amira.get(sent.headers["location"]).text)  # type: ignore[attr-defined]
    # Anonymous: no participant id, and the marker is no id of anyone's either.
    with make.database.read() as session:
        ids = {
            str(pid)
            for pid in session.exec(select(Participant.id).where(Participant.event_id == event.id))
        }
    (kept,) = _answers(make, event)
    assert kept.participant_id is None
    assert kept.marker is not None and kept.marker not in ids and len(kept.marker) == 64
    assert kept.words == "Courage to ask the council" and kept.usefulness == 4
    assert set(CheckOut.__table__.columns.keys()) == {  # type: ignore[attr-defined]
        "id",
        "event_id",
        "words",
        "usefulness",
        "participant_id",
        "marker",
    }  # no time: an answer cannot be matched to what its author did when
    # One per phone: the second is refused and the page says why.
    again = post_form(
        amira, f"/e/{event.join_code}/check-out", {"words": "Twice", "usefulness": "5"}
    )
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "You have answered already" in text_of(again.text)  # type: ignore[attr-defined]
    assert len(_answers(make, event)) == 1
    # Another phone puts their name to theirs.
    ben = phone_in(app, phones, event, "Ben Okafor")
    named = post_form(
        ben,
        f"/e/{event.join_code}/check-out",
        {"words": "Courage and a bus pass", "usefulness": "5", "named": "1"},
    )
    assert named.status_code == 303  # type: ignore[attr-defined]
    with make.database.read() as session:
        ben_id = session.exec(
            select(Participant.id).where(Participant.display_name == "Ben Okafor")
        ).one()
    assert _answers(make, event)[1].participant_id == ben_id
    # The projector: both answers, the named one with its name, and the words said most.
    screen = client.get("/" + _projector(client, event))
    shown = text_of(screen.text)
    assert "Check-out" in shown and "2 answers" in shown and "4.5 of 5" in shown
    assert "Courage to ask the council" in shown and "Courage and a bus pass · Ben Okafor" in shown
    words = html.fromstring(screen.text).xpath('//ul[@class="word-counts"]/li')
    assert words[0].text_content().split() == ["courage", "2"]
    # Closing throws every marker away (and the key with it).
    _open(client, event, False)
    assert [a.marker for a in _answers(make, event)] == [None, None]
    with make.database.read() as session:
        assert session.get_one(Event, event.id).checkout_key is None


def test_check_out_refused_form_keeps_the_words_and_says_why_by_the_field(
    app: FastAPI, client: TestClient, phones: list[TestClient], make: Factory
) -> None:
    organiser, event = _event(make)
    log_in(client, organiser.email)
    _open(client, event)
    amira = phone_in(app, phones, event, "Amira Hussain")
    for usefulness in ("", "9", "two"):
        refused = post_form(
            amira,
            f"/e/{event.join_code}/check-out",
            {"words": "Hope", "usefulness": usefulness, "named": "1"},
        )
        assert refused.status_code == 422  # type: ignore[attr-defined]
        page = html.fromstring(refused.text)  # type: ignore[attr-defined]
        assert page.findtext(".//title").startswith("Error:")
        error = page.get_element_by_id("usefulness-error").text_content()
        assert "Please choose how useful today was, from 1 to 5." in error
        assert page.get_element_by_id("words").get("value") == "Hope"
        assert page.get_element_by_id("named").get("checked") is not None
    too_long = post_form(
        amira, f"/e/{event.join_code}/check-out", {"words": "x" * 81, "usefulness": "3"}
    )
    assert too_long.status_code == 422  # type: ignore[attr-defined]
    page = html.fromstring(too_long.text)  # type: ignore[attr-defined]
    assert "80 characters" in page.get_element_by_id("words-error").text_content()
    assert _answers(make, event) == []


def test_check_out_is_rate_limited_like_other_writes(settings: Settings, make: Factory) -> None:
    _organiser, event = _event(make)
    with TestClient(create_app(settings.model_copy(update={"rate_limit_scale": 1.0}))) as amira:
        post_form(amira, f"/e/{event.join_code}/join", {"display_name": "Amira Hussain"})
        codes = [
            post_form(amira, f"/e/{event.join_code}/check-out", {"usefulness": "3"}).status_code  # type: ignore[attr-defined]
            for _ in range(LIMITS["write"][0] + 1)
        ]
    assert codes[:-1] == [409] * LIMITS["write"][0] and codes[-1] == 429


def test_check_out_reaches_an_open_projector_as_it_comes_in(
    live_server: str, make: Factory
) -> None:
    organiser, event = _event(make)
    with make.database.write() as session:
        check_out.open_check_out(session, session.get_one(Event, event.id), True)
    team = httpx.Client(base_url=live_server)
    team.get("/login")
    team.post(
        "/login",
        data={
            "email": organiser.email,
            "password": PASSWORD,
            "csrf_token": team.cookies["openspace_csrf"],
        },
    )
    page = team.get(f"/facilitate/{event.id}")
    address = _path(page.text)
    screen = team.get(address)
    live = re.search(r'sse-connect="([^"]+)"', screen.text)
    assert live is not None
    amira = phone(live_server, event, "Amira Hussain")
    with EventStream(live_server + live.group(1).replace("&amp;", "&")) as stream:
        amira.post(
            f"/e/{event.join_code}/check-out",
            data={
                "words": "Kindness at scale",
                "usefulness": "5",
                "csrf_token": amira.cookies["openspace_csrf"],
            },
        )
        stream.next("screen", timeout=10, where=lambda m: "Kindness at scale" in m.data)


def _path(page: str) -> str:
    found = html.fromstring(page).xpath('//input[@aria-label="Projector link"]/@value')
    return "/" + str(found[0]).split("://", 1)[1].split("/", 1)[1]


def test_check_out_is_in_the_book_named_only_with_names(
    app: FastAPI, client: TestClient, phones: list[TestClient], make: Factory
) -> None:
    organiser, event = _event(make)
    log_in(client, organiser.email)
    _open(client, event)
    for name, words, named in (
        ("Amira Hussain", "Listening first", ""),
        ("Ben Okafor", "Listening to tenants", "1"),
    ):
        browser = phone_in(app, phones, event, name)
        data = {"words": words, "usefulness": "4", "named": named}
        assert post_form(browser, f"/e/{event.join_code}/check-out", data).status_code == 303  # type: ignore[attr-defined]
    book = client.get(f"/events/{event.id}/proceedings")
    assert book.status_code == 200
    tree = html.fromstring(book.text)
    section = tree.get_element_by_id("check-out").text_content()
    said = " ".join(section.split())
    assert "2 answers to “What will you take with you?”" in said
    assert "4.0 on average (1: 0, 2: 0, 3: 0, 4: 2, 5: 0)" in said
    assert "listening (2)" in said
    assert "Listening first (4/5)" in said and "Listening to tenants (4/5, Ben Okafor)" in said
    assert tree.xpath('//nav[@class="contents"]//a[@href="#check-out"]')
    without = client.get(f"/events/{event.id}/proceedings?personal=0")
    assert "Listening to tenants" in without.text and "Ben Okafor" not in without.text
    markdown = client.get(f"/events/{event.id}/export/proceedings.md").text
    assert "## Check-out" in markdown and "- Listening to tenants (4/5, Ben Okafor)" in markdown
    word = docx.Document(
        io.BytesIO(client.get(f"/events/{event.id}/export/proceedings.docx").content)
    )
    paragraphs = [(p.style.name, p.text) for p in word.paragraphs]
    start = paragraphs.index(("Heading 1", "Check-out"))
    assert paragraphs[start + 1][1].startswith("2 answers to “What will you take with you?”")
    assert ("List Bullet", "Listening to tenants (4/5, Ben Okafor)") in paragraphs[start:]


def test_erasure_deletes_or_unnames_a_named_check_out(
    app: FastAPI, client: TestClient, phones: list[TestClient], make: Factory
) -> None:
    organiser, event = _event(make)
    log_in(client, organiser.email)
    _open(client, event)
    people: dict[str, Any] = {}
    for name in ("Named Once", "Named Twice"):
        browser = phone_in(app, phones, event, name)
        data = {"words": f"{name} takes hope", "usefulness": "5", "named": "1"}
        assert post_form(browser, f"/e/{event.join_code}/check-out", data).status_code == 303  # type: ignore[attr-defined]
    with make.database.write() as session:
        for person in session.exec(select(Participant).where(Participant.event_id == event.id)):
            people[person.display_name] = person
        shown = session.get_one(Event, event.id)
        mine = privacy.my_data(session, shown, people["Named Once"])
        assert mine["check_out"] == [{"words": "Named Once takes hope", "how_useful": 5}]
        privacy.erase(session, shown, people["Named Once"], ErasureMode.name_off, ErasedBy.person)
        privacy.erase(
            session, shown, people["Named Twice"], ErasureMode.everything, ErasedBy.person
        )
    (left,) = _answers(make, event)
    assert left.participant_id is None and left.words == "Named Once takes hope"
