"""Mail on the day, for those who asked: a session of theirs moved or was cancelled, or they
got a seat from the waitlist. One message however often it moves in a few minutes, none if it
ends where it began, none from a preview; delivered through a real SMTP server (aiosmtpd)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.models import Event, Message, Participant, Slot, Space, Topic, metadata
from app.models.base import set_clock
from app.models.event import SlotShift
from app.models.mail import MessageKind, MessageState, Purpose
from app.services import events, mail_sender, marketplace, outbox, signups, wall
from app.services.mail import Links
from tests.conftest import log_in, post_form
from tests.factories import Factory, placed_topic
from tests.mail_sink import MailSink, Received

Clock = Callable[[datetime], None]
LONDON = ZoneInfo("Europe/London")
DAY = date(2027, 5, 4)


def _at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute, second), tzinfo=LONDON)


@dataclass
class Day:
    event: Event
    slots: list[Slot]
    rooms: list[Space]
    topic: Topic
    dana: Participant  # asked for news of her sessions, has a seat in `topic`


def _person(make: Factory, event: Event, name: str, *, asked: bool = True) -> Participant:
    person = make.participant(event, name, f"{name.lower()}@example.org")
    assert person.id is not None
    if asked:
        with make.database.write() as session:
            outbox.set_consent(session, person.id, Purpose.sessions, True)
    return person


def _sign_up(database: Database, event: Event, topic_id: int | None, person: Participant) -> None:
    with database.write() as session:
        topic = session.get_one(Topic, topic_id)
        signups.sign_up(session, event, topic, session.get_one(Participant, person.id))


def _day(make: Factory, clock: Clock, capacity: int = 20, organiser: str = "") -> Day:
    clock(_at(8))
    event = make.event(make.organiser(organiser) if organiser else None, starts_on=DAY)
    slots = [make.slot(event, time(h), time(h, 50)) for h in (10, 11, 12)]
    rooms = [make.space(event, name, capacity) for name in ("Garden room", "Library", "Hall")]
    topic = placed_topic(make, event, slots[0], rooms[0], "Warm spaces")
    dana = _person(make, event, "Dana")
    _sign_up(make.database, event, topic.id, dana)
    return Day(event, slots, rooms, topic, dana)


def _move(database: Database, day: Day, slot: int | None, room: int | None) -> None:
    with database.write() as session:
        wall.move_by_facilitator(
            session,
            day.event,
            session.get_one(Topic, day.topic.id),
            day.slots[slot].id if slot is not None else None,
            day.rooms[room].id if room is not None else None,
        )


def _messages(database: Database) -> list[Message]:
    with database.read() as session:
        return list(session.exec(select(Message).order_by(col(Message.id))))


def _send(database: Database, settings: Settings, links: Links) -> list[int]:
    return mail_sender.send_due(database, settings, links, plan=False).sent


def test_five_moves_in_two_minutes_send_one_message_naming_the_final_place(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    day = _day(make, clock)
    places = [(1, 1), (2, 2), (0, 1), (2, 0), (1, 2)]  # ends at 11:00 in the Hall
    for n, (slot, room) in enumerate(places):
        clock(_at(9) + timedelta(seconds=25 * n))
        _move(database, day, slot, room)
        assert _send(database, mail_settings, links) == []  # it waits for the moves to stop
    [message] = _messages(database)
    assert message.kind == MessageKind.session_news and message.state == MessageState.waiting

    clock(_at(9, 1, 40) + timedelta(minutes=2))
    assert len(_send(database, mail_settings, links)) == 1
    clock(_at(9, 30))
    assert _send(database, mail_settings, links) == []
    [received] = sink.received
    assert received.rcpt_tos == ["dana@example.org"]
    assert received.message["Subject"] == "Moved: Warm spaces"
    assert received.message["Message-ID"] == f"<{message.message_id}@openspace.example>"
    for part in (received.part("plain"), received.part("html")):
        assert "11:00" in part and "Hall" in part and "You have a seat in it." in part
        assert "Garden room" not in part and "Library" not in part
    _unsubscribe_and_privacy(client, received, links, day)


def _unsubscribe_and_privacy(
    client: TestClient, received: Received, links: Links, day: Day
) -> None:
    assert day.dana.id is not None
    stop = links.stop(day.dana.id, Purpose.sessions)
    assert received.message["List-Unsubscribe"] == f"<{stop}>"
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    privacy = links.privacy(day.event)
    assert privacy in received.part("plain") and privacy in received.part("html")
    answered = client.post(
        stop.removeprefix("http://testserver"), content=b"List-Unsubscribe=One-Click"
    )
    assert answered.status_code == 200
    with client.app.state.database.read() as session:  # type: ignore[attr-defined]
        assert not outbox.has_consent(session, day.dana.id, Purpose.sessions)


def test_the_facilitators_move_page_previews_without_mail_and_the_move_sends_one(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    day = _day(make, clock, capacity=1, organiser="fac@example.org")
    eli = _person(make, day.event, "Eli")
    with database.write() as session:  # Eli waits: a move to a bigger room gives him a seat
        topic = session.get_one(Topic, day.topic.id)
        signups.join_waitlist(session, day.event, topic, session.get_one(Participant, eli.id))
    big = make.space(day.event, "Big hall", 10)
    log_in(client, "fac@example.org")
    clock(_at(9))
    move = f"/facilitate/{day.event.id}/topics/{day.topic.id}/move"
    cell = f"{day.slots[1].id}:{big.id}"
    preview = post_form(client, move, {"cell": cell}, follow_redirects=False)
    assert preview.status_code == 200  # type: ignore[attr-defined]
    assert "Eli" in preview.text  # type: ignore[attr-defined]
    assert _messages(database) == []
    done = post_form(client, move, {"cell": cell, "confirm": "1"}, follow_redirects=False)
    assert done.status_code == 303  # type: ignore[attr-defined]
    clock(_at(9, 5))
    _send(database, mail_settings, links)
    [dana] = sink.to("dana@example.org")
    assert dana.message["Subject"] == "Moved: Warm spaces"
    assert "11:00" in dana.part("plain") and "Big hall" in dana.part("plain")
    [seat] = sink.to("eli@example.org")
    assert seat.message["Subject"] == "You have a seat: Warm spaces"


def test_moved_and_moved_back_sends_nothing(
    make: Factory, database: Database, mail_settings: Settings, links: Links, clock: Clock
) -> None:
    day = _day(make, clock)
    clock(_at(9))
    _move(database, day, 1, 1)
    clock(_at(9, 1))
    _move(database, day, 0, 0)
    [message] = _messages(database)
    assert message.state == MessageState.cancelled
    clock(_at(9, 30))
    assert _send(database, mail_settings, links) == []


def test_cancelled_then_a_seat_from_the_waitlist_each_told_once(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    day = _day(make, clock, capacity=1)
    eli = _person(make, day.event, "Eli")
    with database.write() as session:
        topic = session.get_one(Topic, day.topic.id)
        assert (
            signups.join_waitlist(session, day.event, topic, session.get_one(Participant, eli.id))
            == 1
        )
    clock(_at(9))
    with database.write() as session:  # Dana leaves: Eli, first in line, gets her seat
        topic = session.get_one(Topic, day.topic.id)
        signups.leave(session, day.event, topic, session.get_one(Participant, day.dana.id))
    clock(_at(9, 5))
    _send(database, mail_settings, links)
    assert sink.to("dana@example.org") == []  # she left by her own choice
    [seat] = sink.to("eli@example.org")
    assert seat.message["Subject"] == "You have a seat: Warm spaces"
    assert "A seat came free and it is yours" in seat.part("plain")
    assert "10:00" in seat.part("plain") and "Garden room" in seat.part("plain")

    clock(_at(9, 10))
    with database.write() as session:  # the facilitator takes it off the wall
        marketplace.set_hidden(session, session.get_one(Topic, day.topic.id), True)
    clock(_at(9, 15))
    _send(database, mail_settings, links)
    [_seat, cancelled] = sink.to("eli@example.org")
    assert cancelled.message["Subject"] == "Cancelled: Warm spaces"
    assert "has been cancelled" in cancelled.part("plain")


def test_no_consent_or_no_address_no_message(
    make: Factory, database: Database, mail_settings: Settings, links: Links, clock: Clock
) -> None:
    day = _day(make, clock)
    fay = _person(make, day.event, "Fay", asked=False)
    gil = make.participant(day.event, "Gil")  # no address
    for person in (fay, gil):
        _sign_up(database, day.event, day.topic.id, person)
    with database.write() as session:
        assert day.dana.id is not None
        outbox.set_consent(session, day.dana.id, Purpose.sessions, False)
    clock(_at(9))
    _move(database, day, 1, 1)
    assert _messages(database) == []


def test_previews_write_no_messages(
    make: Factory, database: Database, mail_settings: Settings, links: Links, clock: Clock
) -> None:
    day = _day(make, clock, capacity=1)
    eli = _person(make, day.event, "Eli")
    other = placed_topic(make, day.event, day.slots[1], day.rooms[1], "Night buses")
    big = make.space(day.event, "Big hall", 10)
    with database.write() as session:
        topic = session.get_one(Topic, day.topic.id)
        signups.join_waitlist(session, day.event, topic, session.get_one(Participant, eli.id))
    clock(_at(9))
    with database.write() as session:  # what the facilitator's move, shift and merge pages do
        topic = session.get_one(Topic, day.topic.id)
        seated = wall.seated_from_waitlists(session, day.event, topic, day.slots[2].id, big.id)
        assert seated == {day.topic.id: [eli.id]}  # the preview saw Eli get a seat
        events.shift_outcome(session, day.event, SlotShift(minutes=20))
        marketplace.merge_outcome(
            session, day.event, session.get_one(Topic, other.id), session.get_one(Topic, topic.id)
        )
    assert _messages(database) == []


def test_a_shifted_day_tells_of_the_new_time(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    day = _day(make, clock)
    clock(_at(9))
    with database.write() as session:
        events.shift_slots(session, day.event, SlotShift(minutes=20))
    clock(_at(9, 5))
    _send(database, mail_settings, links)
    [received] = sink.to("dana@example.org")
    assert "10:20" in received.part("plain") and "Garden room" in received.part("plain")


# --- at most one pending message per person and session, whatever happens ----------------


def _empty(database: Database) -> None:
    with database.write() as session:
        for table in reversed(metadata.sorted_tables):
            session.execute(table.delete())


steps = st.lists(
    st.one_of(
        st.tuples(st.just("move"), st.integers(0, 1), st.integers(0, 2), st.integers(0, 2)),
        st.tuples(st.just("off"), st.integers(0, 1)),
        st.tuples(st.just("hide"), st.integers(0, 1), st.booleans()),
        st.tuples(st.just("sign up"), st.integers(0, 3), st.integers(0, 1)),
        st.tuples(st.just("leave"), st.integers(0, 3), st.integers(0, 1)),
        st.tuples(st.just("later"), st.integers(0, 200)),
        st.tuples(st.just("send")),
    ),
    min_size=1,
    max_size=16,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_at_most_one_pending_message_per_person_and_session(
    steps: list[tuple[Any, ...]],
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
) -> None:
    _empty(database)
    sink.received.clear()
    moment = _at(8)
    set_clock(moment)
    try:
        event = make.event(starts_on=DAY)
        slots = [make.slot(event, time(h), time(h, 50)) for h in (10, 11, 12)]
        rooms = [make.space(event, f"Room {n}", 2) for n in range(3)]
        topics = [placed_topic(make, event, slots[n], rooms[n], f"Topic {n}").id for n in range(2)]
        people = [_person(make, event, f"P{n}", asked=n != 3) for n in range(4)]
        for step in steps:
            with database.write() as session:
                _do(session, event, slots, rooms, topics, people, step)
            if step[0] == "later":
                moment += timedelta(seconds=step[1])
                set_clock(moment)
            elif step[0] == "send":
                mail_sender.send_due(database, mail_settings, links, plan=False)
            _check_one_pending_per_person_and_session(database)
        moment += timedelta(minutes=15)
        set_clock(moment)
        mail_sender.send_due(database, mail_settings, links, plan=False)
        assert sink.to("p3@example.org") == []  # never asked
        ids = [r.message["Message-ID"] for r in sink.received]
        assert len(ids) == len(set(ids))
    finally:
        set_clock(None)


def _do(
    session: Any,
    event: Event,
    slots: list[Slot],
    rooms: list[Space],
    topics: list[int | None],
    people: list[Participant],
    step: tuple[Any, ...],
) -> None:
    kind = step[0]
    if kind in ("move", "off", "hide"):
        topic = session.get_one(Topic, topics[step[1]])
        if kind == "move" and not topic.hidden:
            wall.move_by_facilitator(session, event, topic, slots[step[2]].id, rooms[step[3]].id)
        elif kind == "off" and not topic.hidden:
            wall.move_by_facilitator(session, event, topic, None, None)
        elif kind == "hide":
            marketplace.set_hidden(session, topic, step[2])
    elif kind in ("sign up", "leave"):
        topic = session.get_one(Topic, topics[step[2]])
        person = session.get_one(Participant, people[step[1]].id)
        if topic.hidden or topic.slot_id is None:
            return
        if kind == "leave":
            signups.leave(session, event, topic, person)
            return
        try:
            signups.sign_up(session, event, topic, person)
        except signups.SessionFull:
            signups.join_waitlist(session, event, topic, person)


def _check_one_pending_per_person_and_session(database: Database) -> None:
    with database.read() as session:
        pending = session.exec(
            select(Message.group_key).where(
                Message.kind == MessageKind.session_news,
                col(Message.state).in_([MessageState.waiting, MessageState.sending]),
            )
        ).all()
    assert len(pending) == len(set(pending)), pending
