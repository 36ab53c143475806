"""One message per cause, and each message delivered once: over repeated causes, several
senders at once, and the commands an operator runs."""

import subprocess
import threading
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, func, select

from app.config import Settings
from app.db import Database
from app.models import Action, Event, Message, Participant, Topic, metadata
from app.models.base import set_clock, utcnow
from app.models.mail import MessageCause, MessageState, Purpose
from app.models.outcomes import ActionForm, ActionStatus, PledgeForm
from app.services import actions, mail_causes, mail_sender, outbox, pledges
from app.services.errors import Refused
from app.services.mail import Links
from tests.factories import Factory, placed_topic
from tests.mail_sink import MailSink
from tests.processes import command

LONDON = ZoneInfo("Europe/London")
STARTS_ON = date(2027, 5, 4)


def _world(make: Factory) -> tuple[Event, Topic, list[Participant]]:
    event = make.event(starts_on=STARTS_ON)
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, make.space(event), "Transport")
    people = [make.participant(event, f"Owner {n}", f"owner{n}@example.org") for n in range(2)]
    with make.database.write() as session:
        for person in people:
            assert person.id is not None
            outbox.set_consent(session, person.id, Purpose.actions, True)
    return event, topic, people


def _empty(database: Database) -> None:
    with database.write() as session:
        for table in reversed(metadata.sorted_tables):
            session.execute(table.delete())


# What a person or the sender may do, in any order, any number of times.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("action"), st.integers(0, 3), st.integers(0, 1), st.integers(-2, 20)),
        st.tuples(st.just("pledge"), st.integers(0, 1), st.booleans(), st.integers(1, 3)),
        st.tuples(st.just("later"), st.integers(0, 40)),
        st.tuples(st.just("send"), st.integers(1, 3)),
        # An organiser presses "remind now" for one action (several times), or for every
        # overdue one.
        st.tuples(st.just("remind"), st.integers(0, 3), st.integers(1, 3)),
        st.tuples(st.just("remind overdue"), st.integers(1, 2)),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_one_message_per_cause_whatever_happens_in_whatever_order(
    steps: list[tuple[Any, ...]],
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
) -> None:
    _empty(database)
    sink.received.clear()
    now = datetime(2027, 5, 4, 12, tzinfo=LONDON)
    set_clock(now)
    pressed: set[tuple[str, ...]] = set()
    try:
        event, topic, people = _world(make)
        for step in steps:
            if step[0] == "action":  # the same form sent again finds its action
                _, key, owner, due_in = step
                with database.write() as session:
                    actions.add_action(
                        session,
                        event,
                        session.get_one(Topic, topic.id),
                        people[0],
                        ActionForm(
                            title=f"Action {key}",
                            due_on=now.date() + timedelta(days=int(due_in)),
                            status=ActionStatus.agreed,
                        ),
                        owner_id=people[owner].id,
                        write_key=f"form-{key}",
                    )
            elif step[0] == "pledge":
                _, who, ticked, months = step
                with database.write() as session:
                    pledges.save_pledge(
                        session,
                        event,
                        session.get_one(Participant, people[who].id),
                        PledgeForm(
                            text="Walk",
                            postcard=bool(ticked),
                            remind_on=pledges.months_after(STARTS_ON, int(months)),
                        ),
                    )
            elif step[0] == "remind":
                _, key, presses = step
                _press(database, event, f"Action {key}", int(presses), pressed)
            elif step[0] == "remind overdue":
                for _press_again in range(int(step[1])):
                    with database.write() as session:
                        mail_causes.remind_overdue(session, session.get_one(Event, event.id))
            elif step[0] == "later":
                now += timedelta(days=int(step[1]))
                set_clock(now)
            else:  # several senders at once
                senders = [
                    threading.Thread(
                        target=mail_sender.send_due, args=(database, mail_settings, links)
                    )
                    for _ in range(int(step[1]))
                ]
                for sender in senders:
                    sender.start()
                for sender in senders:
                    sender.join()
        with database.read() as session:
            sent = session.exec(
                select(Message.message_id).where(Message.state == MessageState.sent)
            ).all()
            causes_per_message = session.exec(
                select(MessageCause.message_id, func.count()).group_by(col(MessageCause.message_id))
            ).all()
            messages = session.exec(select(func.count()).select_from(Message)).one()
            reminder_keys = session.exec(
                select(MessageCause.key).where(col(MessageCause.key).startswith("remind-now:"))
            ).all()
    finally:
        set_clock(None)
    ids = [received.message["Message-ID"] for received in sink.received]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert len(ids) == len(sent), "delivered and recorded as sent differ"
    # Every message has a cause, and a cause (a unique key) belongs to one message.
    assert len(causes_per_message) == messages
    # "Remind now" pressed (once or more) on a day left that day's one cause for the action.
    assert pressed <= {tuple(key.split(":")[1:]) for key in reminder_keys}


def _press(
    database: Database, event: Event, title: str, presses: int, pressed: set[tuple[str, ...]]
) -> None:
    """The organiser presses "remind now" for the action of this title, if there is one;
    `pressed` gets (action id, day) of each press taken."""
    for _press_again in range(presses):
        with database.write() as session:
            action = session.exec(select(Action).where(Action.title == title)).first()
            if action is None:
                return
            try:
                mail_causes.remind_now(session, session.get_one(Event, event.id), action)
            except Refused:
                return  # closed, or an owner who cannot be reached: nothing is made
            pressed.add((str(action.id), utcnow().astimezone(LONDON).date().isoformat()))


def test_several_senders_at_once_deliver_each_message_exactly_once(
    make: Factory, database: Database, mail_settings: Settings, links: Links, sink: MailSink
) -> None:
    event = make.event(starts_on=STARTS_ON)
    for n in range(30):
        person = make.participant(event, f"Person {n}", f"person{n}@example.org")
        with database.write() as session:
            pledges.save_pledge(session, event, person, PledgeForm(text="Walk", postcard=True))
    set_clock(datetime(2027, 11, 5, tzinfo=LONDON))
    try:
        senders = [
            threading.Thread(target=mail_sender.send_due, args=(database, mail_settings, links))
            for _ in range(4)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    finally:
        set_clock(None)
    addresses = sorted(received.rcpt_tos[0] for received in sink.received)
    assert addresses == sorted(f"person{n}@example.org" for n in range(30))
    assert len({received.message["Message-ID"] for received in sink.received}) == 30


def test_planning_reminders_in_many_processes_at_once_makes_one_each(
    make: Factory, database: Database
) -> None:
    event, topic, people = _world(make)
    for n in range(5):
        with database.write() as session:
            actions.add_action(
                session,
                event,
                session.get_one(Topic, topic.id),
                people[0],
                ActionForm(title=f"Action {n}", due_on=date(2027, 9, 1)),
                owner_id=people[n % 2].id,
            )
    set_clock(datetime(2027, 8, 30, 10, tzinfo=LONDON))
    try:
        planners = [
            threading.Thread(target=mail_causes.plan_reminders, args=(database,)) for _ in range(4)
        ]
        for planner in planners:
            planner.start()
        for planner in planners:
            planner.join()
    finally:
        set_clock(None)
    with database.read() as session:
        keys = session.exec(
            select(MessageCause.key).where(col(MessageCause.key).startswith("due-soon:"))
        ).all()
    assert len(keys) == 5


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    process = command(settings, *args)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_send_due_now_sends_what_falls_due_on_that_day_and_outbox_lists_it(
    make: Factory, database: Database, mail_settings: Settings, sink: MailSink
) -> None:
    event = make.event(starts_on=STARTS_ON)
    person = make.participant(event, "Bogdan Nowak", "bogdan@example.pl")
    with database.write() as session:
        pledges.save_pledge(session, event, person, PledgeForm(text="Walk", postcard=True))

    listed = _cli(mail_settings, "outbox")
    assert listed.returncode == 0, listed.stderr
    assert "waiting: 1" in listed.stdout and "bogdan@example.pl" in listed.stdout

    early = _cli(mail_settings, "send-due", "--now", "2027-11-03T12:00+00:00")
    assert early.returncode == 0, early.stderr
    assert "Sent 0" in early.stdout and sink.received == []

    due = _cli(mail_settings, "send-due", "--now", "2027-11-04T12:00+00:00")
    assert due.returncode == 0, due.stderr
    assert "Sent 1" in due.stdout
    [received] = sink.received
    assert received.rcpt_tos == ["bogdan@example.pl"]
    assert "Walk" in received.part("plain")
    assert "sent: 1" in _cli(mail_settings, "outbox").stdout


def test_mail_test_prints_the_servers_answer(mail_settings: Settings, sink: MailSink) -> None:
    result = _cli(mail_settings, "mail-test", "me@example.org")
    assert result.returncode == 0, result.stderr
    assert "250 OK queued as test-1" in result.stdout
    [received] = sink.received
    assert received.message["Subject"] == "A test message from OpenSpace"

    sink.refuse["nobody@example.org"] = "550 5.1.1 No such user"
    refused = _cli(mail_settings, "mail-test", "nobody@example.org")
    assert refused.returncode == 1
    assert "550 5.1.1 No such user" in refused.stderr
