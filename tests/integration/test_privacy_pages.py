"""People's data from the browser: a participant (and an action's owner, by their update link)
sees, takes and erases what is kept about them; nobody else can."""

import json
from datetime import date, time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from app.db import Database
from app.models import Action, AuditEntry, Contribution, Event, Organiser, Participant, Topic
from app.models.agenda import TopicCreate
from app.models.outcomes import ActionForm, ActionStatus, ContributionCreate
from app.models.privacy import ERASED_NAME, Erasure, ErasureMode
from app.security import LinkSigner
from app.services import actions, contributions, marketplace, wall
from app.web.participant.outcomes import update_path
from tests.conftest import log_in, phone_in, post_form, text_of
from tests.factories import Factory

NAME = "Zebedee Quixote"


def _joined_with_topic(
    app: FastAPI, phones: list[TestClient], make: Factory
) -> tuple[Event, TestClient, Participant]:
    return _joined_with_topic_by(app, phones, make, make.organiser())


def _joined_with_topic_by(
    app: FastAPI, phones: list[TestClient], make: Factory, organiser: Organiser
) -> tuple[Event, TestClient, Participant]:
    event = make.event(organiser, starts_on=date(2027, 5, 4))
    slot = make.slot(event, time(10), time(11))
    room = make.space(event)
    browser = phone_in(app, phones, event, NAME)
    with make.database.write() as session:
        person = session.exec(select(Participant).where(Participant.display_name == NAME)).one()
        live_event = session.get_one(Event, event.id)
        topic = marketplace.propose_topic(
            session, live_event, person, TopicCreate(title="Buses at night"), at_the_desk=True
        )
        wall.move_by_facilitator(session, live_event, topic, slot.id, room.id)
        contributions.contribute(
            session, live_event, topic, person, ContributionCreate(body="Zany point about buses")
        )
    return event, browser, person


def test_my_data_page_and_file_show_what_is_kept_and_nobody_elses(
    app: FastAPI, phones: list[TestClient], make: Factory
) -> None:
    event, browser, _person = _joined_with_topic(app, phones, make)
    phone_in(app, phones, event, "Amira Hussain")
    page = browser.get(f"/e/{event.join_code}/my-data")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert NAME in shown and "Buses at night" in shown and "Zany point about buses" in shown
    assert "Amira" not in shown
    home = browser.get(f"/e/{event.join_code}")
    assert f'href="/e/{event.join_code}/my-data"' in home.text
    download = browser.get(f"/e/{event.join_code}/my-data.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    data = json.loads(download.content)
    assert data["you"]["name"] == NAME
    assert [c["text"] for c in data["contributions"]] == ["Zany point about buses"]
    assert "Amira" not in download.text


def test_someone_who_has_not_joined_this_event_sees_no_ones_data(
    app: FastAPI, phones: list[TestClient], make: Factory, client: TestClient
) -> None:
    event, browser, _person = _joined_with_topic(app, phones, make)
    other_event = make.event()
    for who, code in ((client, event.join_code), (browser, other_event.join_code)):
        for path in ("my-data", "my-data.json", "erase"):
            answer = who.get(f"/e/{code}/{path}")
            assert answer.status_code in (303, 307), path
            assert "/join" in answer.headers["location"]
            assert NAME not in answer.text


def test_erase_me_asks_first_then_erases_and_signs_the_phone_out(
    app: FastAPI, phones: list[TestClient], make: Factory, database: Database
) -> None:
    event, browser, person = _joined_with_topic(app, phones, make)
    watcher = phone_in(app, phones, event, "Amira Hussain")
    assert NAME in watcher.get(f"/e/{event.join_code}/topics").text
    url = f"/e/{event.join_code}/erase"
    assert browser.get(url).status_code == 200
    nothing_chosen = post_form(browser, url, {})
    assert nothing_chosen.status_code == 422  # type: ignore[attr-defined]
    asked = post_form(browser, url, {"mode": "everything"})
    assert asked.status_code == 200  # type: ignore[attr-defined]
    assert "cannot be undone" in asked.text  # type: ignore[attr-defined]
    with database.read() as session:
        assert session.get_one(Participant, person.id).display_name == NAME  # not yet
    done = post_form(browser, url, {"mode": "everything", "confirmed": "yes"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"].startswith(f"/e/{event.join_code}/erased")  # type: ignore[attr-defined]
    assert browser.get(done.headers["location"]).status_code == 200  # type: ignore[attr-defined]
    assert browser.get(f"/e/{event.join_code}/my-data").status_code in (303, 307)
    # The phone still on the wall: its live updates stop, and what it sends is nobody's.
    assert browser.get(f"/e/{event.join_code}/live").status_code == 204
    with database.read() as session:
        topic_id = session.exec(select(Topic.id)).first()
    late = post_form(
        browser,
        f"/e/{event.join_code}/reports/{topic_id}/contributions",
        {"kind": "key_point", "body": "Written after erasure"},
    )
    assert late.status_code in (303, 307)  # type: ignore[attr-defined]
    assert "/join" in late.headers["location"]  # type: ignore[attr-defined]
    with database.read() as session:
        assert session.get_one(Participant, person.id).display_name == ERASED_NAME
        assert session.exec(select(Contribution)).all() == []
        log = session.exec(select(Erasure)).one()
        assert log.mode == ErasureMode.everything
    # The wall other phones see (drawn once and shared) is drawn again without the name.
    topics = watcher.get(f"/e/{event.join_code}/topics").text
    assert NAME not in topics and "Buses at night" in topics


def test_an_action_owner_sees_and_erases_their_data_from_the_update_link(
    app: FastAPI, phones: list[TestClient], make: Factory, database: Database, client: TestClient
) -> None:
    event, _browser, person = _joined_with_topic(app, phones, make)
    with database.write() as session:
        topic = session.exec(select(Topic)).one()
        action = actions.add_action(
            session,
            session.get_one(Event, event.id),
            topic,
            person,
            ActionForm(title="Free bus passes", status=ActionStatus.agreed),
            owner_id=person.id,
        )
        link = update_path(LinkSigner(app.state.settings.secret_key), action)
    page = client.get(f"{link}/my-data")
    assert page.status_code == 200
    assert NAME in page.text and "Free bus passes" in page.text
    assert json.loads(client.get(f"{link}/my-data.json").content)["you"]["name"] == NAME
    assert post_form(client, f"{link}/erase", {"mode": "name_off"}).status_code == 200  # type: ignore[attr-defined]
    done = post_form(client, f"{link}/erase", {"mode": "name_off", "confirmed": "on"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    with database.read() as session:
        assert session.get_one(Participant, person.id).display_name == ERASED_NAME
        assert session.get_one(Action, action.id).title == "Free bus passes"
    assert client.get(f"{link}/my-data").status_code == 404


def test_a_link_for_an_action_with_a_typed_owner_shows_no_ones_data(
    app: FastAPI, phones: list[TestClient], make: Factory, database: Database, client: TestClient
) -> None:
    event, _browser, person = _joined_with_topic(app, phones, make)
    with database.write() as session:
        topic = session.exec(select(Topic)).one()
        action = actions.add_action(
            session,
            session.get_one(Event, event.id),
            topic,
            person,
            ActionForm(title="Night routes", owner_name="The council"),
        )
        link = update_path(LinkSigner(app.state.settings.secret_key), action)
    assert client.get(f"{link}/my-data").status_code == 404
    assert NAME not in client.get(f"{link}/my-data").text


# --- the organiser ------------------------------------------------------------------------------


def test_an_organiser_finds_exports_and_erases_a_person_with_the_reason_in_the_audit_log(
    app: FastAPI, phones: list[TestClient], make: Factory, database: Database, client: TestClient
) -> None:
    organiser = make.organiser()
    event, _browser, person = _joined_with_topic_by(app, phones, make, organiser)
    log_in(client, organiser.email)
    people = f"/organiser/events/{event.id}/people"
    found = client.get(people, params={"q": "quix"})
    assert found.status_code == 200
    page_url = f"{people}/{person.id}"
    assert f'href="{page_url}"' in found.text
    assert NAME in client.get(page_url).text
    exported = client.get(f"{page_url}/data.json")
    assert exported.status_code == 200
    assert json.loads(exported.content)["you"]["name"] == NAME
    unconfirmed = post_form(
        client, f"{page_url}/erase", {"mode": "name_off", "reason": f"{NAME} asked by phone"}
    )
    assert unconfirmed.status_code == 422  # type: ignore[attr-defined]
    with database.read() as session:
        assert session.get_one(Participant, person.id).display_name == NAME
    done = post_form(
        client,
        f"{page_url}/erase",
        {"mode": "name_off", "reason": f"{NAME} asked by phone", "confirmed": "on"},
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    with database.read() as session:
        assert session.get_one(Participant, person.id).display_name == ERASED_NAME
        erasure = session.exec(select(Erasure)).one()
        assert erasure.asked_by == "organiser"
        lines = session.exec(select(AuditEntry).where(AuditEntry.event_id == event.id)).all()
    erasing = [line for line in lines if "erase" in line.action]
    assert erasing and "asked by phone" in erasing[0].target
    assert all(NAME not in line.target for line in lines)
    assert any("Export one person" in line.action for line in lines)
    log = client.get(people).text
    assert "by an organiser" in log and NAME not in log


def test_only_the_events_organisers_reach_its_people(
    app: FastAPI, phones: list[TestClient], make: Factory, client: TestClient
) -> None:
    event, _browser, person = _joined_with_topic(app, phones, make)
    stranger = make.organiser()
    log_in(client, stranger.email)
    for path in ("people", f"people/{person.id}", f"people/{person.id}/data.json", "privacy"):
        assert client.get(f"/organiser/events/{event.id}/{path}").status_code == 403, path
    answer = post_form(
        client,
        f"/organiser/events/{event.id}/people/{person.id}/erase",
        {"mode": "everything", "reason": "no", "confirmed": "on"},
    )
    assert answer.status_code == 403  # type: ignore[attr-defined]


def test_the_privacy_notice_is_set_per_event_and_linked_before_joining(
    make: Factory, client: TestClient
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    join = client.get(f"/e/{event.join_code}/join").text
    assert f'href="/e/{event.join_code}/privacy"' in join
    assert "12 months" in text_of(join)
    notice = text_of(client.get(f"/e/{event.join_code}/privacy").text)
    assert "12 months" in notice and organiser.name in notice
    log_in(client, organiser.email)
    url = f"/organiser/events/{event.id}/privacy"
    assert "still open" not in client.get(url).text
    refused = post_form(client, url, {"retention_months": "0"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    saved = post_form(
        client,
        url,
        {
            "controller": "Leeds Health Partnership",
            "contact": "dpo@leeds.example",
            "notice": "",
            "retention_months": "6",
        },
    )
    assert saved.status_code == 303  # type: ignore[attr-defined]
    notice = text_of(client.get(f"/e/{event.join_code}/privacy").text)
    assert "Leeds Health Partnership" in notice and "dpo@leeds.example" in notice
    assert "6 months" in notice


def test_the_convener_is_told_when_an_action_loses_its_owner_to_erasure(
    app: FastAPI, phones: list[TestClient], make: Factory, database: Database
) -> None:
    event, browser, person = _joined_with_topic(app, phones, make)
    convener_phone = phone_in(app, phones, event, "Amira Hussain")
    hall = make.space(event, "Hall")
    with database.write() as session:
        live_event = session.get_one(Event, event.id)
        convener = session.exec(
            select(Participant).where(Participant.display_name == "Amira Hussain")
        ).one()
        slot_id = session.exec(select(Topic.slot_id)).one()
        theirs = marketplace.propose_topic(
            session, live_event, convener, TopicCreate(title="Housing"), at_the_desk=True
        )
        wall.move_by_facilitator(session, live_event, theirs, slot_id, hall.id)
        actions.add_action(
            session,
            live_event,
            theirs,
            convener,
            ActionForm(title="Ask the landlords", status=ActionStatus.agreed),
            owner_id=person.id,
        )
    before = text_of(convener_phone.get(f"/e/{event.join_code}").text)
    assert "no owner any more" not in before
    done = post_form(
        browser, f"/e/{event.join_code}/erase", {"mode": "everything", "confirmed": "yes"}
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    home = text_of(convener_phone.get(f"/e/{event.join_code}").text)
    assert "Housing" in home and "has no owner any more" in home
    with database.read() as session:
        action = session.exec(select(Action)).one()
        assert action.owner_id is None and action.title == "Ask the landlords"
