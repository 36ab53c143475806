"""The marketplace and the wall through the browser's eyes: forms, fragments, messages."""

import re
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.db import Database
from app.models import (
    Event,
    Interest,
    Organiser,
    Participant,
    Role,
    SignUp,
    Slot,
    SlotKind,
    Space,
    Topic,
    WaitlistEntry,
)
from app.models.agenda import TopicCreate
from app.models.base import utcnow
from app.models.event import SlotCreate
from app.services import events as event_service
from app.services import marketplace, signups, wall
from tests.conftest import csrf_token, log_in, post_form, text_of
from tests.factories import Factory, count, placed_topic

HX = {"HX-Request": "true"}


def _join(client: TestClient, event: Event, name: str = "Sam") -> None:
    assert (
        post_form(client, f"/e/{event.join_code}/join", {"display_name": name}).status_code == 303
    )


def _team_member(make: Factory, event: Event, role: Role) -> Organiser:
    member = make.organiser()
    with make.database.write() as session:
        event_service.add_team_member(session, event, member.email, "", role)
    return member


def _open(database: Database, event: Event) -> None:
    with database.write() as session:
        marketplace.open_marketplace(session, session.get(Event, event.id), True)


@pytest.fixture
def day(make: Factory, database: Database) -> tuple[Event, Slot, Space, Space]:
    event = make.event()
    slot = make.slot(event, time(10, 45), time(11, 45))
    return event, slot, make.space(event, "Booth", 1), make.space(event, "Hall", 40)


def test_proposal_refused_until_the_marketplace_opens(
    client: TestClient, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event = day[0]
    _join(client, event)
    page = client.get(f"/e/{event.join_code}/topics")
    assert "Proposing topics has not started yet" in text_of(page.text)
    refused = post_form(client, f"/e/{event.join_code}/topics", {"title": "Warm spaces"})
    assert refused.status_code == 422
    assert "Proposing topics is not open right now" in refused.text
    _open(database, event)
    ok = post_form(client, f"/e/{event.join_code}/topics", {"title": "Warm spaces"})
    assert ok.status_code == 303
    assert "Your topic is proposed" in client.get(ok.headers["location"]).text


def test_double_tapped_proposal_makes_one_topic_and_bad_titles_are_refused(
    client: TestClient, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event = day[0]
    _join(client, event)
    _open(database, event)
    form = client.get(f"/e/{event.join_code}/topics").text
    key = form.split('name="propose_key" value="')[1].split('"')[0]
    for _ in range(2):
        post_form(
            client, f"/e/{event.join_code}/topics", {"title": "Transport", "propose_key": key}
        )
    assert count(database, Topic) == 1
    # The same form with other words (a cached page, a second tab, a pause sent again) is
    # another topic, not lost in the first.
    other = post_form(
        client, f"/e/{event.join_code}/topics", {"title": "Night buses", "propose_key": key}
    )
    assert "Night buses" in client.get(other.headers["location"]).text  # type: ignore[attr-defined]
    assert count(database, Topic) == 2
    empty = post_form(
        client, f"/e/{event.join_code}/topics", {"title": "  ", "description": "keep me"}
    )
    assert empty.status_code == 422 and "Please fill this in." in empty.text
    assert "keep me" in empty.text
    long = post_form(client, f"/e/{event.join_code}/topics", {"title": "x" * 91})
    assert long.status_code == 422 and "90 characters or fewer" in long.text
    assert count(database, Topic) == 2


def test_interest_counts_and_htmx_returns_only_the_card(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event = day[0]
    topic = placed_topic(make, event, day[1], day[3], "Cost of living")
    _join(client, event)
    url = f"/e/{event.join_code}/topics/{topic.id}/interest"
    fragment = post_form(
        client,
        url,
        {"interested": "1", "fragment": "card", "fragment_id": str(topic.id)},
        headers=HX,
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith(f'<article class="card" id="topic-{topic.id}"')
    assert "1 interested" in fragment.text and 'aria-pressed="true"' in fragment.text
    post_form(client, url, {"interested": "1"})  # a second tap changes nothing
    assert count(database, Interest) == 1
    post_form(client, url, {"interested": "0"})
    assert count(database, Interest) == 0


def test_sign_up_full_waitlist_and_my_agenda(
    app: object,
    client: TestClient,
    make: Factory,
    day: tuple[Event, Slot, Space, Space],
    database: Database,
) -> None:
    event, slot, booth, hall = day
    tiny = placed_topic(make, event, slot, booth, "Tiny")
    big = placed_topic(make, event, slot, hall, "Big")
    _join(client, event, "First")
    wall = f"/e/{event.join_code}/wall"

    def tap_on_wall(topic: Topic, action: str) -> Any:
        """The first person taps on the wall with htmx: the slot is drawn again."""
        url = f"/e/{event.join_code}/topics/{topic.id}/{action}"
        form = {"next": wall, "fragment": "slot", "fragment_id": str(slot.id)}
        return post_form(client, url, form, headers=HX)

    seated = post_form(client, f"/e/{event.join_code}/topics/{tiny.id}/sign-up", {"next": wall})
    assert seated.status_code == 303 and seated.headers["location"].startswith(wall)
    assert "You have a seat here" in client.get(wall).text

    with TestClient(app, follow_redirects=False) as second:  # type: ignore[arg-type]
        _join(second, event, "Second")
        full = post_form(second, f"/e/{event.join_code}/topics/{tiny.id}/sign-up", {"next": wall})
        assert full.status_code == 409
        assert "This session is full. You can join its waitlist." in full.text
        # Without JavaScript the page is the whole wall: the reason opens it, with a link
        # down to the session, which may be far below.
        opening = text_of(full.text.split('id="wall-slots"')[0])
        assert "This session is full. You can join its waitlist. Go to the session" in opening
        assert f'href="#topic-{tiny.id}"' in full.text.split('id="wall-slots"')[0]
        assert "Join the waitlist" in full.text
        queued = post_form(
            second, f"/e/{event.join_code}/topics/{tiny.id}/waitlist", {"next": wall}
        )
        assert queued.status_code == 303, queued.text[-3000:]
        home = text_of(second.get(f"/e/{event.join_code}").text)
        assert "Waitlist for Tiny : you are number 1." in home

        # The first person switches with one tap; the waiting one is promoted at once.
        switch = tap_on_wall(big, "sign-up")
        assert switch.status_code == 200
        assert switch.text.lstrip().startswith(f'<section class="panel slot" id="slot-{slot.id}"')
        home = text_of(second.get(f"/e/{event.join_code}").text)
        assert "Tiny · Booth" in home
    assert count(database, WaitlistEntry) == 0
    assert count(database, SignUp) == 2

    # Leaving: the answer says so beside the session (a full session's card would look
    # the same as before, its seat given to someone waiting).
    left = tap_on_wall(big, "leave")
    assert left.status_code == 200
    assert "You left this session." in text_of(left.text)
    assert count(database, SignUp) == 1


def test_convener_places_own_topic_and_a_race_loser_is_told(
    app: object,
    client: TestClient,
    make: Factory,
    day: tuple[Event, Slot, Space, Space],
    database: Database,
) -> None:
    event, slot, _booth, hall = day
    _open(database, event)
    _join(client, event, "Convener A")
    post_form(client, f"/e/{event.join_code}/topics", {"title": "A's topic"})
    with TestClient(app, follow_redirects=False) as other:  # type: ignore[arg-type]
        _join(other, event, "Convener B")
        post_form(other, f"/e/{event.join_code}/topics", {"title": "B's topic"})
        with database.read() as session:
            a, b = session.exec(select(Topic).order_by(Topic.id)).all()
        cell = f"{slot.id}:{hall.id}"
        page = client.get(f"/e/{event.join_code}/topics/{a.id}")
        assert f'value="{cell}"' in page.text
        won = post_form(
            client,
            f"/e/{event.join_code}/topics/{a.id}/place",
            {"cell": cell, "next": f"/e/{event.join_code}/topics/{a.id}?placed=1"},
        )
        assert won.status_code == 303
        placed = text_of(client.get(won.headers["location"]).text)
        assert "Your topic is on the wall: 10:45, Hall." in placed
        lost = post_form(
            other,
            f"/e/{event.join_code}/topics/{b.id}/place",
            {"cell": cell, "next": f"/e/{event.join_code}/topics/{b.id}"},
        )
        assert lost.status_code == 409
        assert "Someone has just put “A&#39;s topic” there" in lost.text
        assert f'value="{cell}"' not in lost.text  # the grid as it is now: that place is gone
        # Only conveners place a topic.
        not_mine = post_form(other, f"/e/{event.join_code}/topics/{a.id}/place", {"cell": cell})
        assert not_mine.status_code == 409


def test_facilitator_moves_swaps_unplaces_and_plenary_is_refused(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event, slot, booth, hall = day
    plenary = make.slot(event, time(9, 0), time(10, 0), SlotKind.plenary)
    one = placed_topic(make, event, slot, booth, "One")
    two = placed_topic(make, event, slot, hall, "Two")
    owner = _team_member(make, event, Role.facilitator)
    log_in(client, owner.email)
    base = f"/facilitate/{event.id}"
    page = client.get(f"{base}/topics/{one.id}/move")  # the card's "Move…" page
    assert page.status_code == 200 and "swap with “Two”" in page.text
    swap = post_form(client, f"{base}/topics/{one.id}/move", {"cell": f"{slot.id}:{hall.id}"})
    assert swap.status_code == 303  # post/redirect/get: a reload does not move it again
    shown = client.get(swap.headers["location"])
    assert "swapped places" in shown.text
    assert "swapped places" not in client.get(swap.headers["location"]).text  # shown once
    with database.read() as session:
        assert session.get(Topic, one.id).space_id == hall.id
        assert session.get(Topic, two.id).space_id == booth.id
    refused = post_form(client, f"{base}/topics/{one.id}/move", {"cell": f"{plenary.id}:{hall.id}"})
    assert refused.status_code == 409 and "Plenary slots" in refused.text
    # A slot removed while the facilitator's wall was open (or never there): said, not a 500.
    gone = post_form(client, f"{base}/topics/{one.id}/move", {"cell": f"9999:{hall.id}"})
    assert gone.status_code == 409 and "There is no such time slot" in gone.text
    off = post_form(client, f"{base}/topics/{one.id}/move", {"cell": ""})
    assert off.status_code == 303
    assert "“One” is off the wall." in text_of(client.get(off.headers["location"]).text)
    with database.read() as session:
        assert not session.get(Topic, one.id).placed
    back = post_form(client, f"{base}/topics/{one.id}/move", {"cell": f"{slot.id}:{hall.id}"})
    said = text_of(client.get(back.headers["location"]).text)
    assert "“One” is now at 10:45, Hall." in said
    # Off the wall with people in it: their seats wait for it, and the facilitator is told.
    seated = make.participant(event, "Seated")
    with database.write() as session:
        signups.sign_up(session, event, session.get_one(Topic, one.id), seated)
    asked = post_form(client, f"{base}/topics/{one.id}/move", {"cell": ""})
    assert asked.status_code == 200 and "Take “One” off the wall?" in text_of(asked.text)
    off = post_form(client, f"{base}/topics/{one.id}/move", {"cell": "", "confirm": "1"})
    assert (
        "“One” is off the wall. 1 person waits for it: they get a seat when you place it again."
        in text_of(client.get(off.headers["location"]).text)
    )


def test_facilitator_sees_warnings_and_applies_a_suggestion(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event, slot, booth, hall = day
    owner = _team_member(make, event, Role.facilitator)
    popular = placed_topic(make, event, slot, booth, "Popular")
    fans = [make.participant(event, f"Fan {n}") for n in range(3)]
    with database.write() as session:
        for fan in fans:
            marketplace.set_interest(session, session.get(Topic, popular.id), fan, True)
    later = make.slot(event, time(12, 0), time(13, 0))
    waiting = [placed_topic(make, event, later, hall, f"W{n}") for n in range(1)]
    log_in(client, owner.email)
    base = f"/facilitate/{event.id}"
    page = text_of(client.get(f"{base}/wall").text)
    assert "3 are interested but Booth takes 1." in page
    post_form(client, f"{base}/topics/{waiting[0].id}/move", {"cell": ""})
    suggestion = client.get(f"{base}/wall/suggestion")
    assert "W0" in suggestion.text
    values = [v.split('"')[0] for v in suggestion.text.split('name="place" value="')[1:]]
    applied = post_form(
        client, f"{base}/wall/suggestion", {"place": values[0]}, follow_redirects=True
    )
    assert "1 topic placed." in applied.text
    with database.read() as session:
        assert session.get(Topic, waiting[0].id).placed


def test_the_suggestion_names_the_topics_it_found_no_place_for(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event, _slot, _booth, _hall = day  # one slot, two rooms: two free places
    owner = _team_member(make, event, Role.facilitator)
    titles = ("Housing", "Buses", "Libraries")
    people = [make.participant(event, f"Convener of {title}") for title in titles]
    with database.write() as session:
        for title, person in zip(titles, people, strict=True):
            marketplace.propose_topic(
                session, event, person, TopicCreate(title=title), at_the_desk=True
            )
    log_in(client, owner.email)
    page = text_of(client.get(f"/facilitate/{event.id}/wall/suggestion").text)
    assert "Apply the ticked places" in page
    assert "1 topic has no free place" in page and "Libraries (0 interested)" in page
    assert "Every topic has a place" not in page


def test_desk_enters_topic_and_sign_up_for_someone_without_a_phone(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event, slot, booth, hall = day
    owner = _team_member(make, event, Role.organiser)
    session_topic = placed_topic(make, event, slot, hall, "Open to all")
    log_in(client, owner.email)
    base = f"/facilitate/{event.id}"
    added = post_form(
        client,
        f"{base}/desk/topic",
        {"new_name": "Grace Achieng", "title": "Paper-first"},
        follow_redirects=True,
    )
    assert "“Paper-first” was added for Grace Achieng." in added.text
    missing = post_form(client, f"{base}/desk/topic", {"title": "Nobody's"})
    assert missing.status_code == 422 and "type the name of someone new" in missing.text
    participants_before = count(database, Participant)
    signed = post_form(
        client,
        f"{base}/desk/sign-up",
        {"new_name": "Tendai Moyo", "topic": str(session_topic.id)},
        follow_redirects=True,
    )
    assert "Tendai Moyo has a seat in “Open to all”." in signed.text
    assert count(database, SignUp) == 1
    # The same name again as someone new: the desk is sent to the list, the name kept.
    again = post_form(
        client,
        f"{base}/desk/sign-up",
        {"new_name": " tendai  moyo ", "topic": str(session_topic.id)},
    )
    assert again.status_code == 422  # the name typed must change: bad input, not a conflict
    assert "Someone called “tendai moyo” is already in the list" in text_of(again.text)
    assert 'value=" tendai  moyo "' in again.text
    assert count(database, Participant) == participants_before + 1
    # The name field is needed for someone new: it does not say "(optional)".
    assert "Name of someone new (optional)" not in text_of(signed.text)
    # Moved to another session at the same time: the desk is told the old seat is free.
    tendai = re.search(r'name="participant" value="(\d+)"', signed.text)  # helped just now
    assert tendai is not None and "Helping Tendai Moyo" in text_of(signed.text)
    other = placed_topic(make, event, slot, booth, "Quiet corner")
    moved = post_form(
        client,
        f"{base}/desk/sign-up",
        {"participant": tendai.group(1), "topic": str(other.id)},
        follow_redirects=True,
    )
    assert (
        "Tendai Moyo has a seat in “Quiet corner”. Their seat in “Open to all” at the same "
        "time is free again." in text_of(moved.text)
    )
    assert count(database, SignUp) == 1


def test_hiding_a_session_people_sit_in_says_what_becomes_of_them(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    """The facilitator is asked first (with JavaScript) and told after what hiding and
    restoring a session does to the people in it; nobody's place is lost unseen."""
    event, slot, booth, hall = day
    owner = _team_member(make, event, Role.facilitator)
    full = placed_topic(make, event, slot, booth, "Loneliness")
    ada = make.participant(event, "Ada")
    with database.write() as session:
        signups.sign_up(session, event, session.get_one(Topic, full.id), ada)
    log_in(client, owner.email)
    base = f"/facilitate/{event.id}"
    topics = client.get(f"{base}/topics").text
    assert "Hide “Loneliness”? 1 person has a seat in it: it goes from their agenda." in topics
    hidden = post_form(
        client, f"{base}/topics/{full.id}/hide", {"hidden": "1"}, follow_redirects=True
    )
    assert (
        "“Loneliness” is hidden. 1 person has a seat in it: they keep it if you restore the "
        "topic before another takes its place on the wall." in text_of(hidden.text)
    )
    # Another topic takes the place on the wall: the seat becomes a waitlist place.
    newcomer = placed_topic(make, event, slot, hall, "Bus passes")
    cell = f"{slot.id}:{booth.id}"
    asked = post_form(client, f"{base}/topics/{newcomer.id}/move", {"cell": cell})
    assert "1 waits for it, and gets a seat when you place it again: Ada" in text_of(asked.text)
    post_form(client, f"{base}/topics/{newcomer.id}/move", {"cell": cell, "confirm": "1"})
    back = post_form(
        client, f"{base}/topics/{full.id}/hide", {"hidden": "0"}, follow_redirects=True
    )
    assert (
        "“Loneliness” is back on the lists, with no place on the wall: 1 person waits for it "
        "and gets a seat when you place it." in text_of(back.text)
    )


def test_facilitator_hides_restores_merges_and_edits(
    app: object,
    client: TestClient,
    make: Factory,
    day: tuple[Event, Slot, Space, Space],
    database: Database,
) -> None:
    event, slot, booth, hall = day
    owner = _team_member(make, event, Role.facilitator)
    keep = placed_topic(make, event, slot, hall, "Housing damp")
    dup = placed_topic(make, event, slot, booth, "Damp homes", convener_seated=True)
    log_in(client, owner.email)
    base = f"/facilitate/{event.id}"
    post_form(client, f"{base}/topics/{keep.id}/hide", {"hidden": "1"})
    with database.read() as session:
        assert session.get(Topic, keep.id).hidden
    post_form(client, f"{base}/topics/{keep.id}/hide", {"hidden": "0"})
    pair = {"keep": str(keep.id), "duplicate": str(dup.id)}
    # First what it will do (it cannot be undone); nothing is merged yet.
    preview = text_of(post_form(client, f"{base}/topics/merge", pair).text)
    assert "Merge “Damp homes” into “Housing damp”?" in preview
    assert "1 person will have a seat in “Housing damp” Convener of Damp homes" in preview
    assert "will wait" not in preview and "different times" not in preview
    assert "This cannot be undone." in preview
    with database.read() as session:
        assert not session.get_one(Topic, dup.id).hidden
    itself = post_form(
        client, f"{base}/topics/merge", {"keep": str(keep.id), "duplicate": str(keep.id)}
    )
    assert itself.status_code == 409 and "Choose two different topics" in itself.text
    merged = post_form(
        client, f"{base}/topics/merge", {**pair, "confirm": "1"}, follow_redirects=True
    )
    assert (
        "“Damp homes” was merged into “Housing damp”. 1 of its people has a seat in it."
        in text_of(merged.text)
    )
    # A participant following the duplicate's link lands on the topic it was merged into.
    with TestClient(app, follow_redirects=False) as phone:  # type: ignore[arg-type]
        _join(phone, event, "Follower")
        followed = phone.get(f"/e/{event.join_code}/topics/{dup.id}")
        assert followed.status_code == 303
        landed = text_of(phone.get(followed.headers["location"]).text)
        assert "The topic you followed was merged into this one." in landed
        assert "Housing damp" in landed
    bad = post_form(client, f"{base}/topics/{keep.id}/edit", {"title": ""})
    assert bad.status_code == 422 and "Please fill this in." in bad.text
    post_form(client, f"{base}/topics/{keep.id}/edit", {"title": "Damp and children's asthma"})
    with database.read() as session:
        assert session.get(Topic, keep.id).title == "Damp and children's asthma"
        assert session.get(Topic, dup.id).hidden
    assert csrf_token(client)
    # Restored, the duplicate is a topic of its own again.
    post_form(client, f"{base}/topics/{dup.id}/hide", {"hidden": "0"})
    with database.read() as session:
        assert session.get_one(Topic, dup.id).merged_into_id is None


def test_unchanged_wall_answers_not_modified_until_something_changes(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space]
) -> None:
    event, slot, _booth, hall = day
    topic = placed_topic(make, event, slot, hall, "Cost of living")
    _join(client, event)
    first = client.get(f"/e/{event.join_code}/wall")
    etag = first.headers["etag"]
    again = client.get(f"/e/{event.join_code}/wall", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    post_form(client, f"/e/{event.join_code}/topics/{topic.id}/sign-up", {})
    changed = client.get(f"/e/{event.join_code}/wall", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "You have a seat here" in changed.text
    assert changed.headers["etag"] != etag


def test_convener_gets_a_seat_in_their_own_session_and_a_clash_is_flagged(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event, slot, booth, hall = day
    topic = placed_topic(make, event, slot, hall, "Men's health", convener_seated=True)
    with database.read() as session:
        convener = session.get(Topic, topic.id).convener_id
        assert session.exec(
            select(SignUp).where(SignUp.topic_id == topic.id, SignUp.participant_id == convener)
        ).first()
    other = placed_topic(make, event, slot, booth, "Elsewhere")
    with database.write() as session:
        from app.services import signups

        signups.sign_up(
            session, event, session.get(Topic, other.id), session.get(Participant, convener)
        )
    owner = _team_member(make, event, Role.facilitator)
    log_in(client, owner.email)
    page = text_of(client.get(f"/facilitate/{event.id}/wall").text)
    assert "(convener) has a seat in another session at this time." in page


def test_shared_wall_parts_stay_personal_and_current(
    app: object, client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space]
) -> None:
    """The wall is drawn once per change and shared, yet each phone sees its own seat, its
    own waitlist place and its own form token, and nobody sees the wall as it was."""
    event, slot, booth, hall = day
    tiny = placed_topic(make, event, slot, booth, "Tiny")
    placed_topic(make, event, slot, hall, "Big")
    wall = f"/e/{event.join_code}/wall"
    _join(client, event, "First")
    with (
        TestClient(app, follow_redirects=False) as second,  # type: ignore[arg-type]
        TestClient(app, follow_redirects=False) as third,  # type: ignore[arg-type]
    ):
        _join(second, event, "Second")
        _join(third, event, "Third")
        for phone in (client, second, third):  # all three see the same: drawn once, shared
            page = phone.get(wall).text
            assert f'name="csrf_token" value="{csrf_token(phone)}"' in page
            assert "csrf-placeholder" not in page and "jitter-placeholder" not in page
            assert f'"X-CSRF-Token": "{csrf_token(phone)}"' in page
            assert "0 of 1 seats taken" in text_of(page)
        # The whole page is shared too, yet each copy waits a delay of its own before a
        # live refetch, so that a change does not bring every phone back at once.
        delays = {re.findall(r"delay:(\d+)ms", client.get(wall).text)[0] for _ in range(12)}
        assert len(delays) > 1
        post_form(client, f"/e/{event.join_code}/topics/{tiny.id}/sign-up", {})
        post_form(second, f"/e/{event.join_code}/topics/{tiny.id}/waitlist", {})
        first_sees = text_of(client.get(wall).text)
        second_sees = text_of(second.get(wall).text)
        third_sees = text_of(third.get(wall).text)
        assert "1 of 1 seats taken · 1 waiting" in third_sees
        assert "You have a seat here" in first_sees and "waitlist." not in first_sees
        assert "You are number 1 on the waitlist" in second_sees
        assert "You have a seat here" not in second_sees + third_sees
        assert "Join the waitlist" in third_sees
        third_page = third.get(wall).text
        assert f'name="csrf_token" value="{csrf_token(third)}"' in third_page
        assert csrf_token(second) not in third_page


def test_announcements_and_the_pitch_queue_refuse_bad_input_with_a_reason(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event, slot, _booth, hall = day
    owner = _team_member(make, event, Role.facilitator)
    log_in(client, owner.email)
    base = f"/facilitate/{event.id}"
    empty = post_form(client, f"{base}/announcements", {"text": "   "})
    assert empty.status_code == 422
    assert 'aria-invalid="true"' in empty.text
    long_text = "Room 3 has moved " * 20
    too_long = post_form(client, f"{base}/announcements", {"text": long_text})
    assert too_long.status_code == 422 and long_text.strip() in too_long.text  # text kept
    assert post_form(client, f"{base}/projector", {"view": "disco"}).status_code == 409
    assert post_form(client, f"{base}/pitches/length", {"seconds": "5"}).status_code == 409
    assert post_form(client, f"{base}/pitches/pause", {}).status_code == 409  # nobody pitching

    # A participant cannot queue someone else's topic, nor before the marketplace opens.
    topic = placed_topic(make, event, slot, hall, "Someone else's")
    _join(client, event, "Not the convener")
    refused = post_form(client, f"/e/{event.join_code}/topics/{topic.id}/pitch", {})
    assert refused.status_code == 409
    assert "The pitch queue opens when proposing topics starts." in refused.text
    _open(database, event)
    page = f"/e/{event.join_code}/topics/{topic.id}"
    refused = post_form(client, f"{page}/pitch", {"next": page})
    assert "Only the topic&#39;s conveners can pitch it." in refused.text


def test_every_round_is_on_the_wall_for_everyone_again_and_again(
    client: TestClient, make: Factory
) -> None:
    """Each slot's part is drawn once and shared; a phone with no seat anywhere must still
    get each round, not one round's part for all of them (a bug found by trying it)."""
    event = make.event()
    garden = make.space(event, "Garden", 10)
    rounds = [make.slot(event, time(h), time(h, 50)) for h in (10, 11, 12)]
    for number, slot in enumerate(rounds, 1):
        placed_topic(make, event, slot, garden, f"Topic of round {number}")
    for name in ("First phone", "Second phone"):
        phone = TestClient(client.app)
        post_form(phone, f"/e/{event.join_code}/join", {"display_name": name})
        for _ in range(2):  # drawn, then from the shared copies
            wall = phone.get(f"/e/{event.join_code}/wall").text
            sections = re.findall(r'<section class="panel slot" id="slot-(\d+)"', wall)
            assert sections == [str(slot.id) for slot in rounds], name
            for number in (1, 2, 3):
                assert wall.count(f"Topic of round {number}") >= 1, (name, number)


def test_a_room_or_topic_that_is_not_there_is_not_found(
    client: TestClient, day: tuple[Event, Slot, Space, Space]
) -> None:
    """A room sign's QR code for a removed room, or a link to a merged topic: 404 with why."""
    event = day[0]
    _join(client, event)
    room = client.get(f"/e/{event.join_code}/spaces/{day[3].id + 1000}")
    assert room.status_code == 404 and "No such space" in text_of(room.text)
    topic = client.get(f"/e/{event.join_code}/topics/{day[3].id + 1000}")
    assert topic.status_code == 404 and "merged or removed" in text_of(topic.text)


def test_a_tap_on_a_topic_taken_off_the_wall_meanwhile_says_why(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    """The topic page was open when the facilitator hid the topic: its page is gone (404),
    and a tap on its button says why in the status line (it once answered 500, then 409)."""
    event, slot, _booth, hall = day
    topic = placed_topic(make, event, slot, hall, "Walking buses")
    _join(client, event)
    with database.write() as session:
        marketplace.set_hidden(session, session.get(Topic, topic.id), True)
    page = client.get(f"/e/{event.join_code}/topics/{topic.id}")
    assert page.status_code == 404 and "taken off the wall" in text_of(page.text)
    for topic_id in (topic.id, topic.id + 1000):
        tap = post_form(
            client,
            f"/e/{event.join_code}/topics/{topic_id}/sign-up",
            {"fragment": "status", "fragment_id": str(topic_id)},
            headers=HX,
        )
        assert tap.status_code == 404  # type: ignore[attr-defined]
        assert tap.headers["HX-Retarget"] == "#connection"  # type: ignore[attr-defined]
        assert "taken off the wall" in tap.text or "no such topic" in tap.text  # type: ignore[attr-defined]
    assert count(database, SignUp) == 0


def test_without_javascript_a_leave_says_so_at_the_top_of_the_page_it_returns_to(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space]
) -> None:
    event, slot, _booth, hall = day
    topic = placed_topic(make, event, slot, hall, "Cost of living")
    _join(client, event)
    taps = f"/e/{event.join_code}/topics/{topic.id}"
    post_form(client, f"{taps}/sign-up", {})
    for back in (f"/e/{event.join_code}/wall", taps):
        post_form(client, f"{taps}/sign-up", {})
        left = post_form(client, f"{taps}/leave", {"next": back})
        assert left.status_code == 303
        page = client.get(left.headers["location"]).text
        assert "You left “Cost of living”." in text_of(page)  # far from it, it is named
        assert "You have a seat here" not in text_of(page)
        if back.endswith("/wall"):  # with a link down to the session
            assert f'<a href="#topic-{topic.id}">Go to the session</a>' in page
    # Only what the app itself says is shown, whatever the address holds.
    odd = client.get(f"/e/{event.join_code}/wall?done=<b>hi</b>&at=javascript:x").text
    assert "<b>hi</b>" not in odd and 'href="#javascript' not in odd
    assert "You left" not in text_of(odd)


def test_without_javascript_a_sign_up_and_the_waitlist_say_so_at_the_top(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space]
) -> None:
    """Back at the top of a long wall after a tap, the person reads what the tap did."""
    event, slot, _booth, hall = day
    topic = placed_topic(make, event, slot, hall, "Warm spaces")
    _join(client, event)
    taps, wall = f"/e/{event.join_code}/topics/{topic.id}", f"/e/{event.join_code}/wall"
    said = {
        "sign-up": "You have a seat in “Warm spaces”.",
        "leave": "You left “Warm spaces”.",
    }
    for action, words in said.items():
        tapped = post_form(client, f"{taps}/{action}", {"next": wall})
        page = client.get(tapped.headers["location"]).text  # type: ignore[attr-defined]
        assert words in text_of(page)
        assert f'<a href="#topic-{topic.id}">Go to the session</a>' in page


def test_a_merge_across_times_warns_and_names_who_keeps_a_seat_and_who_waits(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    """Merging a 10:45 duplicate into a 14:00 topic moves its people to 14:00: the preview
    says so, and names who then has a seat and who waits (busy at 14:00) — and the merge does
    exactly that."""
    event, morning, _booth, hall = day
    afternoon = make.slot(event, time(14, 0), time(15, 0))
    keep = placed_topic(make, event, afternoon, hall, "Housing damp")
    dup = placed_topic(make, event, morning, hall, "Damp homes")
    other = placed_topic(make, event, afternoon, _booth, "Bus passes")
    free, busy = make.participant(event, "Ada Free"), make.participant(event, "Bea Busy")
    with database.write() as session:
        for person in (free, busy):
            signups.sign_up(session, event, session.get_one(Topic, dup.id), person)
        signups.sign_up(session, event, session.get_one(Topic, other.id), busy)
    owner = _team_member(make, event, Role.facilitator)
    log_in(client, owner.email)
    base = f"/facilitate/{event.id}"
    pair = {"keep": str(keep.id), "duplicate": str(dup.id)}
    preview = text_of(post_form(client, f"{base}/topics/merge", pair).text)
    assert "They are at different times:" in preview and "Its people move to 14:00" in preview
    assert "1 person will have a seat in “Housing damp” Ada Free" in preview
    assert "1 person will wait for a seat" in preview and "Bea Busy" in preview
    with database.read() as session:  # the preview changed nothing
        assert not session.get_one(Topic, dup.id).hidden
        assert signups.seats_taken(session, keep.id or 0) == 0
        version = session.get_one(Event, event.id).agenda_version
    post_form(client, f"{base}/topics/merge", {**pair, "confirm": "1"})
    with database.read() as session:
        seated = session.exec(select(SignUp.participant_id).where(SignUp.topic_id == keep.id))
        assert set(seated) == {free.id}
        waiting = session.exec(
            select(WaitlistEntry.participant_id).where(WaitlistEntry.topic_id == keep.id)
        )
        assert list(waiting) == [busy.id]
        assert session.get_one(Event, event.id).agenda_version > version


def _slot_that_ended_an_hour_ago(database: Database, event: Event) -> Slot:
    with database.write() as session:
        past = Slot(
            event_id=event.id or 0,
            starts_at=utcnow() - timedelta(hours=2),
            ends_at=utcnow() - timedelta(hours=1),
        )
        session.add(past)
    return past


def test_a_session_that_has_ended_offers_no_sign_up(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event, slot, booth, hall = day
    past = _slot_that_ended_an_hour_ago(database, event)
    topics = (
        placed_topic(make, event, past, hall, "Earlier today"),
        placed_topic(make, event, slot, booth, "Later today"),
    )
    _join(client, event)
    wall = client.get(f"/e/{event.join_code}/wall").text
    earlier, later = (
        re.search(rf'<li class="session[^"]*" id="topic-{topic.id}">.*?</li>', wall, re.S)
        for topic in topics
    )
    assert earlier is not None and later is not None
    assert "This session has already ended." in text_of(earlier.group())
    assert "Sign up" not in earlier.group() and "Sign up" in later.group()
    # Nor interest: it helps choose a room, and there is none left to choose.
    listed = client.get(f"/e/{event.join_code}/topics").text
    ended_card, later_card = (
        re.search(rf'<article class="card[^"]*" id="topic-{topic.id}">.*?</article>', listed, re.S)
        for topic in topics
    )
    assert ended_card is not None and later_card is not None
    assert "already ended" in ended_card.group() and '/interest"' not in ended_card.group()
    assert '/interest"' in later_card.group() and "I’m interested" in later_card.group()
    # What has ended goes last, folded away: what is on now and next comes first.
    assert wall.index("Later today") < wall.index("Earlier today")
    folded = wall.split('<details class="ended-slots">', 1)[1].split("</details>")[0]
    assert "1 time slot has ended" in text_of(folded)
    assert "Earlier today" in folded and "Later today" not in folded
    # The slots are on two days (the event's day is ahead): each says which.
    heading = re.search(rf'id="slot-{slot.id}-h">(.*?)</h2>', wall)
    assert heading is not None
    assert re.match(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}, 10:45", text_of(heading.group(1)))
    # My agenda invites a choice only for what is still to come.
    agenda = client.get(f"/e/{event.join_code}").text
    assert f"wall#slot-{slot.id}" in agenda and f"wall#slot-{past.id}" not in agenda


def test_waiting_with_a_seat_elsewhere_in_the_slot_says_the_seat_will_go(
    app: object, client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space]
) -> None:
    event, slot, booth, hall = day
    tiny = placed_topic(make, event, slot, booth, "Tiny")
    big = placed_topic(make, event, slot, hall, "Big")
    _join(client, event, "First")
    post_form(client, f"/e/{event.join_code}/topics/{tiny.id}/sign-up", {})
    with TestClient(app, follow_redirects=False) as second:  # type: ignore[arg-type]
        _join(second, event, "Second")
        post_form(second, f"/e/{event.join_code}/topics/{tiny.id}/waitlist", {})
        alone = text_of(second.get(f"/e/{event.join_code}/wall").text)
        post_form(second, f"/e/{event.join_code}/topics/{big.id}/sign-up", {})
        seated = text_of(second.get(f"/e/{event.join_code}/wall").text)
    warning = "you will be moved here from your other session at this time"
    assert "You are number 1 on the waitlist" in alone and warning not in alone
    assert "You are number 1 on the waitlist" in seated and warning in seated


def test_a_seat_that_came_free_from_the_waitlist_is_news_until_seen(
    app: object, client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space]
) -> None:
    """Promoted while looking elsewhere: the wall and the event's page say so until they
    say they saw it; whoever took a seat themselves is told nothing of the kind."""
    event, slot, booth, hall = day
    tiny = placed_topic(make, event, slot, booth, "Tiny")
    big = placed_topic(make, event, slot, hall, "Big")
    home, wall = f"/e/{event.join_code}", f"/e/{event.join_code}/wall"
    news = "A seat came free for you: you are now in Tiny , 10:45, Booth."
    _join(client, event, "First")
    assert post_form(client, f"{home}/topics/{tiny.id}/sign-up", {}).status_code == 303
    with TestClient(app, follow_redirects=False) as second:  # type: ignore[arg-type]
        _join(second, event, "Second")
        assert post_form(second, f"{home}/topics/{tiny.id}/waitlist", {}).status_code == 303
        assert news not in text_of(second.get(wall).text)
        assert post_form(client, f"{home}/topics/{big.id}/sign-up", {}).status_code == 303
        for page in (wall, home):
            assert news in text_of(second.get(page).text)
        # With htmx the live part alone comes; the first person, who chose, hears nothing.
        part = second.get(f"{home}/seat-news", headers=HX)
        assert news in text_of(part.text) and 'id="seat-news"' not in part.text
        assert news not in text_of(client.get(wall).text)
        assert "A seat came free" not in client.get(f"{home}/seat-news", headers=HX).text
        # Without JavaScript "Got it" goes back to the page it was on, now without the news.
        seen = post_form(second, f"{home}/seat-news/seen", {"next": wall})
        assert seen.status_code == 303 and seen.headers["location"] == wall
        for page in (wall, home):
            assert news not in text_of(second.get(page).text)
        assert "You have a seat here" in second.get(f"{home}/topics/{tiny.id}").text
        # And it stays seen: a second tap, or one from another page, changes nothing.
        again = post_form(second, f"{home}/seat-news/seen", {"next": "https://elsewhere.example"})
        assert again.status_code == 303 and again.headers["location"] == home


def test_the_wall_shows_the_plenaries_in_their_place_in_the_day(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    """Opening and closing circles are on the wall where they fall, with nothing to sign up
    to; the breakout between them is as it was."""
    event, slot, _booth, hall = day
    with database.write() as session:
        for start, end, title in (
            (time(9, 0), time(9, 30), "Opening circle"),
            (time(16, 0), time(16, 30), "Closing circle"),
        ):
            event_service.add_slot(
                session,
                session.get(Event, event.id),
                SlotCreate(
                    starts_at=datetime.combine(event.starts_on, start),
                    ends_at=datetime.combine(event.starts_on, end),
                    kind=SlotKind.plenary,
                    title=title,
                ),
            )
    topic = placed_topic(make, event, slot, hall, "Bike lanes")
    _join(client, event)
    for page in (
        client.get(f"/e/{event.join_code}/wall"),
        client.get(f"/e/{event.join_code}/wall/slots", headers=HX),
    ):
        text = text_of(page.text)
        in_order = ("09:00 –09:30 · Opening circle", "Bike lanes", "16:00 –16:30 · Closing circle")
        opening, breakout, closing = (text.index(s) for s in in_order)
        assert opening < breakout < closing, text
        assert text.count("Everyone together: nothing to choose.") == 2
    assert (
        post_form(client, f"/e/{event.join_code}/topics/{topic.id}/sign-up", {}).status_code == 303
    )


def test_my_agenda_says_where_i_convene_my_own_session(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    """A convener runs their session: their agenda, on the phone and in the calendar, says
    so at that time instead of "No session chosen"."""
    event, slot, _booth, hall = day
    _join(client, event, "Nadia")
    with database.write() as session:
        nadia = session.exec(select(Participant).where(Participant.display_name == "Nadia")).one()
        topic = marketplace.propose_topic(
            session, event, nadia, TopicCreate(title="Bike lanes"), at_the_desk=True
        )
        wall.move_by_facilitator(session, event, topic, slot.id, hall.id)
    home = text_of(client.get(f"/e/{event.join_code}").text)
    assert "You convene Bike lanes · Hall" in home
    assert "No session chosen" not in home
    calendar = client.get(f"/e/{event.join_code}/agenda.ics").text
    assert "SUMMARY:Bike lanes" in calendar and "LOCATION:Hall" in calendar


def test_slots_on_several_days_say_their_day_and_my_agenda_says_what_has_ended(
    client: TestClient, make: Factory, day: tuple[Event, Slot, Space, Space], database: Database
) -> None:
    event, slot, _booth, hall = day
    _slot_that_ended_an_hour_ago(database, event)
    topic = placed_topic(make, event, slot, hall, "Later on")
    _join(client, event)
    day_and_time = r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}, 10:45"
    agenda = client.get(f"/e/{event.join_code}").text
    rows = re.findall(r'<p class="slot-time">(.*?)</p>', agenda, re.S)
    assert len(rows) == 2 and "has ended" in text_of(rows[0]) and "has ended" not in rows[1]
    assert re.match(day_and_time, text_of(rows[1]))
    card = client.get(f"/e/{event.join_code}/topics").text.split(f'id="topic-{topic.id}"')[1]
    assert re.search(day_and_time + " · Hall", text_of(card.split("</article>")[0]))
    # A long wall: the slots still to come are a tap away at its top (not the one ended).
    afternoon = make.slot(event, time(14, 0), time(15, 0))
    jump = client.get(f"/e/{event.join_code}/wall").text.split('class="slot-jump"')[1]
    links = re.findall(r'<a href="#slot-(\d+)">(.*?)</a>', jump.split("</nav>")[0])
    assert [int(n) for n, _ in links] == [slot.id, afternoon.id]
    assert re.match(day_and_time, links[0][1]) and links[1][1].endswith(", 14:00")
