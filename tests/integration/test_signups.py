"""Seats: never more people than the room takes, one seat per slot, waitlists in order."""

import random
import sqlite3
import time as time_module
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.db import Database
from app.models import (
    ConvenerElsewhere,
    Event,
    Participant,
    Role,
    SignUp,
    Slot,
    Space,
    Topic,
    WaitlistEntry,
)
from app.models.agenda import TopicCreate
from app.models.event import SpaceCreate
from app.services import events as event_service
from app.services import marketplace, policy, signups, wall
from app.services.errors import Refused
from app.services.signups import SessionFull
from tests.conftest import phone
from tests.factories import PASSWORD, Factory, placed_topic


def _sign_up(database: Database, event: Event, topic: Topic, person: Participant) -> None:
    with database.write() as session:
        signups.sign_up(session, event, session.get(Topic, topic.id), person)


def _seated(database: Database, topic: Topic) -> list[int]:
    with database.read() as session:
        return list(
            session.exec(
                select(SignUp.participant_id).where(SignUp.topic_id == topic.id).order_by(SignUp.id)
            )
        )


def _news(database: Database, person: Participant) -> tuple[int, ...]:
    """The sessions whose seat came free for the person and that they have not seen yet."""
    with database.read() as session:
        return signups.marks_of(session, session.get_one(Participant, person.id)).news


@pytest.fixture
def room(make: Factory) -> tuple[Event, Slot, Space, Space]:
    event = make.event()
    slot = make.slot(event, time(10, 45), time(11, 45))
    return event, slot, make.space(event, "Small room", 1), make.space(event, "Hall", 50)


def test_last_seat_goes_to_one_the_other_waits_and_is_promoted_on_switch(
    database: Database, make: Factory, room: tuple[Event, Slot, Space, Space]
) -> None:
    event, slot, small, hall = room
    tiny = placed_topic(make, event, slot, small, "Tiny")
    big = placed_topic(make, event, slot, hall, "Big")
    amira, tomasz = make.participant(event, "Amira"), make.participant(event, "Tomasz")
    _sign_up(database, event, tiny, amira)
    with pytest.raises(SessionFull), database.write() as session:
        signups.sign_up(session, event, session.get(Topic, tiny.id), tomasz)
    with database.write() as session:
        assert signups.join_waitlist(session, event, session.get(Topic, tiny.id), tomasz) == 1
    # Law of two feet: Amira moves to the hall; her seat goes to Tomasz at once.
    _sign_up(database, event, big, amira)
    assert _seated(database, tiny) == [tomasz.id]
    assert _seated(database, big) == [amira.id]
    with database.read() as session:
        assert session.exec(select(func.count()).select_from(WaitlistEntry)).one() == 0


def test_a_seat_from_the_waitlist_is_still_news_after_the_facilitator_moves_the_session(
    database: Database, make: Factory, room: tuple[Event, Slot, Space, Space]
) -> None:
    """Tomasz was promoted while looking elsewhere; the facilitator then moves the session
    to the afternoon. His seat moves with it, and so does the news that he has it."""
    event, slot, small, hall = room
    later = make.slot(event, time(14, 0), time(15, 0))
    tiny = placed_topic(make, event, slot, small, "Tiny")
    amira, tomasz = make.participant(event, "Amira"), make.participant(event, "Tomasz")
    _sign_up(database, event, tiny, amira)
    with database.write() as session:
        signups.join_waitlist(session, event, session.get(Topic, tiny.id), tomasz)
        signups.leave(session, event, session.get(Topic, tiny.id), amira)
        signups.join_waitlist(session, event, session.get(Topic, tiny.id), amira)
    assert _news(database, tomasz) == (tiny.id,)
    with database.write() as session:
        wall.move_by_facilitator(session, event, session.get(Topic, tiny.id), later.id, hall.id)
    assert _seated(database, tiny) == [tomasz.id, amira.id]
    assert _news(database, tomasz) == (tiny.id,)
    # Amira, seated from the waitlist by the move into the larger room, is told too.
    assert _news(database, amira) == (tiny.id,)


def test_waitlist_promotes_in_order_and_follows_freed_seats(
    database: Database, make: Factory, room: tuple[Event, Slot, Space, Space]
) -> None:
    event, slot, small, _hall = room
    other_small = make.space(event, "Booth", 1)
    first = placed_topic(make, event, slot, small, "First")
    second = placed_topic(make, event, slot, other_small, "Second")
    a, b, c = (make.participant(event, name) for name in ("A", "B", "C"))
    _sign_up(database, event, first, a)
    _sign_up(database, event, second, b)
    with database.write() as session:
        signups.join_waitlist(session, event, session.get(Topic, first.id), b)
        signups.join_waitlist(session, event, session.get(Topic, first.id), c)
        signups.join_waitlist(session, event, session.get(Topic, second.id), c)
    with database.write() as session:
        signups.leave(session, event, session.get(Topic, first.id), a)
    # B (first in line) moves to First; that frees Second, which goes to C.
    assert _seated(database, first) == [b.id]
    assert _seated(database, second) == [c.id]


def test_sign_up_refused_for_ended_slot_hidden_topic_and_closed_event(
    database: Database, make: Factory
) -> None:
    event = make.event()
    hall = make.space(event, "Hall", 10)
    with database.write() as session:
        past = Slot(
            event_id=event.id or 0,
            starts_at=datetime.now(UTC) - timedelta(hours=2),
            ends_at=datetime.now(UTC) - timedelta(hours=1),
        )
        session.add(past)
    ended = placed_topic(make, event, past, hall, "Yesterday's news")
    person = make.participant(event)
    with pytest.raises(Refused, match="already ended"), database.write() as session:
        signups.sign_up(session, event, session.get(Topic, ended.id), person)

    slot = make.slot(event, time(12, 0), time(13, 0))
    topic = placed_topic(make, event, slot, hall, "Open")
    with database.write() as session:
        marketplace.set_hidden(session, session.get(Topic, topic.id), True)
    with pytest.raises(Refused, match="taken off the wall"), database.write() as session:
        signups.sign_up(session, event, session.get(Topic, topic.id), person)
    with database.write() as session:
        marketplace.set_hidden(session, session.get(Topic, topic.id), False)
        marketplace.close_event(session, session.get(Event, event.id), True)
    with pytest.raises(Refused, match="closed"), database.write() as session:
        signups.sign_up(session, session.get(Event, event.id), session.get(Topic, topic.id), person)


def test_concurrent_sign_ups_never_overbook(database: Database, make: Factory) -> None:
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Room", 5))
    people = [make.participant(event, f"P{n}") for n in range(40)]

    def attempt(person: Participant) -> str:
        try:
            _sign_up(database, event, topic, person)
            return "seated"
        except SessionFull:
            return "full"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, people))
    assert outcomes.count("seated") == 5
    assert outcomes.count("full") == 35
    assert len(_seated(database, topic)) == 5


def test_concurrent_switching_keeps_every_invariant(database: Database, make: Factory) -> None:
    """30 people hop between three small sessions in one slot, all at once, 600 times."""
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    topics = [
        placed_topic(make, event, slot, make.space(event, f"Room {n}", 4), f"Topic {n}")
        for n in range(3)
    ]
    people = [make.participant(event, f"P{n}") for n in range(30)]
    rng = random.Random(7)
    moves = [(rng.choice(people), rng.choice(topics), rng.random()) for _ in range(600)]

    def act(move: tuple[Participant, Topic, float]) -> str:
        person, topic, dice = move
        with database.write() as session:
            current = session.get(Topic, topic.id)
            try:
                if dice < 0.6:
                    signups.sign_up(session, event, current, person)
                elif dice < 0.8:
                    signups.join_waitlist(session, event, current, person)
                else:
                    signups.leave(session, event, current, person)
            except SessionFull:
                return "full"
            except Refused:
                return "refused"  # e.g. joining the waitlist of the session you sit in
        return "ok"

    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = list(pool.map(act, moves))
    assert set(outcomes) <= {"ok", "full", "refused"}
    assert outcomes.count("ok") > 100  # the test really moved people around
    with database.read() as session:
        _assert_invariants(session, topics)


def _assert_invariants(session: Session, topics: list[Topic]) -> None:
    for topic in topics:
        space = session.get(Space, topic.space_id)
        taken = session.exec(
            select(func.count()).select_from(SignUp).where(SignUp.topic_id == topic.id)
        ).one()
        assert space is not None and taken <= space.capacity
        waiting = session.exec(
            select(func.count())
            .select_from(WaitlistEntry)
            .where(WaitlistEntry.topic_id == topic.id)
        ).one()
        # Nobody waits for a session that has a free seat.
        assert taken == space.capacity or waiting == 0
    per_person = session.exec(
        select(SignUp.participant_id, SignUp.slot_id, func.count())
        .group_by(SignUp.participant_id, SignUp.slot_id)
        .having(func.count() > 1)
    ).all()
    assert per_person == []


def test_two_conveners_racing_for_one_cell_exactly_one_wins(
    database: Database, make: Factory
) -> None:
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    hall = make.space(event, "Hall", 30)
    proposals = []
    for n in range(8):
        convener = make.participant(event, f"Convener {n}")
        with database.write() as session:
            proposals.append(
                marketplace.propose_topic(
                    session, event, convener, TopicCreate(title=f"T{n}"), at_the_desk=True
                )
            )

    def place(topic: Topic) -> str:
        try:
            with database.write() as session:
                mine = session.get_one(Topic, topic.id)
                by = policy.Asker(participant_id=mine.convener_id)
                wall.place_by_convener(session, event, mine, slot.id or 0, hall.id or 0, by)
            return "won"
        except Refused as refused:
            assert "taken" in refused.message or "Someone has just" in refused.message
            return "told"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(place, proposals))
    assert outcomes.count("won") == 1
    with database.read() as session:
        assert len(session.exec(select(Topic).where(Topic.slot_id == slot.id)).all()) == 1


def test_merge_moves_people_without_losing_or_double_booking(
    database: Database, make: Factory
) -> None:
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    keep = placed_topic(make, event, slot, make.space(event, "Hall", 3), "Health checks in mosques")
    duplicate = placed_topic(
        make, event, slot, make.space(event, "Room", 10), "Health checks, faith venues"
    )
    in_both = make.participant(event, "In both")
    only_dup = [make.participant(event, f"Dup {n}") for n in range(3)]
    _sign_up(database, event, keep, in_both)
    for person in only_dup:
        _sign_up(database, event, duplicate, person)
    with database.write() as session:
        marketplace.set_interest(session, session.get(Topic, duplicate.id), only_dup[0], True)
        moved = marketplace.merge_topics(
            session, event, session.get(Topic, keep.id), session.get(Topic, duplicate.id)
        )
    assert moved == (2, 1)  # of the duplicate's three: two seats left in the hall, one waits
    with database.read() as session:
        seated = set(_seated(database, keep))
        waiting = set(
            session.exec(
                select(WaitlistEntry.participant_id).where(WaitlistEntry.topic_id == keep.id)
            )
        )
        merged = session.get(Topic, duplicate.id)
        assert merged is not None and merged.hidden and not merged.placed
        interest = marketplace.interests_of(session, only_dup[0])
        _assert_invariants(session, [session.get(Topic, keep.id)])
    everyone = {in_both.id, *(p.id for p in only_dup)}
    assert seated | waiting == everyone  # nobody lost
    assert len(seated) == 3  # the hall takes three; the rest wait in order
    assert keep.id in interest


def test_merging_into_a_topic_off_the_wall_keeps_the_people_in_its_waitlist(
    database: Database, make: Factory
) -> None:
    """The kept topic has no place yet: the duplicate's people wait for it, and get their
    seats when it is placed (they had nothing at all before)."""
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    hall = make.space(event, "Hall", 10)
    duplicate = placed_topic(make, event, slot, hall, "Damp homes")
    people = [make.participant(event, f"P{n}") for n in range(2)]
    for person in people:
        _sign_up(database, event, duplicate, person)
    with database.write() as session:
        convener = session.get_one(Participant, people[0].id)
        keep = marketplace.propose_topic(
            session, event, convener, TopicCreate(title="Housing damp"), at_the_desk=True
        )
        moved = marketplace.merge_topics(session, event, keep, session.get(Topic, duplicate.id))
    assert moved == (0, 2)
    with database.write() as session:
        wall.move_by_facilitator(session, event, session.get_one(Topic, keep.id), slot.id, hall.id)
    assert set(_seated(database, keep)) == {p.id for p in people}


def test_swapping_sessions_across_times_keeps_everyone_in_both(
    database: Database, make: Factory
) -> None:
    event = make.event()
    first, second = (
        make.slot(event, time(10, 0), time(11, 0)),
        make.slot(event, time(12, 0), time(13, 0)),
    )
    room_a, room_b = make.space(event, "A", 5), make.space(event, "B", 5)
    early = placed_topic(make, event, first, room_a, "Early")
    late = placed_topic(make, event, second, room_b, "Late")
    both = make.participant(event, "In both")
    only_early = make.participant(event, "Only early")
    busy_later = make.participant(event, "Busy later")
    elsewhere = placed_topic(make, event, second, room_a, "Elsewhere at noon")
    _sign_up(database, event, early, both)
    _sign_up(database, event, late, both)
    _sign_up(database, event, early, only_early)
    _sign_up(database, event, early, busy_later)
    _sign_up(database, event, elsewhere, busy_later)
    with database.write() as session:
        swapped, plans = wall.move_by_facilitator(
            session, event, session.get(Topic, early.id), second.id, room_b.id
        )
    assert swapped is not None and swapped.id == late.id
    assert sum(len(p.booked) for p in plans) == 1  # "Busy later" keeps the noon session they chose
    with database.read() as session:
        assert session.get(Topic, early.id).slot_id == second.id
        assert session.get(Topic, late.id).slot_id == first.id
        _assert_invariants(session, [session.get(Topic, t.id) for t in (early, late, elsewhere)])
        assert session.exec(select(func.count()).select_from(WaitlistEntry)).one() == 0
    assert set(_seated(database, early)) == {both.id, only_early.id}
    assert _seated(database, late) == [both.id]


def test_phones_and_the_facilitator_writing_at_once_through_the_server(
    live_server: str, database: Database, make: Factory
) -> None:
    """24 phones sign up, queue and leave at once while the facilitator swaps their sessions
    back and forth: every answer is an answer (no 5xx), and no seat is given twice."""
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    topics = [
        placed_topic(make, event, slot, make.space(event, f"Room {n}", 3), f"Topic {n}")
        for n in range(3)
    ]
    facilitator = make.organiser()
    with database.write() as session:
        event_service.add_team_member(session, event, facilitator.email, "", Role.facilitator)
    desk = httpx.Client(base_url=live_server, timeout=30)
    desk.get("/")
    logged_in = desk.post(
        "/login",
        data={
            "email": facilitator.email,
            "password": PASSWORD,
            "csrf_token": desk.cookies["openspace_csrf"],
        },
    )
    assert logged_in.status_code == 303
    phones = [phone(live_server, event, f"P{n}", timeout=30) for n in range(24)]
    rng = random.Random(11)
    taps = [
        (browser, rng.choice(topics), rng.choice(["sign-up", "sign-up", "waitlist", "leave"]))
        for browser in phones
        for _ in range(10)
    ]
    rng.shuffle(taps)

    def tap(move: tuple[httpx.Client, Topic, str]) -> int:
        browser, topic, action = move
        url = f"/e/{event.join_code}/topics/{topic.id}/{action}"
        return browser.post(url, data={"csrf_token": browser.cookies["openspace_csrf"]}).status_code

    def swap(n: int) -> int:
        one, other = topics[n % 2], topics[2]
        with database.read() as session:
            cell = session.get(Topic, other.id)
            assert cell is not None
            target = f"{cell.slot_id}:{cell.space_id}"
        url = f"/facilitate/{event.id}/topics/{one.id}/move"
        # Confirmed at once, as after the page that shows who keeps a seat.
        form = {"cell": target, "confirm": "1", "csrf_token": desk.cookies["openspace_csrf"]}
        return desk.post(url, data=form).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        swaps = [pool.submit(swap, n) for n in range(12)]
        statuses = Counter(pool.map(tap, taps))
        swapped = Counter(done.result() for done in swaps)
    for browser in [desk, *phones]:
        browser.close()
    assert swapped == {303: 12}
    assert all(status < 500 for status in statuses), statuses
    assert statuses[303] > 60, statuses  # people really moved
    with database.read() as session:
        _assert_invariants(session, topics)


def test_a_hidden_topic_gives_its_place_on_the_wall_up(database: Database, make: Factory) -> None:
    """Nobody sees a hidden topic on the wall, so its place is offered as free: a convener or
    the facilitator who takes it gets it (it once answered "Someone has just put <the hidden
    topic> there", and the facilitator's move "swapped places" with it). Its seats become
    waitlist places, so they come back if it is restored and placed again."""
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    hall, garden = make.space(event, "Hall", 30), make.space(event, "Garden", 30)
    hidden = placed_topic(make, event, slot, hall, "Hidden")
    other_hidden = placed_topic(make, event, slot, garden, "Also hidden")
    person = make.participant(event, "Ada")
    _sign_up(database, event, hidden, person)
    with database.write() as session:
        for topic in (hidden, other_hidden):
            marketplace.set_hidden(session, session.get(Topic, topic.id), True)
    convener = make.participant(event, "Convener")
    with database.write() as session:
        mine = marketplace.propose_topic(
            session, event, convener, TopicCreate(title="Mine"), at_the_desk=True
        )
        by = policy.participant(convener)
        wall.place_by_convener(session, event, mine, slot.id or 0, hall.id or 0, by)
        desk = marketplace.propose_topic(
            session, event, convener, TopicCreate(title="Desk"), at_the_desk=True
        )
        swapped, _given_up = wall.move_by_facilitator(session, event, desk, slot.id, garden.id)
        assert swapped is None
    with database.read() as session:
        assert (
            session.get_one(Topic, mine.id).space_id,
            session.get_one(Topic, desk.id).space_id,
        ) == (
            hall.id,
            garden.id,
        )
        assert not session.get_one(Topic, hidden.id).placed
        assert not session.get_one(Topic, other_hidden.id).placed
        assert _seated(database, hidden) == []
        waiting = session.exec(
            select(WaitlistEntry.participant_id).where(WaitlistEntry.topic_id == hidden.id)
        )
        assert list(waiting) == [person.id]


def _sqlite_file(database: Database) -> str:
    if not database.settings.is_sqlite:
        pytest.skip("SQLite's write lock and log file")
    return str(database.engine.url.database)


def test_a_sign_up_waits_for_another_program_while_the_server_answers_everyone_else(
    live_server: str, database: Database, make: Factory
) -> None:
    """A backup or a command holds SQLite's write lock for a while: a sign-up sent meanwhile
    waits for it (no error) and is stored once the lock is free, and while it waits the
    server still answers other people's pages."""
    path = _sqlite_file(database)
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Room", 3))
    signing, reading = phone(live_server, event, "Ada", 60), phone(live_server, event, "Bo", 60)
    other_program = sqlite3.connect(path, isolation_level=None)
    other_program.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(
                signing.post,
                f"/e/{event.join_code}/topics/{topic.id}/sign-up",
                data={"csrf_token": signing.cookies["openspace_csrf"]},
            )
            time_module.sleep(0.5)
            assert not pending.done()  # it waits for the other program
            wall_page = reading.get(f"/e/{event.join_code}/wall", timeout=5)
            assert wall_page.status_code == 200
            assert topic.title in wall_page.text
            assert httpx.get(f"{live_server}/healthz", timeout=5).status_code == 200
            assert not pending.done()
            other_program.execute("COMMIT")
            assert pending.result(timeout=30).status_code == 303
    finally:
        if other_program.in_transaction:
            other_program.execute("ROLLBACK")
        other_program.close()
        signing.close()
        reading.close()
    assert len(_seated(database, topic)) == 1


def test_a_facilitator_logs_in_while_another_program_holds_the_write_lock(
    live_server: str, database: Database, make: Factory
) -> None:
    """Logging in only reads the database: it does not wait for a writer (nor holds every
    sign-up up while the password is checked). Logging out ends the account's sign-ins in
    the database (a copy of the cookie must stop working), so it takes its turn to write,
    and gets it as soon as the other program lets go."""
    path = _sqlite_file(database)
    facilitator = make.organiser()
    desk = httpx.Client(base_url=live_server, timeout=60)
    desk.get("/login")
    other_program = sqlite3.connect(path, isolation_level=None)
    other_program.execute("BEGIN IMMEDIATE")
    try:
        token = desk.cookies["openspace_csrf"]
        form = {"email": facilitator.email, "password": PASSWORD, "csrf_token": token}
        logged_in = desk.post("/login", data=form)
        assert logged_in.status_code == 303 and logged_in.headers["location"] == "/organiser"
        assert "Log out" in desk.get("/organiser").text
        copy = desk.cookies["openspace"]
        with ThreadPoolExecutor(1) as pool:
            logging_out = pool.submit(desk.post, "/logout", data={"csrf_token": token})
            time_module.sleep(0.5)
            other_program.execute("ROLLBACK")
            assert logging_out.result().status_code == 303
        assert desk.get("/organiser").status_code in (302, 303)  # asked to log in again
        with httpx.Client(base_url=live_server, cookies={"openspace": copy}) as thief:
            assert thief.get("/organiser").status_code in (302, 303)
    finally:
        if other_program.in_transaction:
            other_program.execute("ROLLBACK")
        other_program.close()
        desk.close()


def test_a_copy_of_the_database_file_alone_holds_a_sign_up_within_seconds(
    live_server: str, database: Database, make: Factory
) -> None:
    """Copying only the .db file (a quick backup) keeps what the server stored seconds ago:
    the server moves its write-ahead log into the file by itself."""
    path = _sqlite_file(database)
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Room", 3))
    browser = phone(live_server, event, "Ada")
    signed = browser.post(
        f"/e/{event.join_code}/topics/{topic.id}/sign-up",
        data={"csrf_token": browser.cookies["openspace_csrf"]},
    )
    browser.close()
    assert signed.status_code == 303

    def in_the_file_alone() -> int:
        # immutable=1: read the file as it is on disk, without its log.
        view = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            query = "SELECT count(*) FROM signup WHERE topic_id = ?"
            return int(view.execute(query, (topic.id,)).fetchone()[0])
        except sqlite3.DatabaseError:  # caught halfway through a page being written
            return 0
        finally:
            view.close()

    deadline = time_module.monotonic() + 15
    while in_the_file_alone() == 0 and time_module.monotonic() < deadline:
        time_module.sleep(0.2)
    assert in_the_file_alone() == 1


def test_seats_a_larger_room_adds_go_to_the_waitlist_in_order(
    database: Database, make: Factory
) -> None:
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    booth = make.space(event, "Booth", 1)
    topic = placed_topic(make, event, slot, booth, "Small at first")
    seated, first, second, third = (make.participant(event) for _ in range(4))
    _sign_up(database, event, topic, seated)
    for person in (first, second, third):
        with database.write() as session:
            signups.join_waitlist(session, event, session.get(Topic, topic.id), person)
    with database.write() as session:
        event_service.update_space(
            session, event, booth.id or 0, SpaceCreate(name="Booth", capacity=3)
        )
    assert _seated(database, topic) == [seated.id, first.id, second.id]
    with database.read() as session:
        assert signups.waitlist_place(session, topic.id or 0, third.id or 0) == 1


def test_merging_keeps_a_conveners_elsewhere_unless_she_sits_in_the_kept_session(
    database: Database, make: Factory
) -> None:
    """The duplicate's convener said she will be elsewhere: in the kept session too, unless
    she has a seat in it already (a seat and "elsewhere" never go together)."""
    event = make.event()
    slot = make.slot(event, time(10, 0), time(11, 0))
    keep = placed_topic(make, event, slot, make.space(event, "Hall", 10), "Keep")
    seated_dup = placed_topic(make, event, slot, make.space(event, "Room", 10), "Dup A")
    away_dup = placed_topic(make, event, slot, make.space(event, "Booth", 10), "Dup B")
    with database.read() as session:
        sitting = session.get_one(Participant, seated_dup.convener_id)
    _sign_up(database, event, keep, sitting)
    with database.write() as session:
        for duplicate in (seated_dup, away_dup):
            marketplace.merge_topics(
                session,
                event,
                session.get_one(Topic, keep.id),
                session.get_one(Topic, duplicate.id),
            )
    with database.read() as session:
        away = set(
            session.exec(
                select(ConvenerElsewhere.participant_id).where(
                    ConvenerElsewhere.topic_id == keep.id
                )
            )
        )
    assert sitting.id in _seated(database, keep) and sitting.id not in away
    assert away_dup.convener_id in away and away_dup.convener_id not in _seated(database, keep)
