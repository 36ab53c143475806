"""Printed pages: the agenda poster and a sign per room, whose QR code leads to what happens
in that room, through joining when needed."""

from datetime import time

from fastapi.testclient import TestClient

from app.models import SlotKind
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, placed_topic


def test_the_agenda_poster_and_room_signs_show_the_wall_and_lead_to_each_room(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    event = make.event(organiser, name="Poster day")
    make.slot(event, time(9), time(9, 30), SlotKind.plenary)
    morning = make.slot(event, time(10), time(11))
    hall, garden = make.space(event, "Hall", 40), make.space(event, "Garden", 12)
    placed_topic(make, event, morning, hall, "Buses at night")
    placed_topic(make, event, morning, garden, "Ogród społeczny")
    log_in(client, organiser.email)
    poster = client.get(f"/events/{event.id}/print/agenda")
    assert poster.status_code == 200
    text = text_of(poster.text)
    assert "Buses at night" in text and "Ogród społeczny" in text and "Plenary" in text
    assert "Convener of Buses at night" in text
    assert f"/j/{event.join_code}" in text and '<svg role="img"' in poster.text
    signs = client.get(f"/events/{event.id}/print/rooms")
    assert signs.status_code == 200 and signs.text.count('class="room-sign"') == 2
    assert "QR code of what happens in Garden" in signs.text
    link = text_of(signs.text).split("or open ")[2].split()[0]  # the second sign: Garden
    assert link.endswith("/spaces/" + link.rsplit("/", 1)[1])
    path = link.split("://", 1)[1].split("/", 1)[1]

    visitor = TestClient(client.app, follow_redirects=False)
    first = visitor.get("/" + path)
    assert first.status_code == 303 and "/join?next=" in first.headers["location"]
    form = visitor.get(first.headers["location"])
    assert f'name="next" value="/{path}"' in form.text
    joined = post_form(
        visitor, f"/e/{event.join_code}/join", {"display_name": "Scanner", "next": "/" + path}
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/" + path  # type: ignore[attr-defined]
    room = text_of(visitor.get("/" + path).text)
    assert "Garden" in room and "Ogród społeczny" in room and "Buses at night" not in room
    elsewhere = post_form(
        visitor, f"/e/{event.join_code}/join", {"display_name": "X", "next": "https://evil.example"}
    )
    assert elsewhere.headers["location"] == f"/e/{event.join_code}"  # type: ignore[attr-defined]
