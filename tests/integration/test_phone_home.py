"""A participant's home on a phone: where to be now and next comes first, and announcements
can be hidden (a plain form without JavaScript, or htmx), a newer one showing again."""

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlmodel import select

from app.config import Settings
from app.models import Event, Participant, Slot, SlotKind, Topic
from app.models.agenda import TopicCreate
from app.models.event import SlotCreate
from app.models.live import AnnouncementCreate
from app.security import LinkSigner
from app.services import events as event_service
from app.services import live as live_service
from app.services import marketplace, signups
from app.web.participant.join import device_path
from tests.conftest import claim, csrf_token, post_form
from tests.factories import Factory, placed_topic
from tests.phone_day import ANNOUNCEMENT, at, midday_zone, phone_day

NEWER = "The garden session has moved to the library"


def text_of(page: str) -> str:
    """What a person reads on the page, as one line (tags put no space of their own)."""
    body = lxml_html.document_fromstring(page).body
    for hidden in body.xpath(".//script | .//style"):
        hidden.drop_tree()
    return " ".join(body.text_content().split())


def _as(client: TestClient, settings: Settings, event: Event, person: Participant) -> None:
    """This browser continues as `person`, through their personal link."""
    path = device_path(LinkSigner(settings.secret_key), event, person)
    assert claim(client, path).status_code == 303


def _person(make: Factory, person_id: int | None) -> Participant:
    with make.database.read() as session:
        return session.get_one(Participant, person_id)


def _where(page: str) -> tuple[str, str]:
    """What the page says to do now, and next (its text from 'Now, until' and 'Next, ')."""
    now, following = page.index("Now, until"), page.index("Next, ")
    return page[now:following], page[following:]


def _standing(make: Factory, event: Event) -> list[int]:
    with make.database.read() as session:
        return [note.id or 0 for note in live_service.announcements(session, event)]


def test_home_says_where_to_be_now_and_next_before_notices(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    day = phone_day(make)
    _as(client, settings, day.event, day.amira)
    page = text_of(client.get(f"/e/{day.event.join_code}").text)
    now, following = _where(page)
    assert "Warm spaces this winter · Café corner" in now
    assert following.startswith("Next, ")
    assert "Waitlist for Digital exclusion: you are number 1." in following[:200]
    # The seat notice and the announcement come after where to be, not before it.
    assert page.index("Now, until") < page.index("A seat came free for you")
    assert page.index("Now, until") < page.index(ANNOUNCEMENT)


def test_home_now_and_next_for_a_convener_and_for_nothing_chosen(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    day = phone_day(make)
    code = day.event.join_code
    _as(client, settings, day.event, _person(make, day.now_topic.convener_id))
    now, following = _where(text_of(client.get(f"/e/{code}").text))
    assert "You convene Warm spaces this winter · Café corner" in now
    assert "Digital exclusion · Garden" in following[:200]

    # Ben left his seat now (it went to Amira), and convenes the next round's session.
    _as(client, settings, day.event, _person(make, day.next_topic.convener_id))
    now, following = _where(text_of(client.get(f"/e/{code}").text))
    assert "Nothing chosen yet. See the wall" in now
    assert "You convene Digital exclusion · Garden" in following[:200]


def _agenda_seen(agenda: list[signups.MySlot]) -> list[tuple[object, ...]]:
    """What an agenda says per slot: the seat, the waitlist places, the sessions convened."""
    return [
        (
            row.slot.id,
            (row.seat.topic.id, row.seat.space.id) if row.seat else None,
            [(topic.id, place) for topic, place in row.waiting],
            [(run.topic.id, run.space.id) for run in row.running],
        )
        for row in agenda
    ]


def test_home_agenda_from_the_shared_cards_is_the_agenda_the_desk_prints(make: Factory) -> None:
    # The home page draws a phone's agenda from the cards every page shares (no query of its
    # own); the desk's printed agendas and the calendar read it from the database. Both say
    # the same for a seat, a waitlist place, a session convened and one co-convened, a seat
    # in a session since hidden, and a topic not yet on the wall.
    day = phone_day(make)
    event = day.event
    with make.database.read() as session:
        now_slot, next_slot = (session.get_one(Slot, n) for n in day.slots[1:])
    library = placed_topic(make, event, next_slot, day.hall, "Tool library")
    repair = placed_topic(make, event, now_slot, day.hall, "Repair café")
    dan = make.participant(event, "Dan Lee")
    with make.database.write() as session:
        amira = session.get_one(Participant, day.amira.id)
        marketplace.co_convene(session, session.get_one(Topic, library.id), amira)
        signups.sign_up(session, event, repair, session.get_one(Participant, dan.id))
        marketplace.set_hidden(session, session.get_one(Topic, repair.id), True)
        marketplace.propose_topic(
            session, event, amira, TopicCreate(title="Not placed yet"), at_the_desk=True
        )
    with make.database.read() as session:
        cards = marketplace.topic_cards(session, event)
        slots = event_service.slots(session, event)
        people = session.exec(select(Participant).where(Participant.event_id == event.id))
        seen = []
        for person in people:
            marks = signups.marks_of(session, person)
            printed = _agenda_seen(signups.my_agenda(session, event, person, marks))
            assert _agenda_seen(signups.agenda_from(slots, cards, person.id or 0, marks)) == (
                printed
            ), person.display_name
            seen.append(printed)
    # The case is not empty: seats, a place in line and sessions convened are all there.
    assert any(seat for agenda in seen for _slot, seat, _w, _r in agenda)
    assert any(waits for agenda in seen for _slot, _s, waits, _r in agenda)
    assert any(runs for agenda in seen for _slot, _s, _w, runs in agenda)


def test_home_now_in_a_plenary_names_the_room_everyone_meets_in(
    client: TestClient, make: Factory
) -> None:
    zone = midday_zone()
    event = make.event(timezone=zone, starts_on=datetime.now(ZoneInfo(zone)).date())
    hall = make.space(event, "Main hall", 120)
    with make.database.write() as session:
        event_service.set_plenary_space(session, event, hall.id)
        for start, end, kind, title in [
            (-30, 30, SlotKind.plenary, "Closing circle"),
            (24 * 60, 25 * 60, SlotKind.breakout, ""),
        ]:
            slot = SlotCreate(starts_at=at(start), ends_at=at(end), kind=kind, title=title)
            event_service.add_slot(session, event, slot)
    post_form(client, f"/e/{event.join_code}/join", {"display_name": "Amira Hussain"})
    now, following = _where(text_of(client.get(f"/e/{event.join_code}").text))
    assert "Everyone together in Main hall · Closing circle" in now
    # Tomorrow's round says its day, not only a time that would read as today's.
    tomorrow = event_service.in_event_zone(event, at(24 * 60))
    assert str(tomorrow.day) in following.split("Nothing chosen")[0]


def test_announcement_hidden_by_a_plain_form_stays_hidden_until_a_newer_one(
    client: TestClient, app: FastAPI, make: Factory, settings: Settings
) -> None:
    day = phone_day(make)
    code = day.event.join_code
    _as(client, settings, day.event, day.amira)
    assert ANNOUNCEMENT in text_of(client.get(f"/e/{code}").text)
    first = _standing(make, day.event)[0]
    hidden = post_form(client, f"/e/{code}/announcements/{first}/hide", {"next": f"/e/{code}/wall"})
    assert hidden.status_code == 303
    assert hidden.headers["location"] == f"/e/{code}/wall"
    for path in (f"/e/{code}", f"/e/{code}/wall", f"/e/{code}/topics", f"/e/{code}/reports"):
        assert ANNOUNCEMENT not in text_of(client.get(path).text), path

    # Another person's phone still shows it.
    with TestClient(app, follow_redirects=False) as other:
        _as(other, settings, day.event, _person(make, day.now_topic.convener_id))
        assert ANNOUNCEMENT in text_of(other.get(f"/e/{code}").text)

    _announce(make, day.event, NEWER)
    page = text_of(client.get(f"/e/{code}").text)
    assert NEWER in page
    assert ANNOUNCEMENT not in page


def test_announcement_hidden_with_htmx_answers_with_nothing_to_show(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    day = phone_day(make)
    code = day.event.join_code
    _as(client, settings, day.event, day.amira)
    page = client.get(f"/e/{code}")
    etag = page.headers["etag"]
    first = _standing(make, day.event)[0]
    hidden = client.post(
        f"/e/{code}/announcements/{first}/hide",
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token(client)},
    )
    assert hidden.status_code == 200
    assert hidden.text == ""
    # The page the phone kept is not current any more: it had the announcement.
    again = client.get(f"/e/{code}", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert ANNOUNCEMENT not in text_of(again.text)
    assert f'data-hidden="{first}"' in again.text  # for app.js: the live stream's copies


def test_announcement_hidden_shows_again_to_someone_new_on_the_same_phone(
    client: TestClient, make: Factory, settings: Settings
) -> None:
    day = phone_day(make)
    code = day.event.join_code
    _as(client, settings, day.event, day.amira)
    post_form(client, f"/e/{code}/announcements/{_standing(make, day.event)[0]}/hide", {})
    assert ANNOUNCEMENT not in text_of(client.get(f"/e/{code}").text)
    _as(client, settings, day.event, _person(make, day.next_topic.convener_id))
    assert ANNOUNCEMENT in text_of(client.get(f"/e/{code}").text)


def _announce(make: Factory, event: Event, text: str) -> None:
    with make.database.write() as session:
        live_service.announce(session, event, AnnouncementCreate(text=text))
