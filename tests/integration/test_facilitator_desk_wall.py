"""The facilitator at 500 people: the desk finds people by name, the wall shows who waits
and stays small however many places it has."""

import random
import re
from datetime import date, time

from fastapi.testclient import TestClient

from app.db import Database
from app.models import Event, Participant, SignUp, Topic
from app.models.agenda import TopicCreate
from app.models.event import SpaceCreate
from app.models.people import ParticipantJoin
from app.services import events, marketplace, participants, signups, wall
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, count, placed_topic

HTMX = {"HX-Request": "true"}


def _people(database: Database, event: Event, names: list[str]) -> dict[str, int]:
    """Everyone in `names` joins the event (in one transaction: hundreds of them)."""
    with database.write() as session:
        joined = [
            participants.join_event(session, event, ParticipantJoin(display_name=name))
            for name in names
        ]
        return {person.display_name: person.id or 0 for person in joined}


def _desk(make: Factory, client: TestClient) -> Event:
    organiser = make.organiser()
    event = make.event(organiser, starts_on=date(2027, 5, 4))
    log_in(client, organiser.email)
    return event


def _found(html: str) -> list[str]:
    """The names the desk's search lists, in order."""
    listed = html.split('id="desk-found"', 1)[-1]
    return [text_of(name) for name in re.findall(r"<li><a [^>]*><bdi>(.*?)</bdi>", listed)]


def test_desk_search_finds_by_part_of_a_name_in_any_case_accent_and_script(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _desk(make, client)
    _people(
        database,
        event,
        ["Zoë Ødegaard", "ZOE BROWN", "Łukasz Żółć", "عائشہ خان", "ΣΟΦΊΑ Παππά", "Joy Thompson"],
    )
    desk = f"/facilitate/{event.id}/desk"
    for typed, names in (
        ("zoe", ["ZOE BROWN", "Zoë Ødegaard"]),
        ("ODEGA", ["Zoë Ødegaard"]),
        ("lukasz zol", ["Łukasz Żółć"]),  # every word, in any order of the name's parts
        ("zółć", ["Łukasz Żółć"]),
        ("خان", ["عائشہ خان"]),
        ("σοφια", ["ΣΟΦΊΑ Παππά"]),
        ("  hom  ", ["Joy Thompson"]),
        ("nobody", []),
    ):
        page = client.get(desk, params={"q": typed})
        assert page.status_code == 200
        assert _found(page.text) == names, typed
    said = text_of(client.get(desk, params={"q": "zoe"}).text)
    assert "2 people found." in said
    assert "Nobody’s name holds “nobody”." in text_of(client.get(desk, params={"q": "nobody"}).text)


def test_desk_search_lists_matches_in_natural_order(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _desk(make, client)
    names = [f"Guest {n}" for n in range(1, 13)] + ["guest 2a", "Guest 02b"]
    random.Random(32).shuffle(names)
    _people(database, event, names)
    page = client.get(f"/facilitate/{event.id}/desk", params={"q": "GUEST"})
    assert _found(page.text) == [
        "Guest 1",
        "Guest 2",
        "guest 2a",
        "Guest 02b",
        *(f"Guest {n}" for n in range(3, 13)),
    ]


def test_desk_search_without_javascript_reloads_the_desk_to_choose_the_person(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _desk(make, client)
    slot = make.slot(event, time(10), time(11))
    hall = make.space(event, "Hall", 20)
    topic = placed_topic(make, event, slot, hall, "Warm spaces")
    ids = _people(database, event, ["Amira Hussain", "Amir Khan", "Tendai Moyo"])
    page = client.get(f"/facilitate/{event.id}/desk?q=amir")
    assert "<h1>The desk</h1>" in page.text  # the whole page, the search field filled in
    assert 'name="q" type="search" value="amir"' in page.text
    assert _found(page.text) == ["Amir Khan", "Amira Hussain"]
    # Each person found is a link that reloads the desk with them chosen.
    link = re.search(r'href="([^"]*person=(\d+)[^"]*)"><bdi>Amira Hussain', page.text)
    assert link is not None and int(link.group(2)) == ids["Amira Hussain"]
    chosen = client.get(link.group(1).replace("&amp;", "&"))
    said = text_of(chosen.text)
    assert "Helping Amira Hussain" in said and "For Amira Hussain" in said
    assert "Name of someone new" not in said  # the forms are for her
    assert chosen.text.count(f'name="participant" value="{ids["Amira Hussain"]}"') == 3
    signed = post_form(
        client,
        f"/facilitate/{event.id}/desk/sign-up",
        {"participant": str(ids["Amira Hussain"]), "topic": str(topic.id)},
        follow_redirects=True,
    )
    assert "Amira Hussain has a seat in “Warm spaces”." in text_of(signed.text)
    assert count(database, SignUp) == 1
    # No person chosen: the forms ask for someone new's name, and point to the search.
    plain = text_of(client.get(f"/facilitate/{event.id}/desk").text)
    assert "Name of someone new" in plain and "Helping" not in plain


def test_desk_search_answers_htmx_with_only_the_matches_and_their_count(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _desk(make, client)
    _people(database, event, [f"Guest {n}" for n in range(1, 41)] + ["Bea Guest"])
    desk = f"/facilitate/{event.id}/desk"
    part = client.get(desk, params={"q": "guest 3"}, headers=HTMX)
    assert part.status_code == 200 and "<html" not in part.text and "<form" not in part.text
    # Any part of the name ("3" is in 13 and 23 too); names with a word that starts so first.
    assert _found(part.text) == [
        "Guest 3",
        *(f"Guest {n}" for n in range(30, 40)),
        "Guest 13",
        "Guest 23",
    ]
    # The count goes into the status line that screen readers announce, not into the list.
    assert '<p id="desk-found-count" hx-swap-oob="innerHTML">13 people found.</p>' in part.text
    assert "HX-Request" in part.headers["vary"]
    many = client.get(desk, params={"q": "guest"}, headers=HTMX)
    assert len(_found(many.text)) == 25
    assert "41 people found; the first 25 are listed: type more of the name." in many.text
    emptied = client.get(desk, params={"q": ""}, headers=HTMX)
    assert _found(emptied.text) == [] and 'hx-swap-oob="innerHTML"></p>' in emptied.text
    full = client.get(desk)  # the page itself names the fragment's source and live region
    assert f'hx-get="/facilitate/{event.id}/desk"' in full.text
    assert 'hx-trigger="input changed delay:200ms, search"' in full.text
    assert '<p id="desk-found-count" class="muted" role="status">' in full.text


def test_desk_refuses_a_name_already_there_and_lists_who_has_it(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _desk(make, client)
    _people(database, event, ["Grace Achieng", "Grace Ann"])
    refused = post_form(
        client,
        f"/facilitate/{event.id}/desk/topic",
        {"new_name": "grace achieng", "title": "Paper-first"},
    )
    assert refused.status_code == 422
    assert "Someone called “grace achieng” is already in the list" in text_of(refused.text)
    assert _found(refused.text) == ["Grace Achieng"]


def test_desk_sessions_are_grouped_by_slot_with_day_time_room_and_seats_left(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _desk(make, client)
    morning = make.slot(event, time(10), time(11))
    afternoon = make.slot(event, time(14), time(15, 30))
    booth, hall = make.space(event, "Booth", 1), make.space(event, "Hall", 20)
    small = placed_topic(make, event, morning, booth, "Small talk")
    placed_topic(make, event, morning, hall, "Warm spaces")
    placed_topic(make, event, afternoon, hall, "Bus passes")
    ids = _people(database, event, ["Seated", "Waiting"])
    with database.write() as session:
        topic = session.get_one(Topic, small.id)
        signups.sign_up(session, event, topic, session.get_one(Participant, ids["Seated"]))
        signups.join_waitlist(session, event, topic, session.get_one(Participant, ids["Waiting"]))
    page = client.get(f"/facilitate/{event.id}/desk").text
    select = page.split('id="signup-topic"', 1)[1].split("</select>", 1)[0]
    groups = re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S)
    assert [label for label, _options in groups] == [
        "Tue 4 May, 10:00–11:00",
        "Tue 4 May, 14:00–15:30",
    ]
    options = [re.findall(r"<option [^>]*>(.*?)</option>", body) for _label, body in groups]
    assert options == [
        [
            "Small talk · 10:00–11:00, Booth · full, 1 waiting",
            "Warm spaces · 10:00–11:00, Hall · 20 seats left",
        ],
        ["Bus passes · 14:00–15:30, Hall · 20 seats left"],
    ]


def test_facilitator_wall_shows_who_waits_for_a_full_session(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _desk(make, client)
    slot = make.slot(event, time(10), time(11))
    booth = make.space(event, "Booth", 1)
    topic = placed_topic(make, event, slot, booth, "Small talk")
    ids = _people(database, event, ["Seated", "Ahmed Raza", "Zoë Brown"])
    with database.write() as session:
        placed = session.get_one(Topic, topic.id)
        signups.sign_up(session, event, placed, session.get_one(Participant, ids["Seated"]))
        for name in ("Ahmed Raza", "Zoë Brown"):
            signups.join_waitlist(session, event, placed, session.get_one(Participant, ids[name]))
    page = client.get(f"/facilitate/{event.id}/wall").text
    card = page.split(f'id="topic-{topic.id}"', 1)[1].split('<div class="wall-card', 1)[0]
    said = text_of(card)
    assert "1/1 seats" in said
    assert "⚠ Full: 2 people wait for a seat." in said
    waiting = re.search(r"<details[^>]*>(.*?)</details>", card, re.S)
    assert waiting is not None
    assert text_of(waiting.group(1)) == "2 wait for a seat in “Small talk” Ahmed Raza Zoë Brown"


def test_facilitator_wall_does_not_repeat_the_place_list_per_card(
    client: TestClient, make: Factory, database: Database
) -> None:
    """Every card carried a list of every place: 300 cards × 320 places at 40 × 8. Now each
    card links to its own move page, and the wall's size grows with the cards alone."""
    event = _desk(make, client)
    slots = [make.slot(event, time(9 + n), time(9 + n, 50)) for n in range(8)]
    with database.write() as session:
        spaces = [
            events.add_space(session, event, SpaceCreate(name=f"Room {n}", capacity=20))
            for n in range(40)
        ]
        convener = participants.join_event(session, event, ParticipantJoin(display_name="Con"))
        topics = []
        for n in range(60):
            topic = marketplace.propose_topic(
                session, event, convener, TopicCreate(title=f"Topic {n}"), at_the_desk=True
            )
            signups.convener_elsewhere(session, topic, convener.id or 0, True)
            wall.move_by_facilitator(session, event, topic, slots[n % 8].id, spaces[n // 8].id)
            topics.append(topic.id)
    page = client.get(f"/facilitate/{event.id}/wall")
    assert page.status_code == 200
    assert page.text.count("<option") == 0
    assert page.text.count('class="move-link"') == 60
    # 320 places and 60 cards: a few hundred bytes a place and a card, not 320 options a card.
    assert len(page.content) < 320 * 400 + 60 * 1500
    moving = client.get(f"/facilitate/{event.id}/topics/{topics[0]}/move")
    assert moving.status_code == 200
    assert moving.text.count("<option") == 1 + 8 * 40  # off the wall, and every place
    assert "swap with “Topic 1”" in moving.text
    assert f'action="/facilitate/{event.id}/topics/{topics[0]}/move"' in moving.text
