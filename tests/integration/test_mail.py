"""Mail after the day: a cause writes its message to the outbox, the sender hands it to a real
SMTP server (aiosmtpd) when it is due, and the recipient gets exactly one."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Action, Event, Message, Participant, Topic
from app.models.mail import MessageAttempt, MessageKind, MessageState, Purpose
from app.models.outcomes import ActionForm, ActionStatus, PledgeForm
from app.services import actions as action_service
from app.services import mail_sender, outbox, pledges
from app.services.mail import Links
from tests.conftest import phone_in, post_form
from tests.factories import Factory, placed_topic
from tests.mail_sink import MailSink

Clock = Callable[[datetime], None]
LONDON = ZoneInfo("Europe/London")
STARTS_ON = date(2027, 5, 4)


def _at(day: date, hour: int = 9, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def _messages(database: Database) -> list[Message]:
    with database.read() as session:
        return list(session.exec(select(Message).order_by(Message.id)))  # type: ignore[arg-type]


def _event(make: Factory) -> Event:
    return make.event(starts_on=STARTS_ON)


def _owner_with_actions(
    make: Factory, event: Event, titles: list[str], *, due_on: date | None = None
) -> tuple[Participant, list[Action], Topic]:
    """An owner who asked for mail about their actions, given these actions in one session."""
    slot = make.slot(event, time(10), time(11))
    room = make.space(event)
    topic = placed_topic(make, event, slot, room, "Transport")
    owner = make.participant(event, "Zażółć Gęślą", "zazolc@example.pl")
    writer = make.participant(event, "Amira Hussain")
    assert owner.id is not None
    with make.database.write() as session:
        outbox.set_consent(session, owner.id, Purpose.actions, True)
    made = []
    for title in titles:
        with make.database.write() as session:
            made.append(
                action_service.add_action(
                    session,
                    event,
                    session.get_one(Topic, topic.id),
                    writer,
                    ActionForm(title=title, due_on=due_on, status=ActionStatus.agreed),
                    owner_id=owner.id,
                )
            )
    return owner, made, topic


# --- the pledge postcard ------------------------------------------------------------------


def test_pledge_postcard_arrives_once_on_the_day_chosen(
    app: object,
    phones: list[TestClient],
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    event = _event(make)
    browser = phone_in(app, phones, event, "Bogdan Nowak")  # type: ignore[arg-type]
    saved = post_form(
        browser,
        f"/e/{event.join_code}/pledge",
        {"text": "Ride the bus every Friday", "postcard": "1", "email": "bogdan@example.pl"},
    )
    assert saved.status_code == 303  # type: ignore[attr-defined]
    [message] = _messages(database)
    remind_on = date(2027, 11, 4)  # six months after the event
    assert message.state == MessageState.waiting
    assert message.due_at == _at(remind_on, 9, 0)

    clock(_at(remind_on - timedelta(days=1)))
    assert mail_sender.send_due(database, mail_settings, links).sent == []
    clock(_at(remind_on))
    assert len(mail_sender.send_due(database, mail_settings, links).sent) == 1
    mail_sender.send_due(database, mail_settings, links)

    [received] = sink.received
    assert received.rcpt_tos == ["bogdan@example.pl"]
    assert received.message["To"].addresses[0].display_name == "Bogdan Nowak"
    assert received.message["Subject"] == "Your pledge from Reducing inequalities together"
    assert received.message["Message-ID"] == f"<{message.message_id}@openspace.example>"
    assert "Ride the bus every Friday" in received.part("plain")
    assert "Ride the bus every Friday" in received.part("html")
    assert "http" not in received.part("html").replace("http://testserver", "")  # no images
    [sent] = _messages(database)
    assert sent.state == MessageState.sent and sent.attempts == 1


def test_a_pledge_saved_again_keeps_one_postcard_and_moves_it(
    make: Factory, database: Database, mail_settings: Settings, links: Links, sink: MailSink
) -> None:
    event = _event(make)
    person = make.participant(event, "Bogdan Nowak", "bogdan@example.pl")
    for text, day in (("Walk more", date(2027, 8, 1)), ("Walk more often", date(2027, 9, 1))):
        for _twice in range(2):
            with database.write() as session:
                pledges.save_pledge(
                    session, event, person, PledgeForm(text=text, postcard=True, remind_on=day)
                )
    states = [(m.state, m.due_at.date()) for m in _messages(database)]
    assert states == [
        (MessageState.cancelled, date(2027, 8, 1)),
        (MessageState.waiting, date(2027, 9, 1)),
    ]


def test_no_tick_no_postcard_and_unticking_stops_the_waiting_one(
    make: Factory, database: Database
) -> None:
    event = _event(make)
    person = make.participant(event, "Bogdan Nowak", "bogdan@example.pl")
    with database.write() as session:
        pledges.save_pledge(session, event, person, PledgeForm(text="Walk more"))
    assert _messages(database) == []
    with database.write() as session:
        pledges.save_pledge(session, event, person, PledgeForm(text="Walk more", postcard=True))
    with database.write() as session:
        pledges.save_pledge(session, event, person, PledgeForm(text="Walk more"))
    [message] = _messages(database)
    assert message.state == MessageState.cancelled


# --- action owners ------------------------------------------------------------------------


def test_action_owner_gets_one_message_with_the_private_links_of_a_sessions_actions(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    event = _event(make)
    _owner, actions, _topic = _owner_with_actions(
        make, event, ["Free bus passes for carers", "Night buses to the hospital"]
    )
    [message] = _messages(database)
    assert message.kind == MessageKind.action_owner
    assert mail_sender.send_due(database, mail_settings, links).sent == []  # gathering others

    clock(datetime.now(LONDON) + timedelta(minutes=10))
    mail_sender.send_due(database, mail_settings, links)
    [received] = sink.to("zazolc@example.pl")
    assert len(sink.received) == 1
    assert "Reducing inequalities together" in received.message["Subject"]
    text = received.part("plain")
    for action in actions:
        assert action.title in text
        link = links.action(action)
        assert link in text and link in received.part("html")
        page = client.get(link.removeprefix("http://testserver"))
        assert page.status_code == 200 and action.title in page.text


def test_an_owner_who_did_not_ask_gets_nothing(make: Factory, database: Database) -> None:
    event = _event(make)
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, make.space(event), "Transport")
    owner = make.participant(event, "Zażółć Gęślą", "zazolc@example.pl")
    with database.write() as session:
        action_service.add_action(
            session,
            event,
            session.get_one(Topic, topic.id),
            owner,
            ActionForm(title="Free bus passes"),
            owner_id=owner.id,
        )
    assert _messages(database) == []


def test_reminders_come_before_the_due_date_then_weekly_three_times(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    due = date(2027, 9, 1)
    event = _event(make)
    _owner, [action], _topic = _owner_with_actions(make, event, ["Free bus passes"], due_on=due)
    kinds_by_day = {}
    for offset in range(-6, 30):
        clock(_at(due + timedelta(days=offset)))
        before = len(sink.to("zazolc@example.pl"))  # the organiser gets the weekly digest
        mail_sender.send_due(database, mail_settings, links)
        mail_sender.send_due(database, mail_settings, links)
        new = sink.to("zazolc@example.pl")[before:]
        if new:
            kinds_by_day[offset] = [r.message["Subject"].split(":")[0] for r in new]
    assert kinds_by_day == {
        -6: ["Your actions from Reducing inequalities together"],
        -3: ["Due soon"],
        1: ["Past the due date"],
        7: ["Past the due date"],
        14: ["Past the due date"],
    }
    assert action.title in sink.to("zazolc@example.pl")[-1].part("plain")


def test_a_done_action_is_not_reminded(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    due = date(2027, 9, 1)
    event = _event(make)
    _owner, [action], _topic = _owner_with_actions(make, event, ["Free bus passes"], due_on=due)
    with database.write() as session:
        done = session.get_one(Action, action.id)
        done.status = ActionStatus.done
        session.add(done)
    clock(_at(due + timedelta(days=3)))
    mail_sender.send_due(database, mail_settings, links)
    assert [r.message["Subject"].split(":")[0] for r in sink.received] == [
        "Your actions from Reducing inequalities together"
    ]


# --- faults --------------------------------------------------------------------------------


def _postcards(make: Factory, database: Database, addresses: list[str]) -> Event:
    event = _event(make)
    for number, address in enumerate(addresses):
        person = make.participant(event, f"Person {number}", address)
        with database.write() as session:
            pledges.save_pledge(session, event, person, PledgeForm(text="Walk", postcard=True))
    return event


def test_a_permanent_refusal_fails_that_message_with_the_servers_reason_and_others_go(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    _postcards(make, database, ["a@example.org", "gone@example.org", "c@example.org"])
    sink.refuse["gone@example.org"] = "550 5.1.1 No such user here"
    clock(_at(date(2027, 11, 4)))
    mail_sender.send_due(database, mail_settings, links)
    assert sorted(r.rcpt_tos[0] for r in sink.received) == ["a@example.org", "c@example.org"]
    states = {m.to_address: (m.state, m.last_error) for m in _messages(database)}
    assert states["gone@example.org"] == (MessageState.failed, "550 5.1.1 No such user here")
    assert states["a@example.org"][0] == MessageState.sent


def test_a_temporary_refusal_waits_and_tries_again(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    _postcards(make, database, ["busy@example.org"])
    sink.refuse["busy@example.org"] = "451 4.3.0 Try again later"
    day = _at(date(2027, 11, 4))
    clock(day)
    mail_sender.send_due(database, mail_settings, links)
    [message] = _messages(database)
    assert (message.state, message.attempts) == (MessageState.waiting, 1)
    assert message.due_at == day + timedelta(minutes=1)
    del sink.refuse["busy@example.org"]
    clock(day + timedelta(minutes=2))
    mail_sender.send_due(database, mail_settings, links)
    assert len(sink.to("busy@example.org")) == 1


def test_a_mail_server_that_refuses_connections_loses_nothing(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    _postcards(make, database, ["a@example.org", "b@example.org"])
    day = _at(date(2027, 11, 4))
    closed = mail_settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"})
    for tries in range(1, 8):
        clock(day)
        mail_sender.send_due(database, closed, links)
        waiting = _messages(database)
        if tries < 7:
            assert {(m.state, m.attempts) for m in waiting} == {(MessageState.waiting, tries)}
            assert all("The mail server" in m.last_error for m in waiting)
        day = max(m.due_at for m in waiting)
    # After the last try the organiser sees them failed, with the reason.
    assert {m.state for m in _messages(database)} == {MessageState.failed}
    with database.read() as session:
        attempts = session.exec(select(MessageAttempt)).all()
    assert len(attempts) == 14
    assert sink.received == []


def test_no_mail_server_set_messages_wait_in_the_outbox(
    make: Factory, database: Database, settings: Settings, links: Links, clock: Clock
) -> None:
    _postcards(make, database, ["a@example.org"])
    clock(_at(date(2027, 11, 4)))
    assert not settings.smtp_url
    mail_sender.send_due(database, settings, links)
    [message] = _messages(database)
    assert (message.state, message.attempts) == (MessageState.waiting, 0)


def test_a_name_can_never_add_a_header(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    event = _event(make)
    for name in ("Eve\r\nBcc: victim@example.org", "Ł" * 80):
        person = make.participant(event, name, f"{len(name)}@example.org")
        with database.write() as session:
            pledges.save_pledge(session, event, person, PledgeForm(text="Walk", postcard=True))
    clock(_at(date(2027, 11, 4)))
    mail_sender.send_due(database, mail_settings, links)
    assert len(sink.received) == 2
    for received in sink.received:
        assert received.message["Bcc"] is None
        assert received.rcpt_tos == [received.message["To"].addresses[0].addr_spec]
    # Python's parser puts a space between the encoded words a long name is folded into
    # (RFC 2047 says they join without one); the name itself arrives whole.
    names = sorted(r.message["To"].addresses[0].display_name for r in sink.received)
    assert names[0] == "Eve Bcc: victim@example.org"
    assert names[1].replace(" ", "") == "Ł" * 80


def test_a_killed_senders_claim_runs_out_and_another_sends_it_with_the_same_message_id(
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    _postcards(make, database, ["a@example.org"])
    day = _at(date(2027, 11, 4))
    clock(day)
    # What a sender killed between claiming and recording leaves behind: a claim.
    [claimed] = outbox.claim_due(database)
    assert mail_sender.send_due(database, mail_settings, links).sent == []
    clock(day + outbox.LEASE + timedelta(seconds=1))
    assert mail_sender.send_due(database, mail_settings, links).sent == [claimed]
    [message] = _messages(database)
    [received] = sink.received
    assert received.message["Message-ID"] == f"<{message.message_id}@openspace.example>"
    assert (message.state, message.attempts) == (MessageState.sent, 2)


def test_who_ticks_action_mail_on_joining_gets_the_link_of_an_action_they_own(
    app: object,
    phones: list[TestClient],
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    event = _event(make)
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, make.space(event), "Transport")
    browser = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    browser.__enter__()
    phones.append(browser)
    joined = post_form(
        browser,
        f"/e/{event.join_code}/join",
        {"display_name": "Olek", "email": "olek@example.pl", "mail_actions": "on"},
    )
    assert joined.status_code == 303  # type: ignore[attr-defined]
    with database.read() as session:
        olek = session.exec(select(Participant).where(Participant.display_name == "Olek")).one()
    with database.write() as session:
        action_service.add_action(
            session,
            event,
            session.get_one(Topic, topic.id),
            olek,
            ActionForm(title="Ask the council"),
            owner_id=olek.id,
        )
    clock(datetime.now(LONDON) + timedelta(minutes=10))
    mail_sender.send_due(database, mail_settings, links)
    [received] = sink.to("olek@example.pl")
    assert "Ask the council" in received.part("plain")
