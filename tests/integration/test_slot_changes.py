"""Time slots changed in place, over HTTP: a slot's edit and 'move the rest of the day' keep
sessions and seats, refuse what would break the day, and reach every phone."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.db import Database
from app.models import (
    Event,
    EventStaff,
    Organiser,
    Participant,
    Role,
    SeatNotice,
    SignUp,
    Slot,
    SlotKind,
    Topic,
)
from app.models.event import SlotCreate, SlotShift
from app.services import events as event_service
from app.services import signups
from tests.conftest import log_in, phone_in, post_form, text_of
from tests.factories import Factory, placed_topic

HX = {"HX-Request": "true"}


def midday_zone() -> str:
    """A time zone where it is now late morning, so that a test's day never runs into
    midnight whenever the suite runs (Etc/GMT-5 is five hours ahead of UTC)."""
    hour = datetime.now(UTC).hour
    offset = next(o for o in range(-12, 15) if (hour + o) % 24 == 11)
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


@dataclass
class Today:
    """An event today, at late morning where it is: one slot running, three to come today
    (the last in the evening), one tomorrow; a session with two seats taken in the next."""

    event: Event
    organiser: Organiser
    running: Slot
    next: Slot
    later: Slot
    evening: Slot
    tomorrow: Slot
    session: Topic
    guest: int  # a participant with a seat in `session`, besides its convener


def _slot(database: Database, event: Event, start: datetime, end: datetime, title: str) -> Slot:
    with database.write() as session:
        return event_service.add_slot(
            session, event, SlotCreate(starts_at=start, ends_at=end, title=title)
        )


@pytest.fixture
def today(make: Factory, database: Database) -> Today:
    return a_day_today(make, database)


def a_day_today(make: Factory, database: Database) -> Today:
    """See `Today`."""
    zone = midday_zone()
    organiser = make.organiser()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    local_day = now.astimezone(ZoneInfo(zone)).date()
    event = make.event(organiser, timezone=zone, starts_on=local_day)
    midnight = datetime.combine(local_day, datetime.min.time(), tzinfo=event.zone)
    minutes = timedelta(minutes=1)
    running = _slot(database, event, now - 30 * minutes, now + 30 * minutes, "Round 1")
    next_ = _slot(database, event, now + 40 * minutes, now + 100 * minutes, "Round 2")
    later = _slot(database, event, now + 110 * minutes, now + 170 * minutes, "Round 3")
    late = _slot(
        database, event, midnight + timedelta(hours=21), midnight + timedelta(hours=23), "Social"
    )
    tomorrow = _slot(
        database, event, midnight + timedelta(hours=34), midnight + timedelta(hours=35), "Day two"
    )
    hall = make.space(event, "Hall", 20)
    topic = placed_topic(make, event, next_, hall, "Warm spaces", convener_seated=True)
    guest = make.participant(event, "Amira Hussain")
    with database.write() as session:
        signups.sign_up(session, event, session.get_one(Topic, topic.id), guest)
    assert guest.id is not None
    return Today(event, organiser, running, next_, later, late, tomorrow, topic, guest.id)


def _times(database: Database, *slots: Slot) -> list[tuple[datetime, datetime]]:
    with database.read() as session:
        return [
            (stored.starts_at, stored.ends_at)
            for stored in (session.get_one(Slot, slot.id) for slot in slots)
        ]


def _moved(slot: Slot, minutes: int) -> tuple[datetime, datetime]:
    by = timedelta(minutes=minutes)
    return slot.starts_at + by, slot.ends_at + by


def _seats(database: Database, topic: Topic) -> list[tuple[int, int]]:
    with database.read() as session:
        return list(
            session.exec(
                select(SignUp.participant_id, SignUp.slot_id)
                .where(SignUp.topic_id == topic.id)
                .order_by(col(SignUp.id))
            )
        )


def _told(database: Database, kind: str) -> set[int]:
    with database.read() as session:
        return set(session.exec(select(SeatNotice.participant_id).where(SeatNotice.kind == kind)))


def _version(database: Database, event: Event) -> int:
    with database.read() as session:
        return session.get_one(Event, event.id).agenda_version


def _at(event: Event, moment: datetime) -> str:
    return moment.astimezone(event.zone).strftime("%H:%M")


def _edit(slot: Slot, event: Event, **changes: str) -> dict[str, str]:
    """The slot's edit form as it comes filled in, with some fields changed."""
    starts, ends = slot.starts_at.astimezone(event.zone), slot.ends_at.astimezone(event.zone)
    return {
        "day": starts.date().isoformat(),
        "start": starts.strftime("%H:%M"),
        "end": ends.strftime("%H:%M"),
        "kind": str(slot.kind),
        "title": slot.title,
        **changes,
    }


def test_slot_edit_keeps_its_sessions_and_seats(
    client: TestClient, database: Database, today: Today, app: FastAPI, phones: list[TestClient]
) -> None:
    event, slot = today.event, today.next
    seats = _seats(database, today.session)
    assert len(seats) == 2
    version = _version(database, event)
    log_in(client, today.organiser.email)
    start, end = _moved(slot, 5)
    saved = post_form(
        client,
        f"/organiser/events/{event.id}/slots/{slot.id}",
        _edit(slot, event, start=_at(event, start), end=_at(event, end), title="Round 2, later"),
        follow_redirects=True,
    )
    assert saved.status_code == 200
    assert "Saved." in text_of(saved.text)
    assert _times(database, slot) == [(start, end)]
    with database.read() as session:
        stored = session.get_one(Slot, slot.id)
        assert stored.title == "Round 2, later"
        assert session.get_one(Topic, today.session.id).slot_id == slot.id
    assert _seats(database, today.session) == seats
    assert _told(database, signups.TIME_CHANGED) == {person for person, _slot in seats}
    assert _version(database, event) > version
    amira = phone_in(app, phones, event, "Someone new")
    wall = text_of(amira.get(f"/e/{event.join_code}/wall").text)
    assert _at(event, start) in wall and "Round 2, later" in wall


def test_slot_edit_tells_a_seat_holder_on_their_phone_and_is_audited(
    client: TestClient, database: Database, today: Today, app: FastAPI, phones: list[TestClient]
) -> None:
    """The person with a seat hears of the new time on their own pages; the audit log keeps
    who changed the slot."""
    event, slot = today.event, today.next
    tomasz = phone_in(app, phones, event, "Tomasz")
    with database.write() as session:
        person = session.exec(select(Participant).where(Participant.display_name == "Tomasz")).one()
        signups.sign_up(session, event, session.get_one(Topic, today.session.id), person)
    log_in(client, today.organiser.email)
    start, end = _moved(slot, 10)
    post_form(
        client,
        f"/organiser/events/{event.id}/slots/{slot.id}",
        _edit(slot, event, start=_at(event, start), end=_at(event, end)),
    )
    home = text_of(tomasz.get(f"/e/{event.join_code}").text)
    assert (
        f"The times changed: your session Warm spaces is now at {_at(event, start)}, Hall. "
        "Your seat is kept." in home
    )
    audit = text_of(client.get(f"/organiser/events/{event.id}/audit").text)
    assert "POST /organiser/events/{event_id}/slots/{slot_id}" in audit


def test_slot_edit_overlap_and_end_before_start_refused_with_values_kept(
    client: TestClient, database: Database, today: Today
) -> None:
    event, slot = today.event, today.later
    log_in(client, today.organiser.email)
    url = f"/organiser/events/{event.id}/slots/{slot.id}"
    overlap_start = today.next.starts_at + timedelta(minutes=30)
    overlap = post_form(
        client, url, _edit(slot, event, start=_at(event, overlap_start), title="Kept"), headers=HX
    )
    assert overlap.status_code == 422
    assert "<html" not in overlap.text
    assert f'id="slot{slot.id}-start-error"' in overlap.text
    assert f"overlaps the slot starting at {_at(event, today.next.starts_at)}" in overlap.text
    assert f'value="{_at(event, overlap_start)}"' in overlap.text
    assert 'value="Kept"' in overlap.text

    backwards = post_form(client, url, _edit(slot, event, start="15:00", end="14:00"))
    assert backwards.status_code == 422
    assert f'id="slot{slot.id}-end-error"' in backwards.text
    assert "The slot must end after it starts." in backwards.text
    assert 'value="15:00"' in backwards.text and 'value="14:00"' in backwards.text
    long_title = post_form(client, url, _edit(slot, event, title="x" * 81))
    assert long_title.status_code == 422
    assert "Please keep this to 80 characters or fewer." in long_title.text
    assert _times(database, slot) == [(slot.starts_at, slot.ends_at)]


def test_slot_made_plenary_takes_its_sessions_off_the_wall_and_says_which(
    client: TestClient, database: Database, today: Today
) -> None:
    event, slot = today.event, today.next
    log_in(client, today.organiser.email)
    page = post_form(
        client,
        f"/organiser/events/{event.id}/slots/{slot.id}",
        _edit(slot, event, kind="plenary", title="Everyone together"),
        follow_redirects=True,
    )
    assert "“Warm spaces” is off the wall now" in text_of(page.text)
    assert _seats(database, today.session) == []
    with database.read() as session:
        assert session.get_one(Slot, slot.id).kind == SlotKind.plenary
        assert session.get_one(Topic, today.session.id).slot_id is None
        # A convener waits for no seat in her own session; the guest is first in line.
        assert signups.waitlist_place(session, today.session.id or 0, today.guest) == 1


def test_shifting_the_day_moves_only_the_slots_not_started(
    client: TestClient, database: Database, today: Today, app: FastAPI, phones: list[TestClient]
) -> None:
    event = today.event
    seats = _seats(database, today.session)
    amira = phone_in(app, phones, event, "Tomasz")
    log_in(client, today.organiser.email)
    moved = post_form(
        client, f"/organiser/events/{event.id}/slots/shift", {"minutes": "20"}, headers=HX
    )
    assert moved.status_code == 200
    assert "Moved 3 slots 20 minutes later" in text_of(moved.text)
    assert "2 people with a seat in a moved session are told" in text_of(moved.text)
    assert _times(database, today.running, today.next, today.later, today.evening) == [
        (today.running.starts_at, today.running.ends_at),
        _moved(today.next, 20),
        _moved(today.later, 20),
        _moved(today.evening, 20),
    ]
    assert _times(database, today.tomorrow) == [(today.tomorrow.starts_at, today.tomorrow.ends_at)]
    assert _seats(database, today.session) == seats
    wall = text_of(amira.get(f"/e/{event.join_code}/wall").text)
    assert _at(event, _moved(today.next, 20)[0]) in wall


def test_shifting_from_a_chosen_slot_by_the_facilitator_leaves_earlier_ones(
    client: TestClient, database: Database, today: Today, make: Factory
) -> None:
    event = today.event
    facilitator = make.organiser()
    with database.write() as session:
        session.add(
            EventStaff(
                event_id=event.id or 0, organiser_id=facilitator.id or 0, role=Role.facilitator
            )
        )
    log_in(client, facilitator.email)
    home = client.get(f"/facilitate/{event.id}")
    assert "Move the rest of the day" in home.text
    shift = {"minutes": "-5", "from_slot_id": str(today.later.id)}
    url = f"/facilitate/{event.id}/slots/shift"
    # First what it will do: each slot's times now and then; nothing has moved yet.
    asked = post_form(client, url, shift)
    assert asked.status_code == 200  # type: ignore[attr-defined]
    preview = text_of(asked.text)  # type: ignore[attr-defined]
    assert "Move 2 slots 5 minutes earlier?" in preview
    later = _moved(today.later, -5)
    assert f"{_at(event, today.later.starts_at)}–" in preview and _at(event, later[0]) in preview
    assert _times(database, today.later) == [(today.later.starts_at, today.later.ends_at)]
    done = post_form(client, url, {**shift, "confirm": "1"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    home = client.get(done.headers["location"]).text  # type: ignore[attr-defined]
    assert "Moved 2 slots 5 minutes earlier" in text_of(home)
    assert _times(database, today.next, today.later, today.evening) == [
        (today.next.starts_at, today.next.ends_at),
        _moved(today.later, -5),
        _moved(today.evening, -5),
    ]
    assert _told(database, signups.TIME_CHANGED) == set()
    # The notice offers to move them back, once.
    assert "Undo: move them back" in home and 'name="minutes" value="5"' in home
    assert "Undo: move them back" not in client.get(f"/facilitate/{event.id}").text
    undo = {"minutes": "5", "from_slot_id": str(today.later.id), "confirm": "1"}
    assert post_form(client, url, undo).status_code == 303  # type: ignore[attr-defined]
    assert _times(database, today.later, today.evening) == [
        (today.later.starts_at, today.later.ends_at),
        (today.evening.starts_at, today.evening.ends_at),
    ]


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        ("-15", "would overlap the slot at {running}, which stays where it is"),
        ("70", "would cross midnight into another day"),
        ("181", "Please enter 180 or less."),
        ("-181", "Please enter -180 or more."),
        ("0", "Please enter a number of minutes other than 0."),
        ("soon", "Please enter a whole number."),
    ],
)
def test_shifting_the_day_refused_with_the_message_and_the_value_kept(
    client: TestClient, database: Database, today: Today, minutes: str, message: str
) -> None:
    event = today.event
    log_in(client, today.organiser.email)
    for url in (f"/organiser/events/{event.id}/slots/shift", f"/facilitate/{event.id}/slots/shift"):
        refused = post_form(client, url, {"minutes": minutes})
        assert refused.status_code == 422
        assert 'id="shift-minutes-error"' in refused.text
        assert message.format(running=_at(event, today.running.starts_at)) in text_of(refused.text)
        assert f'value="{minutes}"' in refused.text
    assert _times(database, today.next, today.evening) == [
        (today.next.starts_at, today.next.ends_at),
        (today.evening.starts_at, today.evening.ends_at),
    ]


def test_shifting_from_a_slot_that_started_refused(
    client: TestClient, database: Database, today: Today
) -> None:
    event = today.event
    log_in(client, today.organiser.email)
    refused = post_form(
        client,
        f"/organiser/events/{event.id}/slots/shift",
        {"minutes": "10", "from_slot_id": str(today.running.id)},
        headers=HX,
    )
    assert refused.status_code == 422
    assert 'id="shift-from_slot_id-error"' in refused.text
    assert "That slot has started already or was removed" in refused.text
    assert _times(database, today.running) == [(today.running.starts_at, today.running.ends_at)]


def test_editing_a_removed_slot_is_not_found(
    client: TestClient, database: Database, today: Today
) -> None:
    event, slot = today.event, today.tomorrow
    log_in(client, today.organiser.email)
    post_form(client, f"/organiser/events/{event.id}/slots/{slot.id}/delete", {})
    gone = post_form(client, f"/organiser/events/{event.id}/slots/{slot.id}", _edit(slot, event))
    assert gone.status_code == 404


def test_two_shifts_at_once_both_count(database: Database, today: Today) -> None:
    """The organiser and the facilitator both press "Move" at the same moment: the day moves
    by both, not by one of them (each reads the times under the slots' locks)."""

    def shift() -> None:
        with database.write() as session:
            event = session.get_one(Event, today.event.id)
            event_service.shift_slots(session, event, SlotShift(minutes=5))

    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(shift) for _ in range(2)]:
            done.result()
    assert _times(database, today.next, today.evening) == [
        _moved(today.next, 10),
        _moved(today.evening, 10),
    ]
