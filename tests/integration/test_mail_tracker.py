"""The tracker follows the mail: whether each owner is reached, and "remind now" through the
outbox — one message, once a day, however often it is pressed."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Action, Event, Message, Topic
from app.models.mail import MessageKind, Purpose
from app.models.outcomes import ActionForm, ActionStatus
from app.services import actions, mail_sender, outbox
from app.services.mail import Links
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, placed_topic
from tests.mail_sink import MailSink

Clock = Callable[[datetime], None]
LONDON = ZoneInfo("Europe/London")
DUE = date(2027, 9, 1)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def _tracked(make: Factory) -> tuple[Event, dict[str, Action]]:
    """An event whose organiser is tracker@example.org, with actions due on DUE owned by
    someone who asked for mail (two), someone who did not, and an address that bounces."""
    event = make.event(make.organiser("tracker@example.org"), starts_on=date(2027, 5, 4))
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, make.space(event), "Transport")
    people = {
        "asked": make.participant(event, "Ada Asked", "ada@example.org"),
        "silent": make.participant(event, "Sam Silent", "sam@example.org"),
        "gone": make.participant(event, "Gus Gone", "gone@example.org"),
    }
    made = {}
    with make.database.write() as session:
        for who in ("asked", "gone"):
            person_id = people[who].id
            assert person_id is not None
            outbox.set_consent(session, person_id, Purpose.actions, True)
        for title, who in (
            ("Bus passes", "asked"),
            ("Night buses", "asked"),
            ("Cycle lanes", "silent"),
            ("Ring the council", "gone"),
        ):
            made[title] = actions.add_action(
                session,
                event,
                session.get_one(Topic, topic.id),
                people[who],
                ActionForm(title=title, due_on=DUE, status=ActionStatus.agreed),
                owner_id=people[who].id,
            )
    return event, made


def _row(page: str, title: str) -> str:
    """The visible text of the tracker's row of one action."""
    start = page.index(f"<bdi>{title}</bdi>")
    return text_of(page[start : page.index("</tr>", start)])


def test_the_tracker_says_whether_each_owner_is_reached(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    event, _made = _tracked(make)
    sink.refuse["gone@example.org"] = "550 5.1.1 No such user here"
    log_in(client, "tracker@example.org")
    tracker = f"/organiser/events/{event.id}/actions"
    page = client.get(tracker).text
    assert "mail waiting" in _row(page, "Bus passes")
    assert "no e-mail" in _row(page, "Cycle lanes")
    assert "Remind now" not in _row(page, "Cycle lanes")

    clock(_at(date(2027, 6, 1)))
    mail_sender.send_due(database, mail_settings, links)
    page = client.get(tracker).text
    assert "reached" in _row(page, "Bus passes") and "Remind now" in _row(page, "Bus passes")
    assert "mail failed" in _row(page, "Ring the council")
    assert "550 5.1.1 No such user here" in _row(page, "Ring the council")

    # Overdue and never answered: after the third weekly nudge, the tracker says so.
    for days in range(-3, 22):
        clock(_at(DUE + timedelta(days=days)))
        mail_sender.send_due(database, mail_settings, links)
    assert (
        len([r for r in sink.to("ada@example.org") if "Past the due" in r.message["Subject"]]) == 3
    )
    assert "not reached" in _row(client.get(tracker).text, "Bus passes")


def test_remind_now_queues_one_message_once_a_day_however_often_pressed(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    event, made = _tracked(make)
    action = made["Bus passes"]
    log_in(client, "tracker@example.org")
    clock(_at(date(2027, 7, 1)))
    remind = f"/organiser/events/{event.id}/actions/{action.id}/remind"
    first = post_form(client, remind, {})
    assert first.status_code == 303  # type: ignore[attr-defined]
    assert "reminded=1" in first.headers["location"]  # type: ignore[attr-defined]
    page = client.get(first.headers["location"])  # type: ignore[attr-defined]
    assert "Reminders are in the outbox" in text_of(page.text)
    again = post_form(client, remind, {})
    assert "reminded=0" in again.headers["location"]  # type: ignore[attr-defined]

    mail_sender.send_due(database, mail_settings, links)
    mail_sender.send_due(database, mail_settings, links)
    reminders = [r for r in sink.to("ada@example.org") if "organisers" in r.message["Subject"]]
    assert len(reminders) == 1
    assert "Bus passes" in reminders[0].part("plain")
    assert "Night buses" not in reminders[0].part("plain")

    clock(_at(date(2027, 7, 2)))  # another day, another press: another message
    assert "reminded=1" in post_form(client, remind, {}).headers["location"]  # type: ignore[attr-defined]


def test_remind_every_overdue_owner_sends_one_message_per_owner(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    event, _made = _tracked(make)
    log_in(client, "tracker@example.org")
    clock(_at(DUE + timedelta(days=2)))
    answer = post_form(client, f"/organiser/events/{event.id}/actions/remind-overdue", {})
    assert "reminded=3" in answer.headers["location"]  # type: ignore[attr-defined]
    with database.read() as session:
        reminders = session.exec(select(Message).where(Message.kind == MessageKind.reminder)).all()
    assert sorted(m.to_address for m in reminders) == ["ada@example.org", "gone@example.org"]
    mail_sender.send_due(database, mail_settings, links, plan=False)
    [to_ada] = [r for r in sink.to("ada@example.org") if "organisers" in r.message["Subject"]]
    assert "Bus passes" in to_ada.part("plain") and "Night buses" in to_ada.part("plain")


def test_remind_now_only_where_it_can_reach_and_only_for_the_events_organisers(
    client: TestClient, make: Factory, database: Database
) -> None:
    event, made = _tracked(make)
    other = make.event(make.organiser("elsewhere@example.org"), name="Another day")
    log_in(client, "tracker@example.org")
    silent = f"/organiser/events/{event.id}/actions/{made['Cycle lanes'].id}/remind"
    assert post_form(client, silent, {}).status_code == 409  # type: ignore[attr-defined]
    wrong_event = f"/organiser/events/{other.id}/actions/{made['Bus passes'].id}/remind"
    assert post_form(client, wrong_event, {}).status_code == 403  # type: ignore[attr-defined]
    with database.write() as session:
        done = session.get_one(Action, made["Bus passes"].id)
        done.status = ActionStatus.done
        session.add(done)
    closed = f"/organiser/events/{event.id}/actions/{made['Bus passes'].id}/remind"
    assert post_form(client, closed, {}).status_code == 409  # type: ignore[attr-defined]
    with database.read() as session:
        kinds = {m.kind for m in session.exec(select(Message))}
    assert MessageKind.reminder not in kinds
