"""Moving a session with people in it, over HTTP: who may, what they see first, who is told;
and a convener's seat in her own session."""

from datetime import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.db import Database
from app.models import Event, Participant, Role, SignUp, Slot, Space, Topic, WaitlistEntry
from app.models.agenda import TopicCreate
from app.services import events as event_service
from app.services import marketplace, signups, wall
from tests.conftest import csrf_token, log_in, phone_in, post_form, text_of
from tests.factories import Factory


class Day:
    """An event with a morning and an afternoon slot, a hall and a 2-seat booth."""

    def __init__(self, make: Factory) -> None:
        self.make = make
        self.event = make.event()
        self.morning = make.slot(self.event, time(10, 0), time(11, 0))
        self.afternoon = make.slot(self.event, time(14, 0), time(15, 0))
        self.hall = make.space(self.event, "Hall", 20)
        self.booth = make.space(self.event, "Café corner", 2)


@pytest.fixture
def day(make: Factory) -> Day:
    return Day(make)


def _id(database: Database, name: str) -> int:
    with database.read() as session:
        found = session.exec(select(Participant.id).where(Participant.display_name == name))
        return found.one() or 0


def _seated(database: Database, topic_id: int) -> list[int]:
    with database.read() as session:
        return list(
            session.exec(
                select(SignUp.participant_id)
                .where(SignUp.topic_id == topic_id)
                .order_by(col(SignUp.id))
            )
        )


def _waiting(database: Database, topic_id: int) -> list[int]:
    with database.read() as session:
        return list(
            session.exec(
                select(WaitlistEntry.participant_id)
                .where(WaitlistEntry.topic_id == topic_id)
                .order_by(col(WaitlistEntry.id))
            )
        )


def _convener_topic(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database, title: str
) -> tuple[TestClient, int]:
    """A convener's phone, with her topic put on the wall (morning, hall) by herself."""
    convener = phone_in(app, phones, day.event, "Maria Convener")
    with database.write() as session:
        marketplace.open_marketplace(session, session.get_one(Event, day.event.id), True)
    proposed = post_form(convener, f"/e/{day.event.join_code}/topics", {"title": title})
    topic_id = int(proposed.headers["location"].split("/topics/")[1].split("?")[0])
    placed = post_form(
        convener,
        f"/e/{day.event.join_code}/topics/{topic_id}/place",
        {"cell": f"{day.morning.id}:{day.hall.id}"},
    )
    assert placed.status_code == 303
    return convener, topic_id


def _sign_up(browser: TestClient, event: Event, topic_id: int) -> None:
    signed = post_form(browser, f"/e/{event.join_code}/topics/{topic_id}/sign-up", {})
    assert signed.status_code == 303


def test_convener_move_with_sign_ups_is_refused_and_left_to_the_facilitator(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    """The issue's walk: "Move it on the wall" took 13 people into a 12-seat room at
    another time, without asking. Now only a session nobody else signed up to moves so."""
    convener, topic_id = _convener_topic(app, phones, day, database, "Damp homes")
    code = day.event.join_code
    # Alone in it, she moves it herself.
    moved = post_form(
        convener, f"/e/{code}/topics/{topic_id}/place", {"cell": f"{day.morning.id}:{day.booth.id}"}
    )
    assert moved.status_code == 303
    back = post_form(
        convener, f"/e/{code}/topics/{topic_id}/place", {"cell": f"{day.morning.id}:{day.hall.id}"}
    )
    assert back.status_code == 303
    for n in range(3):
        _sign_up(phone_in(app, phones, day.event, f"Guest {n}"), day.event, topic_id)
    before = _seated(database, topic_id)
    assert len(before) == 4  # she holds a seat too
    page = text_of(convener.get(f"/e/{code}/topics/{topic_id}").text)
    assert "only a facilitator can move it now" in page
    assert "Put it there" not in page
    refused = post_form(
        convener,
        f"/e/{code}/topics/{topic_id}/place",
        {"cell": f"{day.afternoon.id}:{day.booth.id}"},
    )
    assert refused.status_code == 409
    assert "only a facilitator can move it now" in text_of(refused.text)
    with database.read() as session:
        topic = session.get_one(Topic, topic_id)
        assert (topic.slot_id, topic.space_id) == (day.morning.id, day.hall.id)
    assert _seated(database, topic_id) == before


def test_facilitator_sees_who_keeps_a_seat_confirms_and_everyone_is_told(
    app: FastAPI,
    client: TestClient,
    phones: list[TestClient],
    day: Day,
    database: Database,
    make: Factory,
) -> None:
    """Into a 2-seat room at another time: the convener and the first to sign up keep a seat,
    the last two go to the front of its waitlist, whoever has a seat at the new time keeps it.
    The facilitator sees it first (no JavaScript needed) and every phone is told."""
    _convener, topic_id = _convener_topic(app, phones, day, database, "Damp homes")
    code = day.event.join_code
    guests = [phone_in(app, phones, day.event, f"Guest {n}") for n in range(4)]
    for guest in guests:
        _sign_up(guest, day.event, topic_id)
    busy = phone_in(app, phones, day.event, "Busy Bea")
    _sign_up(busy, day.event, topic_id)
    afternoon_topic = _placed_by_facilitator(database, day, "Buses", day.afternoon, day.hall)
    _sign_up(busy, day.event, afternoon_topic)
    facilitator = make.organiser()
    with database.write() as session:
        event_service.add_team_member(session, day.event, facilitator.email, "", Role.facilitator)
    log_in(client, facilitator.email)
    base = f"/facilitate/{day.event.id}"
    cell = f"{day.afternoon.id}:{day.booth.id}"
    asked = client.post(
        f"{base}/topics/{topic_id}/move", data={"cell": cell, "csrf_token": csrf_token(client)}
    )
    assert asked.status_code == 200
    said = text_of(asked.text).replace(" ,", ",")  # names are isolated (<bdi>) in a list
    assert "Move “Damp homes” to 14:00, Café corner?" in said
    assert "2 keep a seat: Maria Convener, Guest 0" in said
    assert "3 go to the front of its waitlist" in said and "Guest 1, Guest 2, Guest 3" in said
    assert (
        "1 already has a seat at the new time, keeps it and leaves this session: Busy Bea" in said
    )
    # Nothing has moved yet.
    with database.read() as session:
        assert session.get_one(Topic, topic_id).slot_id == day.morning.id
    done = post_form(client, f"{base}/topics/{topic_id}/move", {"cell": cell, "confirm": "1"})
    assert done.status_code == 303
    told = text_of(client.get(done.headers["location"]).text)
    assert "3 people found no seat left in the new room and are first on its waitlist." in told
    assert "Everyone whose seat changed is told on their phone." in told
    ids = {name: _id(database, name) for name in ["Maria Convener", "Guest 0", "Busy Bea"]}
    assert _seated(database, topic_id) == [ids["Maria Convener"], ids["Guest 0"]]
    assert _waiting(database, topic_id)[:3] == [_id(database, f"Guest {n}") for n in (1, 2, 3)]
    assert _seated(database, afternoon_topic) == [ids["Busy Bea"]]
    # Each phone says what happened, until its owner says they saw it.
    home = text_of(guests[0].get(f"/e/{code}").text)
    assert "Your session Damp homes moved to 14:00, Café corner. Your seat moved with it." in home
    wall_page = text_of(guests[3].get(f"/e/{code}/wall").text)
    assert "you are now on its waitlist" in wall_page
    assert "you keep that one" in text_of(busy.get(f"/e/{code}").text)
    seen = post_form(guests[0], f"/e/{code}/seat-news/seen", {"next": f"/e/{code}"})
    assert seen.status_code == 303
    assert "moved to 14:00" not in text_of(guests[0].get(f"/e/{code}").text)


def _placed_by_facilitator(
    database: Database, day: Day, title: str, slot: Slot, space: Space
) -> int:
    """A topic placed by the facilitator whose convener said she will be elsewhere."""
    convener = day.make.participant(day.event, f"Convener of {title}")
    with database.write() as session:
        event = session.get_one(Event, day.event.id)
        topic = marketplace.propose_topic(
            session, event, convener, TopicCreate(title=title), at_the_desk=True
        )
        signups.convener_elsewhere(session, topic, convener.id or 0, True)
        wall.move_by_facilitator(session, event, topic, slot.id, space.id)
        return topic.id or 0


def test_a_move_without_anyone_but_the_convener_is_done_at_once(
    client: TestClient, day: Day, database: Database, make: Factory
) -> None:
    """Drag-and-drop of a session only its convener sits in asks nothing."""
    topic_id = _placed_by_facilitator(database, day, "Quiet", day.morning, day.hall)
    facilitator = make.organiser()
    with database.write() as session:
        event_service.add_team_member(session, day.event, facilitator.email, "", Role.facilitator)
    log_in(client, facilitator.email)
    moved = post_form(
        client,
        f"/facilitate/{day.event.id}/topics/{topic_id}/move",
        {"cell": f"{day.afternoon.id}:{day.booth.id}"},
    )
    assert moved.status_code == 303


def test_the_desk_lists_people_whose_printed_agenda_changed(
    client: TestClient, day: Day, database: Database, make: Factory
) -> None:
    """Mrs Begum has no phone: the desk signed her up and printed her agenda. When her
    session moves, the desk says to print it again; printed again, it says no more."""
    topic_id = _placed_by_facilitator(database, day, "Bus passes", day.morning, day.hall)
    facilitator = make.organiser()
    with database.write() as session:
        event_service.add_team_member(session, day.event, facilitator.email, "", Role.facilitator)
    log_in(client, facilitator.email)
    base = f"/facilitate/{day.event.id}"
    joined = post_form(
        client,
        f"{base}/desk/sign-up",
        {"participant": "", "new_name": "Mrs Begum", "topic": str(topic_id)},
    )
    assert joined.status_code == 303
    begum = _id(database, "Mrs Begum")
    printed = client.get(f"/events/{day.event.id}/print/person", params={"participant": begum})
    assert printed.status_code == 200
    assert "Printed agendas to print again" not in client.get(f"{base}/desk").text
    cell = f"{day.afternoon.id}:{day.hall.id}"
    asked = post_form(client, f"{base}/topics/{topic_id}/move", {"cell": cell})
    assert "These people have a printed agenda" in text_of(asked.text)
    assert "Mrs Begum" in text_of(asked.text)
    moved = post_form(client, f"{base}/topics/{topic_id}/move", {"cell": cell, "confirm": "1"})
    said = text_of(client.get(moved.headers["location"]).text)
    assert "1 of them has a printed agenda: the desk lists it to print again." in said
    desk = text_of(client.get(f"{base}/desk").text)
    assert "Printed agendas to print again" in desk and "Mrs Begum" in desk
    again = client.get(f"/events/{day.event.id}/print/person", params={"participant": begum})
    assert "14:00" in text_of(again.text)
    assert "Printed agendas to print again" not in client.get(f"{base}/desk").text


def test_a_smaller_room_sends_the_last_signed_up_to_the_waitlist_and_tells_them(
    app: FastAPI,
    client: TestClient,
    phones: list[TestClient],
    day: Day,
    database: Database,
    make: Factory,
) -> None:
    topic_id = _placed_by_facilitator(database, day, "Allotments", day.morning, day.booth)
    first, last = (phone_in(app, phones, day.event, name) for name in ("First", "Last"))
    _sign_up(first, day.event, topic_id)
    _sign_up(last, day.event, topic_id)
    organiser = make.organiser()
    with database.write() as session:
        event_service.add_team_member(session, day.event, organiser.email, "", Role.organiser)
    log_in(client, organiser.email)
    changed = post_form(
        client,
        f"/organiser/events/{day.event.id}/spaces/{day.booth.id}",
        {"name": "Café corner", "capacity": "1", "access_notes": ""},
    )
    assert changed.status_code == 303
    assert _seated(database, topic_id) == [_id(database, "First")]
    assert _waiting(database, topic_id) == [_id(database, "Last")]
    news = text_of(last.get(f"/e/{day.event.join_code}").text)
    assert "Café corner now has fewer seats, so you are now on the waitlist of Allotments" in news


def test_a_convener_holds_a_seat_in_her_session_and_may_say_she_will_be_elsewhere(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    """Her page offered her "Sign up" to her own session and left her out of the count."""
    convener, topic_id = _convener_topic(app, phones, day, database, "Damp homes")
    code = day.event.join_code
    maria = _id(database, "Maria Convener")
    assert _seated(database, topic_id) == [maria]
    page = text_of(convener.get(f"/e/{code}/topics/{topic_id}?placed=1").text)
    assert "A seat in it is yours, counted with the others." in page
    assert "You convene this session: a seat in it is yours, counted with the others." in page
    assert "1 of 20 seats taken" in page
    assert "Sign up" not in page and "Join the waitlist" not in page
    away = post_form(
        convener, f"/e/{code}/topics/{topic_id}/leave", {"next": f"/e/{code}/topics/{topic_id}"}
    )
    assert away.status_code == 303
    assert _seated(database, topic_id) == []
    page = text_of(convener.get(f"/e/{code}/topics/{topic_id}").text)
    assert "said you will be elsewhere" in page and "0 of 20 seats taken" in page
    # A move does not seat her again; she can take her seat back herself.
    with database.write() as session:
        event = session.get_one(Event, day.event.id)
        topic = session.get_one(Topic, topic_id)
        wall.move_by_facilitator(session, event, topic, day.afternoon.id, day.hall.id)
    assert _seated(database, topic_id) == []
    post_form(convener, f"/e/{code}/topics/{topic_id}/sign-up", {})
    assert _seated(database, topic_id) == [maria]


def test_a_co_convener_with_a_seat_elsewhere_at_that_time_keeps_it(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    """One seat per slot: the seat she chose in another session wins, and her page says so."""
    other = _placed_by_facilitator(database, day, "Buses", day.morning, day.booth)
    co = phone_in(app, phones, day.event, "Co Convener")
    _sign_up(co, day.event, other)
    _convener, topic_id = _convener_topic(app, phones, day, database, "Damp homes")
    code = day.event.join_code
    joined = post_form(co, f"/e/{code}/topics/{topic_id}/co-convene", {})
    assert joined.status_code == 303
    ann = _id(database, "Co Convener")
    assert _seated(database, other) == [ann]
    assert ann not in _seated(database, topic_id)
    page = text_of(co.get(f"/e/{code}/topics/{topic_id}").text)
    assert "you have a seat in another session at this time: that seat stays yours" in page
    switched = post_form(co, f"/e/{code}/topics/{topic_id}/sign-up", {})
    assert switched.status_code == 303
    assert ann in _seated(database, topic_id) and _seated(database, other) == []
