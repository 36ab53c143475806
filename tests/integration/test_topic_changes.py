"""A convener edits or withdraws her topic (and puts it back) and leaves the pitch queue; a
facilitator undoes a move on the wall; the merge form starts empty and narrows by a search.
Over HTTP, as plain forms and as htmx asks."""

import re
from datetime import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.db import Database
from app.models import Event, Pitch, Role, SignUp, Topic, WaitlistEntry
from app.models.agenda import TopicCreate
from app.services import events as event_service
from app.services import marketplace, wall
from tests.conftest import log_in, phone_in, post_form, text_of
from tests.factories import Factory

HTMX = {"HX-Request": "true"}


class Day:
    """An event with a morning and an afternoon slot, a hall and a 2-seat booth, the
    marketplace open."""

    def __init__(self, make: Factory) -> None:
        self.make = make
        self.event = make.event()
        self.morning = make.slot(self.event, time(10, 0), time(11, 0))
        self.afternoon = make.slot(self.event, time(14, 0), time(15, 0))
        self.hall = make.space(self.event, "Hall", 20)
        self.booth = make.space(self.event, "Café corner", 2)
        with make.database.write() as session:
            marketplace.open_marketplace(session, session.get_one(Event, self.event.id), True)

    @property
    def code(self) -> str:
        return self.event.join_code


@pytest.fixture
def day(make: Factory) -> Day:
    return Day(make)


def _propose(browser: TestClient, day: Day, title: str) -> int:
    proposed = post_form(browser, f"/e/{day.code}/topics", {"title": title})
    assert proposed.status_code == 303
    return int(proposed.headers["location"].split("/topics/")[1].split("?")[0])


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


def _topic(database: Database, topic_id: int) -> Topic:
    with database.read() as session:
        return session.get_one(Topic, topic_id)


def _convener_with_guests(
    app: FastAPI, phones: list[TestClient], day: Day, guests: int = 2
) -> tuple[TestClient, int, list[TestClient]]:
    """Maria's topic on the wall (morning, hall) with her seat and `guests` more."""
    maria = phone_in(app, phones, day.event, "Maria Convener")
    topic_id = _propose(maria, day, "Damp homes")
    placed = post_form(
        maria,
        f"/e/{day.code}/topics/{topic_id}/place",
        {"cell": f"{day.morning.id}:{day.hall.id}"},
    )
    assert placed.status_code == 303
    people = [phone_in(app, phones, day.event, f"Guest {n}") for n in range(guests)]
    for guest in people:
        signed = post_form(guest, f"/e/{day.code}/topics/{topic_id}/sign-up", {})
        assert signed.status_code == 303
    return maria, topic_id, people


# --- a convener edits her topic ------------------------------------------------------------


def test_convener_edit_saves_title_description_and_language(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    maria = phone_in(app, phones, day.event, "Maria Convener")
    topic_id = _propose(maria, day, "Damp homs")
    page = text_of(maria.get(f"/e/{day.code}/topics/{topic_id}").text)
    assert "Edit the topic" in page and "Withdraw the topic" in page
    form = maria.get(f"/e/{day.code}/topics/{topic_id}/edit")
    assert form.status_code == 200 and 'value="Damp homs"' in form.text
    saved = post_form(
        maria,
        f"/e/{day.code}/topics/{topic_id}/edit",
        {"title": "Damp homes", "description": "Mould and landlords", "language": "Polish"},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/e/{day.code}/topics/{topic_id}?done=edited"
    shown = text_of(maria.get(saved.headers["location"]).text)
    assert "Your changes to the topic are saved." in shown
    assert "Damp homes" in shown and "Mould and landlords" in shown and "in Polish" in shown
    edited = _topic(database, topic_id)
    assert (edited.title, edited.description, edited.language) == (
        "Damp homes",
        "Mould and landlords",
        "Polish",
    )


def test_convener_edit_over_the_limits_is_refused_by_the_field_with_the_text_kept(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    maria = phone_in(app, phones, day.event, "Maria Convener")
    topic_id = _propose(maria, day, "Damp homes")
    for headers in ({}, HTMX):
        refused = post_form(
            maria,
            f"/e/{day.code}/topics/{topic_id}/edit",
            {"title": "x" * 91, "description": "Kept as typed", "language": ""},
            headers=headers,
        )
        assert refused.status_code == 422
        assert 'aria-invalid="true"' in refused.text and "Kept as typed" in refused.text
    assert _topic(database, topic_id).title == "Damp homes"


def test_edit_by_someone_not_convening_is_forbidden(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    maria = phone_in(app, phones, day.event, "Maria Convener")
    topic_id = _propose(maria, day, "Damp homes")
    other = phone_in(app, phones, day.event, "Someone Else")
    assert "Edit the topic" not in other.get(f"/e/{day.code}/topics/{topic_id}").text
    assert other.get(f"/e/{day.code}/topics/{topic_id}/edit").status_code == 403
    refused = post_form(other, f"/e/{day.code}/topics/{topic_id}/edit", {"title": "Mine now"})
    assert refused.status_code == 403
    assert _topic(database, topic_id).title == "Damp homes"


# --- a convener withdraws her topic, and puts it back ----------------------------------------


def test_convener_withdraw_asks_first_saying_what_happens_to_people(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    maria, topic_id, _guests = _convener_with_guests(app, phones, day, guests=2)
    page = maria.get(f"/e/{day.code}/topics/{topic_id}").text
    question = (
        "Withdraw “Damp homes”? It goes from the topics and the wall. 2 other people have a "
        "seat in it: it goes from their agendas. If you put it back before another topic "
        "takes its place on the wall, they have their places again."
    )
    # With JavaScript: the browser asks (data-confirm) and sends confirm=1.
    assert f'data-confirm="{question}"' in page
    # Without: a page of its own asks, and nothing has happened yet.
    asked = post_form(maria, f"/e/{day.code}/topics/{topic_id}/withdraw", {"confirm": "0"})
    assert asked.status_code == 200
    said = text_of(asked.text)
    assert "Withdraw your topic?" in said and question in said and "Keep it" in said
    assert not _topic(database, topic_id).hidden


def test_convener_withdraw_then_undo_gives_everyone_their_seats_back(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    maria, topic_id, guests = _convener_with_guests(app, phones, day, guests=2)
    seated = _seated(database, topic_id)
    assert len(seated) == 3
    done = post_form(maria, f"/e/{day.code}/topics/{topic_id}/withdraw", {"confirm": "1"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/e/{day.code}/topics?withdrawn={topic_id}")
    notice = text_of(maria.get(done.headers["location"]).text)
    assert "You withdrew “Damp homes”: nobody sees it now." in notice
    assert "have it again if you put it back" in notice and "Undo" in notice
    withdrawn = _topic(database, topic_id)
    assert withdrawn.hidden and withdrawn.withdrawn
    # Gone for everyone else, by the facilitator's hide: their seats are kept, unseen.
    assert guests[0].get(f"/e/{day.code}/topics/{topic_id}").status_code == 404
    assert "Damp homes" not in text_of(guests[0].get(f"/e/{day.code}/wall").text)
    # ...and from their agendas, on the page and in the calendar (the confirm said so).
    assert "Damp homes" not in text_of(guests[0].get(f"/e/{day.code}").text)
    assert "Damp homes" not in guests[0].get(f"/e/{day.code}/agenda.ics").text
    assert _seated(database, topic_id) == seated
    # Another's notice offers nothing.
    assert "Undo" not in text_of(guests[0].get(done.headers["location"]).text)
    undone = post_form(maria, f"/e/{day.code}/topics/{topic_id}/put-back", {"placed": "1"})
    assert undone.status_code == 303
    assert undone.headers["location"] == f"/e/{day.code}/topics/{topic_id}?done=restored"
    assert "Your topic is back, where it was." in text_of(
        maria.get(undone.headers["location"]).text
    )
    back = _topic(database, topic_id)
    assert not back.hidden and not back.withdrawn
    assert (back.slot_id, back.space_id) == (day.morning.id, day.hall.id)
    assert _seated(database, topic_id) == seated
    assert guests[1].get(f"/e/{day.code}/topics/{topic_id}").status_code == 200
    assert "Damp homes" in text_of(guests[0].get(f"/e/{day.code}").text)


def test_convener_put_back_after_her_place_was_taken_says_so(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database, make: Factory
) -> None:
    maria, topic_id, _guests = _convener_with_guests(app, phones, day, guests=1)
    post_form(maria, f"/e/{day.code}/topics/{topic_id}/withdraw", {"confirm": "1"})
    other = make.participant(day.event, "Other Convener")
    with database.write() as session:
        event = session.get_one(Event, day.event.id)
        newcomer = marketplace.propose_topic(
            session, event, other, TopicCreate(title="Buses"), at_the_desk=True
        )
        wall.move_by_facilitator(session, event, newcomer, day.morning.id, day.hall.id)
    undone = post_form(maria, f"/e/{day.code}/topics/{topic_id}/put-back", {"placed": "1"})
    assert undone.status_code == 303
    page = text_of(maria.get(undone.headers["location"]).text)
    assert "Another topic took its place on the wall meanwhile" in page
    assert not _topic(database, topic_id).placed


def test_withdraw_by_a_co_convener_and_put_back_of_a_hidden_topic_are_forbidden(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    maria = phone_in(app, phones, day.event, "Maria Convener")
    topic_id = _propose(maria, day, "Damp homes")
    co = phone_in(app, phones, day.event, "Co Convener")
    assert post_form(co, f"/e/{day.code}/topics/{topic_id}/co-convene", {}).status_code == 303
    page = text_of(co.get(f"/e/{day.code}/topics/{topic_id}").text)
    assert "Edit the topic" in page and "Withdraw the topic" not in page
    refused = post_form(co, f"/e/{day.code}/topics/{topic_id}/withdraw", {"confirm": "1"})
    assert refused.status_code == 403
    with database.write() as session:  # the facilitator hides it: not hers to show again
        marketplace.set_hidden(session, session.get_one(Topic, topic_id), True)
    refused = post_form(maria, f"/e/{day.code}/topics/{topic_id}/put-back", {"placed": "0"})
    assert refused.status_code == 403
    assert _topic(database, topic_id).hidden


# --- a convener leaves the pitch queue ------------------------------------------------------


def test_convener_leaves_the_pitch_queue_and_can_queue_again(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database
) -> None:
    maria = phone_in(app, phones, day.event, "Maria Convener")
    topic_id = _propose(maria, day, "Damp homes")
    page = f"/e/{day.code}/topics/{topic_id}"
    for headers in ({}, HTMX):
        queued = post_form(maria, f"{page}/pitch", {"next": page})
        assert queued.status_code == 303
        shown = text_of(maria.get(page).text)
        assert "You are number 1 in the queue to pitch." in shown and "Leave the queue" in shown
        left = post_form(maria, f"{page}/pitch/leave", {"next": page}, headers=headers)
        if headers:  # htmx: the page as it is now, in the answer itself
            assert left.status_code == 200
            shown = text_of(left.text)
        else:
            assert left.status_code == 303
            shown = text_of(maria.get(left.headers["location"]).text)
            assert "You left the queue to pitch." in shown
        assert "in the queue to pitch" not in shown and "Queue to pitch" in shown
        with database.read() as session:
            assert session.exec(select(Pitch).where(Pitch.topic_id == topic_id)).first() is None


def test_leave_the_pitch_queue_is_refused_while_pitching_and_to_others(
    app: FastAPI, phones: list[TestClient], day: Day, database: Database, client: TestClient
) -> None:
    maria = phone_in(app, phones, day.event, "Maria Convener")
    topic_id = _propose(maria, day, "Damp homes")
    page = f"/e/{day.code}/topics/{topic_id}"
    post_form(maria, f"{page}/pitch", {"next": page})
    other = phone_in(app, phones, day.event, "Someone Else")
    refused = post_form(other, f"{page}/pitch/leave", {"next": page})
    assert refused.status_code == 409 and "conveners can pitch it" in text_of(refused.text)
    facilitator = day.make.organiser()
    with database.write() as session:
        event_service.add_team_member(session, day.event, facilitator.email, "", Role.facilitator)
    log_in(client, facilitator.email)
    started = post_form(client, f"/facilitate/{day.event.id}/pitches/next", {})
    assert started.status_code == 303
    refused = post_form(maria, f"{page}/pitch/leave", {"next": page})
    assert refused.status_code == 409
    assert "You are pitching now: the facilitator ends your turn." in text_of(refused.text)


# --- a facilitator undoes a move -----------------------------------------------------------


@pytest.fixture
def facilitator(client: TestClient, day: Day, database: Database) -> TestClient:
    """The facilitator's laptop, signed in."""
    account = day.make.organiser()
    with database.write() as session:
        event_service.add_team_member(session, day.event, account.email, "", Role.facilitator)
    log_in(client, account.email)
    return client


def _placed(database: Database, day: Day, title: str, slot_id: int | None, space_id: int) -> int:
    """A topic the facilitator put on the wall (its convener said she will be elsewhere)."""
    convener = day.make.participant(day.event, f"Convener of {title}")
    with database.write() as session:
        event = session.get_one(Event, day.event.id)
        topic = marketplace.propose_topic(
            session, event, convener, TopicCreate(title=title), at_the_desk=True
        )
        wall.move_by_facilitator(session, event, topic, slot_id, space_id)
        return topic.id or 0


def _where(database: Database, topic_id: int) -> tuple[int | None, int | None]:
    topic = _topic(database, topic_id)
    return topic.slot_id, topic.space_id


def test_facilitator_move_notice_offers_undo_that_moves_it_back(
    facilitator: TestClient, day: Day, database: Database
) -> None:
    topic_id = _placed(database, day, "Buses", day.morning.id, day.hall.id)
    base = f"/facilitate/{day.event.id}"
    moved = post_form(
        facilitator, f"{base}/topics/{topic_id}/move", {"cell": f"{day.morning.id}:{day.booth.id}"}
    )
    assert moved.status_code == 303
    assert _where(database, topic_id) == (day.morning.id, day.booth.id)
    page = facilitator.get(moved.headers["location"])
    said = text_of(page.text)
    assert "“Buses” is now at 10:00, Café corner." in said and "Undo" in said
    assert 'name="undo" value="1"' in page.text
    # Loaded again later, the page offers nothing to undo.
    assert 'id="undo-move"' not in facilitator.get(moved.headers["location"]).text
    undone = post_form(
        facilitator,
        f"{base}/topics/{topic_id}/move",
        {"cell": f"{day.morning.id}:{day.hall.id}", "undo": "1", "swapped": ""},
    )
    assert undone.status_code == 303
    assert _where(database, topic_id) == (day.morning.id, day.hall.id)
    after = facilitator.get(undone.headers["location"])
    assert "Move undone. “Buses” is now at 10:00, Hall." in text_of(after.text)
    assert 'id="undo-move"' not in after.text  # an undo is not undone again


def test_facilitator_undo_of_a_swap_swaps_back(
    facilitator: TestClient, day: Day, database: Database
) -> None:
    buses = _placed(database, day, "Buses", day.morning.id, day.hall.id)
    damp = _placed(database, day, "Damp homes", day.afternoon.id, day.hall.id)
    base = f"/facilitate/{day.event.id}"
    moved = post_form(
        facilitator, f"{base}/topics/{buses}/move", {"cell": f"{day.afternoon.id}:{day.hall.id}"}
    )
    assert _where(database, damp) == (day.morning.id, day.hall.id)
    page = facilitator.get(moved.headers["location"]).text
    assert f'name="swapped" value="{damp}"' in page
    undone = post_form(
        facilitator,
        f"{base}/topics/{buses}/move",
        {"cell": f"{day.morning.id}:{day.hall.id}", "undo": "1", "swapped": str(damp)},
    )
    assert undone.status_code == 303
    assert _where(database, buses) == (day.morning.id, day.hall.id)
    assert _where(database, damp) == (day.afternoon.id, day.hall.id)


def test_facilitator_undo_when_the_old_place_was_taken_meanwhile_says_so(
    facilitator: TestClient, day: Day, database: Database
) -> None:
    buses = _placed(database, day, "Buses", day.morning.id, day.hall.id)
    base = f"/facilitate/{day.event.id}"
    post_form(
        facilitator, f"{base}/topics/{buses}/move", {"cell": f"{day.afternoon.id}:{day.hall.id}"}
    )
    _placed(database, day, "Damp homes", day.morning.id, day.hall.id)
    for headers in ({}, HTMX):
        refused = post_form(
            facilitator,
            f"{base}/topics/{buses}/move",
            {"cell": f"{day.morning.id}:{day.hall.id}", "undo": "1", "swapped": ""},
            headers=headers,
        )
        assert refused.status_code == 409
        assert (
            "“Buses” cannot go back to 10:00, Hall: “Damp homes” has taken that place meanwhile."
            in text_of(refused.text)
        )
    assert _where(database, buses) == (day.afternoon.id, day.hall.id)


def test_facilitator_undo_that_changes_seats_asks_first(
    app: FastAPI,
    facilitator: TestClient,
    phones: list[TestClient],
    day: Day,
    database: Database,
) -> None:
    """Placed at first with nobody in it, the session has people in it now: moving it back
    (off the wall) changes their seats, so the facilitator sees who first, and confirms."""
    buses = _placed(database, day, "Buses", None, 0)
    base = f"/facilitate/{day.event.id}"
    placed = post_form(
        facilitator, f"{base}/topics/{buses}/move", {"cell": f"{day.morning.id}:{day.hall.id}"}
    )
    assert placed.status_code == 303 and "from=&" in placed.headers["location"]
    guest = phone_in(app, phones, day.event, "Guest 0")
    assert post_form(guest, f"/e/{day.code}/topics/{buses}/sign-up", {}).status_code == 303
    undo = {"cell": "", "undo": "1", "swapped": ""}
    asked = post_form(facilitator, f"{base}/topics/{buses}/move", undo)
    assert asked.status_code == 200
    assert "Take “Buses” off the wall?" in text_of(asked.text)
    assert 'name="undo" value="1"' in asked.text  # the confirm is an undo too
    assert _where(database, buses) == (day.morning.id, day.hall.id)
    done = post_form(facilitator, f"{base}/topics/{buses}/move", {**undo, "confirm": "1"})
    assert done.status_code == 303
    assert _where(database, buses) == (None, None)
    assert "Move undone." in text_of(facilitator.get(done.headers["location"]).text)


def test_undoing_a_move_to_a_small_room_says_who_gets_their_seat_back(
    app: FastAPI,
    facilitator: TestClient,
    phones: list[TestClient],
    day: Day,
    database: Database,
) -> None:
    """Moved from the hall to the 2-seat café corner, the session sent its last to sign up
    to the waitlist; moving it back, the preview names who gets a seat again, and they do."""
    buses = _placed(database, day, "Buses", day.morning.id, day.hall.id or 0)
    base = f"/facilitate/{day.event.id}"
    guests = [phone_in(app, phones, day.event, f"Guest {n}") for n in range(4)]
    for guest in guests:
        assert post_form(guest, f"/e/{day.code}/topics/{buses}/sign-up", {}).status_code == 303
    small = {"cell": f"{day.morning.id}:{day.booth.id}", "confirm": "1"}
    moved = post_form(facilitator, f"{base}/topics/{buses}/move", small)
    # Its convener and the first to sign up keep the two seats.
    assert moved.status_code == 303 and len(_waiting(database, buses)) == 3
    back = {"cell": f"{day.morning.id}:{day.hall.id}", "undo": "1", "swapped": ""}
    asked = text_of(post_form(facilitator, f"{base}/topics/{buses}/move", back).text)
    assert "3 waiting for it get a seat: Guest 1, Guest 2, Guest 3" in asked
    assert len(_waiting(database, buses)) == 3  # the preview changed nothing
    post_form(facilitator, f"{base}/topics/{buses}/move", {**back, "confirm": "1"})
    assert _waiting(database, buses) == [] and len(_seated(database, buses)) == 5


# --- the merge form --------------------------------------------------------------------------


def _options(html: str, name: str) -> list[str]:
    """The option texts of a select, in order, and which is chosen (marked with *)."""
    found = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found is not None
    return [
        ("*" if " selected" in attrs else "") + text.strip()
        for attrs, text in re.findall(r"<option([^>]*)>(.*?)</option>", found.group(1), re.S)
    ]


def test_merge_form_opens_with_nothing_chosen_in_natural_order(
    facilitator: TestClient, day: Day, database: Database
) -> None:
    for title in ("Topic 10", "Topic 2", "apples", "Buses"):
        _placed(database, day, title, None, 0)
    page = facilitator.get(f"/facilitate/{day.event.id}/topics").text
    expected = ["*Choose a topic", "apples", "Buses", "Topic 2", "Topic 10"]
    assert _options(page, "keep") == expected
    assert _options(page, "duplicate") == expected


def test_merge_filter_narrows_both_lists_without_javascript_and_as_htmx(
    facilitator: TestClient, day: Day, database: Database
) -> None:
    ids = {title: _placed(database, day, title, None, 0) for title in ("Bus fares", "Damp", "BUS")}
    base = f"/facilitate/{day.event.id}"
    page = facilitator.get(f"{base}/topics", params={"q": "bus"})
    assert page.status_code == 200 and "<html" in page.text
    for name in ("keep", "duplicate"):
        assert _options(page.text, name) == ["*Choose a topic", "BUS", "Bus fares"]
    assert "2 topics match “bus”." in text_of(page.text)
    # As one types (htmx): the two lists alone, a choice already made kept whatever is typed.
    part = facilitator.get(
        f"{base}/topics", params={"q": "bus", "keep": str(ids["Damp"])}, headers=HTMX
    )
    assert part.status_code == 200 and "<html" not in part.text
    assert "HX-Request" in part.headers["vary"]
    assert _options(part.text, "keep") == ["Choose a topic", "BUS", "Bus fares", "*Damp"]
    assert _options(part.text, "duplicate") == ["*Choose a topic", "BUS", "Bus fares", "Damp"]


def test_merge_of_a_topic_with_itself_is_refused_by_the_field(
    facilitator: TestClient, day: Day, database: Database
) -> None:
    buses = _placed(database, day, "Buses", None, 0)
    _placed(database, day, "Damp homes", None, 0)
    base = f"/facilitate/{day.event.id}"
    same = post_form(
        facilitator, f"{base}/topics/merge", {"keep": str(buses), "duplicate": str(buses)}
    )
    assert same.status_code == 409
    assert 'id="duplicate-error"' in same.text
    assert "Choose two different topics to merge." in same.text
    assert 'aria-invalid="true" aria-describedby="duplicate-error"' in same.text
    assert _options(same.text, "keep")[1] == "*Buses"  # what was chosen stays chosen
    nothing = post_form(facilitator, f"{base}/topics/merge", {"keep": "", "duplicate": ""})
    assert nothing.status_code == 409
    assert 'id="keep-error"' in nothing.text and "Choose the topic to keep." in nothing.text
    assert not _topic(database, buses).hidden
