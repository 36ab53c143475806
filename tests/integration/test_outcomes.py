"""Reports, actions, dots, pledges and follow-up, as participants, facilitators and organisers
see them through their browsers."""

import re
import threading
from datetime import date, time

import httpx
import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlmodel import Session, select

from app.db import Database
from app.models import (
    Action,
    Contribution,
    ContributionRevision,
    Event,
    Organiser,
    Participant,
    Slot,
    Space,
    Topic,
)
from app.services import marketplace, signups
from tests.conftest import csrf_token, log_in, phone, post_form, text_of
from tests.factories import Factory, count, placed_topic


@pytest.fixture
def session_day(make: Factory) -> tuple[Event, Slot, Space, Topic]:
    event = make.event(starts_on=date(2027, 8, 31))
    slot = make.slot(event, time(10, 45), time(11, 45))
    space = make.space(event, "Garden room", 30)
    return event, slot, space, placed_topic(make, event, slot, space, "Warm spaces")


def _join(client: TestClient, event: Event, name: str) -> None:
    response = post_form(client, f"/e/{event.join_code}/join", {"display_name": name})
    assert response.status_code == 303  # type: ignore[attr-defined]


def _write(
    client: TestClient, event: Event, topic: Topic, body: str, **extra: str
) -> httpx.Response:
    return post_form(  # type: ignore[return-value]
        client,
        f"/e/{event.join_code}/reports/{topic.id}/contributions",
        {"kind": "key_point", "body": body, **extra},
    )


def _second_browser(client: TestClient) -> TestClient:
    return TestClient(client.app, follow_redirects=False)


def test_contributions_show_who_wrote_them_and_a_double_tap_adds_once(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Zofia Wiśniewska")
    page = client.get(f"/e/{event.join_code}/reports/{topic.id}")
    assert page.status_code == 200
    key = re.search(r'name="write_key" value="([^"]+)"', page.text)
    assert key is not None
    for _ in range(2):
        assert (
            _write(
                client, event, topic, "Libraries can host warm spaces", write_key=key[1]
            ).status_code
            == 303
        )
    assert count(database, Contribution) == 1
    # The next line, written on the same page (the form keeps its key), is a line of its own.
    assert _write(client, event, topic, "So can churches", write_key=key[1]).status_code == 303
    assert count(database, Contribution) == 2
    text = text_of(client.get(f"/e/{event.join_code}/reports/{topic.id}").text)
    assert "Libraries can host warm spaces — Zofia Wiśniewska" in text
    assert "So can churches — Zofia Wiśniewska" in text
    # Writing to the report counts as having taken part.
    assert "Who took part (1)" in text


def test_empty_or_overlong_contribution_is_refused_next_to_the_field_text_kept(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Sam")
    empty = _write(client, event, topic, "   ")
    assert empty.status_code == 422
    assert "Please fill this in." in empty.text
    long_text = "Ünïcode " * 600
    too_long = _write(client, event, topic, long_text)
    assert too_long.status_code == 422
    assert "4000 characters or fewer" in too_long.text
    assert long_text.strip()[:200] in too_long.text
    assert count(database, Contribution) == 0


def test_only_the_author_edits_and_a_stale_edit_never_writes_over_a_newer_one(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    _write(client, event, topic, "First words")
    with database.read() as session:
        contribution = session.exec(select(Contribution)).one()
    edit_url = f"/e/{event.join_code}/contributions/{contribution.id}/edit"

    with _second_browser(client) as other:
        _join(other, event, "Bogdan")
        refused = post_form(other, edit_url, {"body": "Bogdan was here", "version": "1"})
        assert refused.status_code == 409  # type: ignore[attr-defined]
        assert "only edit what you wrote yourself" in refused.text  # type: ignore[attr-defined]

    first = post_form(client, edit_url, {"body": "Better words", "version": "1"})
    assert first.status_code == 303  # type: ignore[attr-defined]
    # The same form sent again from a tab opened before that edit: refused, both texts shown.
    stale = post_form(client, edit_url, {"body": "Words from an old tab", "version": "1"})
    assert stale.status_code == 409  # type: ignore[attr-defined]
    page = text_of(stale.text)  # type: ignore[attr-defined]
    assert "Someone changed this while you were editing" in page
    assert "Better words" in page and "Words from an old tab" in page
    with database.read() as session:
        stored = session.get_one(Contribution, contribution.id)
        revisions = session.exec(select(ContributionRevision)).all()
    assert stored.body == "Better words" and stored.version == 2
    assert [r.body for r in revisions] == ["First words"]
    history = text_of(client.get(edit_url).text)
    assert "Earlier versions" in history and "First words" in history
    assert "edited 1 time" in text_of(client.get(f"/e/{event.join_code}/reports/{topic.id}").text)


def test_a_facilitator_hides_a_contribution_from_everyone(
    client: TestClient,
    session_day: tuple[Event, Slot, Space, Topic],
    database: Database,
    make: Factory,
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    _write(client, event, topic, "Something unkind about a person")
    with database.read() as session:
        contribution = session.exec(select(Contribution)).one()
        organiser = session.exec(select(Organiser)).one()
    with _second_browser(client) as desk:
        log_in(desk, organiser.email)
        hidden = post_form(
            desk,
            f"/facilitate/{event.id}/contributions/{contribution.id}/hide",
            {"hidden": "1", "topic_id": str(topic.id)},
        )
        assert hidden.status_code == 303  # type: ignore[attr-defined]
        assert "hidden" in text_of(desk.get(f"/facilitate/{event.id}/reports/{topic.id}").text)
    page = text_of(client.get(f"/e/{event.join_code}/reports/{topic.id}").text)
    assert "Something unkind" not in page
    # A participant cannot hide anything.
    assert post_form(
        client, f"/facilitate/{event.id}/contributions/{contribution.id}/hide", {"hidden": "0"}
    ).status_code in (303, 403)  # type: ignore[attr-defined]
    with database.read() as session:
        assert session.get_one(Contribution, contribution.id).hidden


def test_who_took_part_starts_from_the_sign_ups_and_can_be_corrected(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], make: Factory
) -> None:
    event, _, _, topic = session_day
    seated = make.participant(event, "Seated Person")
    with make.database.write() as session:
        signups.sign_up(session, event, session.get_one(Topic, topic.id), seated)
    _join(client, event, "Amira")
    with make.database.write() as session:
        marketplace.co_convene(session, session.get_one(Topic, topic.id), _me(session, "Amira"))
    url = f"/e/{event.join_code}/reports/{topic.id}"
    assert "Seated Person" in text_of(client.get(url).text)
    post_form(
        client,
        f"{url}/people/take-off",
        {"participant_id": str(seated.id), "confirm": "1"},
    )
    post_form(client, f"{url}/people", {"name": "Mr Khan from the library"})
    text = text_of(client.get(url).text)
    assert "Take off Seated Person" not in text and "Seated Person taken off by Amira" in text
    assert "Mr Khan from the library (added by name)" in text
    empty = post_form(client, f"{url}/people", {"name": "  "})
    assert empty.status_code == 422 and "type the person" in empty.text  # type: ignore[attr-defined]


def test_only_a_convener_marks_the_report_complete_and_it_reaches_the_news_wall(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], make: Factory
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    _write(client, event, topic, "Open the library on Sundays")
    url = f"/e/{event.join_code}/reports/{topic.id}/complete"
    refused = post_form(client, url, {"done": "1"})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "Only the session's conveners" in text_of(refused.text)  # type: ignore[attr-defined]
    assert "No report is complete yet" in client.get(f"/e/{event.join_code}/news").text
    with make.database.write() as session:
        marketplace.co_convene(session, session.get_one(Topic, topic.id), _me(session, "Amira"))
    assert post_form(client, url, {"done": "1"}).status_code == 303  # type: ignore[attr-defined]
    news = text_of(client.get(f"/e/{event.join_code}/news").text)
    assert "Warm spaces" in news and "Open the library on Sundays" in news
    # Still open for additions.
    assert _write(client, event, topic, "Added after completion").status_code == 303


def _me(session: Session, name: str) -> Participant:
    return session.exec(select(Participant).where(Participant.display_name == name)).one()


def test_an_action_with_owner_and_date_is_followed_up_through_its_private_link(
    client: TestClient,
    session_day: tuple[Event, Slot, Space, Topic],
    database: Database,
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    added = post_form(
        client,
        f"/e/{event.join_code}/reports/{topic.id}/actions",
        {
            "title": "Map every warm space in the borough",
            "owner": "",
            "owner_name": "Age UK Lewisham",
            "due_on": "2026-12-01",
            "first_step": "Ask the council for its list",
            "status": "agreed",
        },
    )
    assert added.status_code == 303  # type: ignore[attr-defined]
    report = client.get(added.headers["location"])  # type: ignore[attr-defined]
    assert "Added Map every warm space in the borough" in text_of(report.text)
    action_id = re.search(r'/e/\w+/actions/(\d+)"', report.text)
    assert action_id is not None
    action_page = client.get(f"/e/{event.join_code}/actions/{action_id[1]}")
    text = text_of(action_page.text)
    assert "Age UK Lewisham" in text and "1 December 2026" in text and "Agreed" in text
    link = re.search(r'href="(http[^"]+/a/[^"]+)"', action_page.text)
    assert link is not None
    path = "/a/" + link[1].split("/a/", 1)[1]

    with _second_browser(client) as owner:  # no account, no cookie: only the link
        page = owner.get(path)
        assert page.status_code == 200 and "Map every warm space" in page.text
        assert owner.get(path + "/qr.svg").headers["content-type"].startswith("image/svg")
        posted = post_form(
            owner, path, {"status": "done", "note": "Published the map", "by": "Jan"}
        )
        assert posted.status_code == 303  # type: ignore[attr-defined]
        assert "Published the map" in text_of(owner.get(path).text)

    with database.read() as session:
        organiser = session.exec(select(Organiser)).one()
        assert session.exec(select(Action)).one().status == "done"
    with _second_browser(client) as office:
        log_in(office, organiser.email)
        tracker = text_of(office.get(f"/organiser/events/{event.id}/actions").text)
        assert "Map every warm space in the borough" in tracker and "Done" in tracker
        assert "Published the map" in tracker
        everywhere = text_of(office.get("/organiser/actions").text)
        assert "Map every warm space in the borough" in everywhere

    # Revoking: the old link stops working at once; the new one works.
    assert (
        post_form(client, f"/e/{event.join_code}/actions/{action_id[1]}/renew-link", {}).status_code
        == 303
    )  # type: ignore[attr-defined]
    with _second_browser(client) as owner:
        assert owner.get(path).status_code == 404
        assert "no longer works" in owner.get(path).text
        fresh = re.search(
            r'href="http[^"]+(/a/[^"]+)"',
            client.get(f"/e/{event.join_code}/actions/{action_id[1]}").text,
        )
        assert fresh is not None and owner.get(fresh[1]).status_code == 200


def test_update_links_cannot_be_guessed(client: TestClient) -> None:
    for guess in ("/a/1", "/a/WzEsMV0", "/a/WzEsMV0.forged"):
        assert client.get(guess).status_code == 404


def test_an_action_needs_an_owner_and_a_real_date(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    url = f"/e/{event.join_code}/reports/{topic.id}/actions"
    no_owner = post_form(client, url, {"title": "Do a thing", "owner": "", "status": "proposed"})
    assert no_owner.status_code == 422  # type: ignore[attr-defined]
    assert "Who will do it?" in no_owner.text and 'value="Do a thing"' in no_owner.text  # type: ignore[attr-defined]
    bad_date = post_form(
        client,
        url,
        {"title": "Do a thing", "owner_name": "Me", "due_on": "31/02/2026", "status": "agreed"},
    )
    assert bad_date.status_code == 422 and "Please enter a date like" in bad_date.text  # type: ignore[attr-defined]
    assert count(database, Action) == 0


def test_dots_are_limited_to_what_each_person_has(
    client: TestClient,
    session_day: tuple[Event, Slot, Space, Topic],
    database: Database,
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    post_form(
        client,
        f"/e/{event.join_code}/reports/{topic.id}/actions",
        {"title": "Hold a follow-up meeting", "owner_name": "Council", "status": "agreed"},
    )
    with database.read() as session:
        action = session.exec(select(Action)).one()
        organiser = session.exec(select(Organiser)).one()
    place = f"/e/{event.join_code}/vote/action/{action.id}/place"
    closed = post_form(client, place, {})
    assert closed.status_code == 409 and "not open" in closed.text  # type: ignore[attr-defined]
    with _second_browser(client) as desk:
        log_in(desk, organiser.email)
        post_form(desk, f"/facilitate/{event.id}/vote", {"open": "1", "dots": "2"})
    assert post_form(client, place, {}).status_code == 303  # type: ignore[attr-defined]
    assert post_form(client, place, {}).status_code == 303  # type: ignore[attr-defined]
    third = post_form(client, place, {})
    assert third.status_code == 409  # type: ignore[attr-defined]
    assert "placed all your 2 dots" in third.text  # type: ignore[attr-defined]
    assert "You have 0 of 2 dots left" in text_of(third.text)  # type: ignore[attr-defined]
    assert (
        post_form(client, f"/e/{event.join_code}/vote/action/{action.id}/take", {}).status_code
        == 303
    )  # type: ignore[attr-defined]
    assert "You have 1 of 2 dots left" in text_of(client.get(f"/e/{event.join_code}/vote").text)
    # Once the facilitator closes it, the page says it is over (not that it is yet to open).
    with _second_browser(client) as desk:
        log_in(desk, organiser.email)
        post_form(desk, f"/facilitate/{event.id}/vote", {"open": "0"})
    after = text_of(client.get(f"/e/{event.join_code}/vote").text)
    assert "The dot vote is closed" in after and "not open yet" not in after


def test_the_pledge_reminder_is_a_calendar_file_six_months_after_the_event(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], make: Factory
) -> None:
    event, _, _, _ = session_day
    post_form(
        client,
        f"/e/{event.join_code}/join",
        {"display_name": "Farah Qureshi", "email": "farah@example.org"},
    )
    page = client.get(f"/e/{event.join_code}/pledge")
    assert (
        'value="2028-02-29"' in page.text
    )  # 31 August + 6 months: the end of February (a leap year)
    saved = post_form(
        client,
        f"/e/{event.join_code}/pledge",
        {
            "text": "Ask my tenants what they need before I decide",
            "remind_on": "",
            "may_contact": "1",
        },
    )
    assert saved.status_code == 303  # type: ignore[attr-defined]
    ics = client.get(f"/e/{event.join_code}/pledge.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(ics.content)
    [reminder] = calendar.walk("VEVENT")
    assert reminder.decoded("dtstart") == date(2028, 2, 29)
    assert "Ask my tenants" in str(reminder.get("description"))
    assert calendar.walk("VALARM")

    with _second_browser(client) as other:
        post_form(
            other, f"/e/{event.join_code}/join", {"display_name": "Quiet", "email": "q@example.org"}
        )
        post_form(
            other,
            f"/e/{event.join_code}/pledge",
            {"text": "Listen more", "remind_on": "2028-01-15"},
        )
    with make.database.read() as session:
        organiser = session.exec(select(Organiser)).one()
    with _second_browser(client) as office:
        log_in(office, organiser.email)
        listed = office.get(f"/organiser/events/{event.id}/pledges").text
    assert "farah@example.org" in listed and "may be contacted" in listed
    assert "Listen more" in listed and "q@example.org" not in listed


def test_a_pledge_reminder_before_the_event_is_refused(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic]
) -> None:
    event = session_day[0]
    _join(client, event, "Amira")
    refused = post_form(
        client, f"/e/{event.join_code}/pledge", {"text": "Something", "remind_on": "2020-01-01"}
    )
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "after the event" in refused.text and "Something" in refused.text  # type: ignore[attr-defined]
    assert client.get(f"/e/{event.join_code}/pledge.ics").status_code == 404


def test_fifty_people_writing_to_one_report_at_once_lose_nothing(
    live_server: str, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    writers = 50
    clients = [phone(live_server, event, f"Writer {n}", timeout=60) for n in range(writers)]
    start = threading.Barrier(writers)
    answers: list[int] = [0] * writers

    def write(n: int) -> None:
        browser = clients[n]
        start.wait()
        answers[n] = browser.post(
            f"/e/{event.join_code}/reports/{topic.id}/contributions",
            data={
                "kind": "note",
                "body": f"Note number {n} from writer {n}",
                "csrf_token": browser.cookies["openspace_csrf"],
            },
        ).status_code

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for browser in clients:
        browser.close()
    assert answers == [303] * writers
    with database.read() as session:
        bodies = set(session.exec(select(Contribution.body)))
    assert bodies == {f"Note number {n} from writer {n}" for n in range(writers)}
    reader = phone(live_server, event, "Reader")
    page = text_of(reader.get(f"/e/{event.join_code}/reports/{topic.id}").text)
    reader.close()
    for n in range(writers):
        assert f"Note number {n} from writer {n} — Writer {n}," in page


def test_participants_of_another_event_cannot_open_a_report(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], make: Factory
) -> None:
    topic = session_day[3]
    other = make.event(name="Another day")
    _join(client, other, "Visitor")
    assert client.get(f"/e/{other.join_code}/reports/{topic.id}").status_code == 404
    assert csrf_token(client)


def _action(client: TestClient, event: Event, topic: Topic, title: str) -> str:
    added = post_form(
        client,
        f"/e/{event.join_code}/reports/{topic.id}/actions",
        {"title": title, "owner_name": "The council", "status": "proposed"},
    )
    assert added.status_code == 303  # type: ignore[attr-defined]
    # Back to the report, which names the new action: its page is /actions/<id>.
    action_id = re.search(r"[?&]added=(\d+)", added.headers["location"])  # type: ignore[attr-defined]
    assert action_id is not None
    return f"/e/{event.join_code}/actions/{action_id.group(1)}"


def test_only_the_actions_writer_owner_or_conveners_change_it(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    url = _action(client, event, topic, "Open a warm hub")
    with _second_browser(client) as other:
        _join(other, event, "Stranger")
        page = other.get(url)
        assert page.status_code == 200 and "Open a warm hub" in page.text
        assert "/a/" not in page.text  # no update link for them
        changed = post_form(
            other, url, {"title": "Hijacked", "owner_name": "Me", "status": "dropped"}
        )
        assert changed.status_code == 403  # not theirs to change: 403, whatever the state
        assert "Only who wrote the action" in text_of(changed.text)  # type: ignore[attr-defined]
        progress = post_form(other, f"{url}/progress", {"status": "done", "note": "x"})
        assert progress.status_code == 403  # type: ignore[attr-defined]
        renew = post_form(other, f"{url}/renew-link", {})
        assert renew.status_code == 403  # type: ignore[attr-defined]
    # The edit form starts from the action as it is.
    form = client.get(url).text
    assert 'id="edit-title" name="title" type="text" value="Open a warm hub"' in form
    assert 'id="edit-owner_name" name="owner_name" type="text" value="The council"' in form
    saved = post_form(
        client,
        url,
        {"title": "Open two warm hubs", "owner_name": "The council", "status": "in_progress"},
    )
    assert saved.status_code == 303  # type: ignore[attr-defined]
    with database.read() as session:
        action = session.exec(select(Action)).one()
    assert (action.title, action.status, action.link_version) == (
        "Open two warm hubs",
        "in_progress",
        1,
    )


def test_the_facilitator_groups_related_actions_and_hides_one(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    first = _action(client, event, topic, "Map warm spaces")
    second = _action(client, event, topic, "Translate the map")
    third = _action(client, event, topic, "Something off-topic")
    ids = [url.rsplit("/", 1)[1] for url in (first, second, third)]
    with database.read() as session:
        organiser = session.exec(select(Organiser)).one()
    with _second_browser(client) as desk:
        log_in(desk, organiser.email)
        unnamed = desk.post(
            f"/facilitate/{event.id}/groups",
            data={"actions": ids[:2], "name": "", "csrf_token": csrf_token(desk)},
        )
        assert unnamed.status_code == 422 and "Please fill this in." in unnamed.text
        grouped = desk.post(
            f"/facilitate/{event.id}/groups",
            data={
                "actions": ids[:2],
                "name": "A warm spaces map",
                "initiator": "Bradford Libraries",
                "csrf_token": csrf_token(desk),
            },
        )
        assert grouped.status_code == 303
        outcomes_page = text_of(desk.get(f"/facilitate/{event.id}/outcomes").text)
        assert "A warm spaces map · initiator Bradford Libraries" in outcomes_page
        hidden = post_form(
            desk,
            f"/facilitate/{event.id}/actions/{ids[2]}/hide",
            {"hidden": "1", "topic_id": str(topic.id)},
        )
        assert hidden.status_code == 303  # type: ignore[attr-defined]
    report = text_of(client.get(f"/e/{event.join_code}/reports/{topic.id}").text)
    assert "Map warm spaces" in report and "Something off-topic" not in report
    assert client.get(third).status_code == 409
    assert "A warm spaces map" in text_of(client.get(first).text)


def test_consent_to_contact_needs_an_address_which_the_pledge_page_takes(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event = session_day[0]
    _join(client, event, "No Email")
    url = f"/e/{event.join_code}/pledge"
    refused = post_form(client, url, {"text": "Listen first", "may_contact": "1", "email": ""})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Give an e-mail address" in refused.text and "Listen first" in refused.text  # type: ignore[attr-defined]
    bad = post_form(client, url, {"text": "Listen first", "may_contact": "1", "email": "nope"})
    assert bad.status_code == 422 and "name@example.org" in bad.text  # type: ignore[attr-defined]
    saved = post_form(
        client, url, {"text": "Listen first", "may_contact": "1", "email": "me@example.org"}
    )
    assert saved.status_code == 303  # type: ignore[attr-defined]
    with database.read() as session:
        me = session.exec(select(Participant).where(Participant.display_name == "No Email")).one()
    assert me.email == "me@example.org"


def test_my_actions_lists_what_i_own_and_what_i_wrote_down_for_others(
    client: TestClient, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    _action(client, event, topic, "Ask the council for a list")
    with database.read() as session:
        amira = _me(session, "Amira")
    with _second_browser(client) as other:
        _join(other, event, "Bogdan")
        post_form(
            other,
            f"/e/{event.join_code}/reports/{topic.id}/actions",
            {"title": "Amira writes to the mosque", "owner": str(amira.id), "status": "agreed"},
        )
    text = text_of(client.get(f"/e/{event.join_code}/actions").text)
    own, _, others = text.partition("Actions I wrote down for others")
    assert "Amira writes to the mosque" in own
    assert "Ask the council for a list" in others


def test_two_edits_of_one_contribution_at_once_one_wins_and_nothing_is_lost(
    live_server: str, session_day: tuple[Event, Slot, Space, Topic], database: Database
) -> None:
    event, _, _, topic = session_day
    first = phone(live_server, event, "Two Tabs", timeout=30)
    token = first.cookies["openspace_csrf"]
    first.post(
        f"/e/{event.join_code}/reports/{topic.id}/contributions",
        data={"kind": "note", "body": "Original", "csrf_token": token},
    )
    with database.read() as session:
        contribution = session.exec(select(Contribution)).one()
    second = httpx.Client(base_url=live_server, timeout=30, cookies=dict(first.cookies))
    start = threading.Barrier(2)
    answers: dict[str, int] = {}

    def edit(browser: httpx.Client, body: str) -> None:
        start.wait()
        answers[body] = browser.post(
            f"/e/{event.join_code}/contributions/{contribution.id}/edit",
            data={"body": body, "version": "1", "csrf_token": token},
        ).status_code

    threads = [
        threading.Thread(target=edit, args=(browser, body))
        for browser, body in ((first, "From the phone"), (second, "From the laptop"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.close()
    second.close()
    assert sorted(answers.values()) == [303, 409]
    winner = next(body for body, status in answers.items() if status == 303)
    with database.read() as session:
        stored = session.get_one(Contribution, contribution.id)
        revisions = session.exec(select(ContributionRevision.body)).all()
    assert (stored.body, stored.version) == (winner, 2)
    assert revisions == ["Original"]


def test_an_author_takes_back_what_they_wrote_asked_first_and_can_undo(
    client: TestClient,
    session_day: tuple[Event, Slot, Space, Topic],
    database: Database,
    make: Factory,
) -> None:
    event, _, _, topic = session_day
    _join(client, event, "Amira")
    _write(client, event, topic, "Said in haste")
    with database.read() as session:
        contribution = session.exec(select(Contribution)).one()
        organiser = session.exec(select(Organiser)).one()
    report = f"/e/{event.join_code}/reports/{topic.id}"
    withdraw = f"/e/{event.join_code}/contributions/{contribution.id}/withdraw"
    assert "Take it back" in text_of(
        client.get(f"/e/{event.join_code}/contributions/{contribution.id}/edit").text
    )
    # Someone else cannot take it back.
    with _second_browser(client) as other:
        _join(other, event, "Bogdan")
        refused = post_form(other, withdraw, {"confirm": "1"})
        assert refused.status_code == 409  # type: ignore[attr-defined]
    # Without JavaScript the first press asks; nothing is taken back yet.
    asked = post_form(client, withdraw, {"confirm": "0"})
    assert asked.status_code == 200  # type: ignore[attr-defined]
    assert "Take back what you wrote?" in text_of(asked.text)  # type: ignore[attr-defined]
    assert "Said in haste" in text_of(client.get(report).text)
    done = post_form(client, withdraw, {"confirm": "1"})
    assert done.headers["location"].endswith(f"?withdrawn={contribution.id}#add")  # type: ignore[attr-defined]
    page = client.get(done.headers["location"])  # type: ignore[attr-defined]
    assert "You took back" in text_of(page.text) and "Undo" in text_of(page.text)
    assert "Said in haste" not in text_of(client.get(report).text)
    # The facilitator sees it was taken back by its author, and cannot show it again.
    with _second_browser(client) as desk:
        log_in(desk, organiser.email)
        assert "taken back by its author" in text_of(
            desk.get(f"/facilitate/{event.id}/reports/{topic.id}").text
        )
        shown = post_form(
            desk,
            f"/facilitate/{event.id}/contributions/{contribution.id}/hide",
            {"hidden": "0", "topic_id": str(topic.id)},
        )
        assert shown.status_code >= 400  # type: ignore[attr-defined]
    post_form(client, f"/e/{event.join_code}/contributions/{contribution.id}/put-back", {})
    assert "Said in haste" in text_of(client.get(report).text)
