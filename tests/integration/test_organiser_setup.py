"""Organisers set an event up from forms that work with and without htmx."""

from datetime import UTC, datetime, time

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from app.db import Database
from app.models import Event, SignUp, Slot, Space, Theme, Topic, WaitlistEntry
from app.services import signups
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, count, placed_topic

HX = {"HX-Request": "true"}


def test_organiser_creates_an_event_and_lands_on_its_setup(
    client: TestClient, make: Factory, database: Database
) -> None:
    organiser = make.organiser()
    log_in(client, organiser.email)
    response = post_form(
        client,
        "/organiser/events",
        {
            "name": "Reducing inequalities together",
            "theme_question": "What will each of us do?",
            "starts_on": "2026-06-21",
            "timezone": "Europe/London",
            "venue": "Kala Sangam",
        },
    )
    assert response.status_code == 303
    setup = client.get(response.headers["location"])
    assert setup.status_code == 200
    with database.read() as session:
        event = session.exec(select(Event)).one()
    assert event.join_code in setup.text
    assert "Reducing inequalities together" in client.get("/organiser").text


def test_event_form_errors_keep_text_next_to_fields(client: TestClient, make: Factory) -> None:
    log_in(client, make.organiser().email)
    response = post_form(
        client,
        "/organiser/events",
        {"name": "", "theme_question": "Keep me", "starts_on": "21/06", "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 422
    assert 'id="name-error"' in response.text
    assert "Please enter a date like 2026-06-21." in response.text
    assert "Please choose a time zone from the list" in response.text
    assert 'value="Keep me"' in response.text
    assert 'value="Mars/Olympus"' in response.text


def test_spaces_added_edited_and_removed(
    client: TestClient, make: Factory, database: Database
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    url = f"/organiser/events/{event.id}/spaces"
    assert (
        post_form(client, url, {"name": "Garden", "capacity": "20", "access_notes": "Outdoors"})
        .headers["location"]
        .endswith("#spaces")
    )
    fragment = post_form(
        client,
        url,
        {"name": "Room 3", "capacity": "12", "access_notes": "Hearing loop"},
        headers=HX,
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section class="panel" id="spaces"')
    assert "<html" not in fragment.text
    assert "Hearing loop" in fragment.text and "Garden" in fragment.text

    with database.read() as session:
        garden = session.exec(select(Space).where(Space.name == "Garden")).one()
    post_form(
        client, f"{url}/{garden.id}", {"name": "Garden", "capacity": "35", "access_notes": ""}
    )
    post_form(client, f"{url}/{garden.id}/delete", {})
    with database.read() as session:
        assert [s.name for s in session.exec(select(Space))] == ["Room 3"]


def test_removing_a_room_or_a_slot_with_sessions_says_so_and_keeps_their_people(
    client: TestClient, make: Factory, database: Database
) -> None:
    """A room or a time slot removed while sessions are in it: the organiser is told which
    left the wall, and the people who had seats keep a waitlist place for when the session
    is placed again (a removed slot took its seats with it, unseen)."""
    organiser = make.organiser()
    event = make.event(organiser)
    slot = make.slot(event, time(10), time(11))
    garden, hall = make.space(event, "Garden", 10), make.space(event, "Hall", 10)
    by_room = placed_topic(make, event, slot, garden, "Allotments")
    by_slot = placed_topic(make, event, slot, hall, "Libraries")
    # (A convener's own seat comes back when her session is placed again: not a waitlist place.)
    for topic, name in ((by_room, "Ada"), (by_slot, "Bo")):
        person = make.participant(event, name)
        with database.write() as session:
            signups.sign_up(session, session.get_one(Event, event.id), topic, person)
    log_in(client, organiser.email)
    base = f"/organiser/events/{event.id}"
    page = post_form(client, f"{base}/spaces/{garden.id}/delete", {}, follow_redirects=True)
    assert "Removed. “Allotments” is off the wall now" in text_of(page.text)
    page = post_form(client, f"{base}/slots/{slot.id}/delete", {}, follow_redirects=True)
    assert "Removed. “Libraries” is off the wall now" in text_of(page.text)
    assert count(database, SignUp) == 0
    with database.read() as session:
        waiting = session.exec(select(WaitlistEntry.topic_id).order_by(WaitlistEntry.topic_id))
        assert list(waiting) == [by_room.id, by_slot.id]
        assert not session.get_one(Topic, by_slot.id).placed


def test_space_bad_capacity_and_duplicate_name_refused(
    client: TestClient, make: Factory, database: Database
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    make.space(event, "Room 1")
    log_in(client, organiser.email)
    url = f"/organiser/events/{event.id}/spaces"
    bad = post_form(client, url, {"name": "Hall", "capacity": "lots"}, headers=HX)
    assert bad.status_code == 422
    assert "Please enter a whole number." in bad.text
    assert 'value="Hall"' in bad.text
    zero = post_form(client, url, {"name": "Hall", "capacity": "0"})
    assert zero.status_code == 422 and "Please enter 1 or more." in zero.text
    duplicate = post_form(client, url, {"name": "room 1", "capacity": "5"})
    assert duplicate.status_code == 422
    assert "There is already a space with this name." in duplicate.text
    assert count(database, Space) == 1


def test_slot_times_stored_in_utc_and_shown_at_venue_time(
    client: TestClient, make: Factory, database: Database
) -> None:
    organiser = make.organiser()
    event = make.event(organiser, timezone="Europe/London")
    log_in(client, organiser.email)
    response = post_form(
        client,
        f"/organiser/events/{event.id}/slots",
        {
            "day": "2026-06-21",
            "start": "10:45",
            "end": "11:45",
            "kind": "breakout",
            "title": "Round 1",
        },
    )
    assert response.status_code == 303
    with database.read() as session:
        slot = session.exec(select(Slot)).one()
        raw = session.execute(text("SELECT starts_at FROM slot")).scalar_one()
    # British Summer Time is UTC+1: 10:45 at the venue is 09:45 UTC.
    assert slot.starts_at == datetime(2026, 6, 21, 9, 45, tzinfo=UTC)
    assert "09:45" in str(raw)
    participant_page = client.get(f"/organiser/events/{event.id}")
    assert "10:45–11:45" in text_of(participant_page.text)


def test_slot_overlap_and_end_before_start_refused(
    client: TestClient, make: Factory, database: Database
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    url = f"/organiser/events/{event.id}/slots"
    base = {"day": "2026-06-21", "kind": "breakout"}
    assert post_form(client, url, {**base, "start": "10:00", "end": "11:00"}).status_code == 303
    overlap = post_form(client, url, {**base, "start": "10:30", "end": "11:30"})
    assert overlap.status_code == 422
    assert "overlaps the slot starting at 10:00" in overlap.text
    backwards = post_form(client, url, {**base, "start": "12:00", "end": "11:00"})
    assert backwards.status_code == 422
    assert "must end after it starts" in backwards.text
    assert count(database, Slot) == 1


def test_themes_framework_added(client: TestClient, make: Factory, database: Database) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    for name in (
        "Listening to and working with communities",
        "Taking a targeted approach to where and how resources are spent",
    ):
        post_form(client, f"/organiser/events/{event.id}/themes", {"name": name})
    with database.read() as session:
        assert [t.name for t in session.exec(select(Theme).order_by(Theme.position))] == [
            "Listening to and working with communities",
            "Taking a targeted approach to where and how resources are spent",
        ]


def test_event_details_updated_and_shown_to_participants(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    response = post_form(
        client,
        f"/organiser/events/{event.id}",
        {
            "name": "Your role in reducing inequalities",
            "theme_question": "Who is missing from the room?",
            "starts_on": "2026-11-07",
            "timezone": "Europe/London",
            "venue": "Bradford City Football Club",
            "principles": "Whoever comes are the right people.",
            "languages": ["en", "pl", "ur"],
        },
        headers=HX,
    )
    assert response.status_code == 200 and "Saved." in response.text
    post_form(client, f"/e/{event.join_code}/join", {"display_name": "Sam"})
    page = text_of(client.get(f"/e/{event.join_code}").text)
    assert "Your role in reducing inequalities" in page
    assert "Who is missing from the room?" in page
    assert "Saturday 7 November 2026" in page


def test_join_poster_has_code_and_qr(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    poster = client.get(f"/organiser/events/{event.id}/poster")
    assert poster.status_code == 200
    assert f"{event.join_code[:4]}-{event.join_code[4:]}" in poster.text
    assert f"/organiser/events/{event.id}/qr.svg" in poster.text
    assert "@page { size: A4" in client.get("/static/css/poster.css").text
    qr = client.get(f"/organiser/events/{event.id}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")


def test_last_organiser_cannot_be_removed(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    response = post_form(client, f"/organiser/events/{event.id}/team/{organiser.id}/delete", {})
    assert response.status_code == 422
    assert "An event needs at least one organiser." in response.text


def test_wrong_password_refused_with_message(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    response = post_form(client, "/login", {"email": organiser.email, "password": "nope"})
    assert response.status_code == 400
    assert "do not match" in response.text
    assert f'value="{organiser.email}"' in response.text
    assert client.get("/organiser").status_code == 303


def test_login_returns_to_the_page_asked_for(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    first = client.get(f"/organiser/events/{event.id}")
    assert first.headers["location"] == f"/login?next=/organiser/events/{event.id}"
    response = post_form(
        client,
        "/login",
        {
            "email": organiser.email,
            "password": "correct horse battery",
            "next": f"/organiser/events/{event.id}",
        },
    )
    assert response.headers["location"] == f"/organiser/events/{event.id}"
    evil = post_form(
        client,
        "/login",
        {"email": organiser.email, "password": "correct horse battery", "next": "//evil.example"},
    )
    assert evil.headers["location"] == "/organiser"


def test_editing_a_space_badly_shows_the_error_in_its_own_form(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    space = make.space(event, "Library", 20)
    log_in(client, organiser.email)
    response = post_form(
        client,
        f"/organiser/events/{event.id}/spaces/{space.id}",
        {"name": "Library", "capacity": "0", "access_notes": "Step-free"},
        headers=HX,
    )
    assert response.status_code == 422
    assert f'id="space{space.id}-capacity-error"' in response.text
    assert 'id="space-capacity-error"' not in response.text  # not under "Add a space"
    assert "<details open>" in response.text
