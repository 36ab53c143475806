"""Mail faults with real processes and a real SMTP server (aiosmtpd): a sender killed in the
middle of a conversation, a mail server that refuses connections or hangs, and several
senders at once.

What the design promises (app/services/outbox.py): every message is delivered at least once,
always under the one Message-ID it was given when it was made. A sender killed after the
server took a message but before it recorded the server's answer leaves a claim that runs
out; the message then goes again, with the same Message-ID, so the recipient's mail program
shows it once. Only that message (one per killed sender: a sender hands over one at a time)
may arrive twice; no message ever arrives under two Message-IDs.
"""

import re
import signal
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.models import Event, Message, Participant, SignUp
from app.models.base import set_clock, utcnow
from app.models.mail import MessageCause, MessageState
from app.services import mail_sender, outbox
from app.services.mail import Links, message_id_header
from tests.conftest import log_in, phone, text_of
from tests.factories import Factory, placed_topic, pledged_postcards
from tests.mail_sink import MailSink, free_port
from tests.processes import command, serving

LONDON = ZoneInfo("Europe/London")
STARTS_ON = date(2027, 5, 4)
DUE_AT = datetime.combine(date(2027, 11, 4), clock_time(9, 30), tzinfo=LONDON)
# `send-due --now`: the moment the postcards of an event on STARTS_ON are due.
ON_THE_DAY = "2027-11-04T12:00+00:00"


def _postcards(make: Factory, event: Event, count: int) -> list[str]:
    """`count` people of the event pledged and asked for their postcard; their addresses."""
    addresses = [f"person{n}@example.org" for n in range(count)]
    with make.database.write() as session:
        pledged_postcards(session, event, addresses)
    return addresses


def _messages(database: Database) -> dict[str, Message]:
    """Every message, by the address it goes to."""
    with database.read() as session:
        return {m.to_address: m for m in session.exec(select(Message))}


def _send_due(settings: Settings, now: str) -> str:
    """Run `openspace send-due --now NOW` to its end; what it printed."""
    process = command(settings, "send-due", "--now", now)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return stdout


def _wait_until(condition: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def test_a_sender_killed_mid_send_loses_nothing_and_repeats_only_the_taken_message(
    make: Factory, database: Database, mail_settings: Settings, sink: MailSink
) -> None:
    event = make.event(starts_on=STARTS_ON)
    addresses = _postcards(make, event, 6)
    # The server answers the first two at once, takes the third and then hangs before its
    # answer: the sender is killed there, with the message in the server's hands.
    sink.hold_after = 2
    sender = command(mail_settings, "send-due", "--now", ON_THE_DAY)
    try:
        _wait_until(lambda: len(sink.received) == 3, "the server took a third message")
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=10)
    taken = sink.received[2].rcpt_tos[0]
    states = Counter(m.state for m in _messages(database).values())
    assert states == {MessageState.sent: 2, MessageState.sending: 4}

    # Another sender at the same moment leaves what the killed one still holds.
    assert "Sent 0," in _send_due(mail_settings, ON_THE_DAY)
    assert len(sink.received) == 3

    # Once the claim has run out, another sender sends what was left, and nothing more.
    sink.release.set()
    after = (datetime.fromisoformat(ON_THE_DAY) + outbox.LEASE + timedelta(minutes=1)).isoformat()
    assert "Sent 4," in _send_due(mail_settings, after)

    stored = _messages(database)
    assert {m.state for m in stored.values()} == {MessageState.sent}
    copies = Counter(r.rcpt_tos[0] for r in sink.received)
    assert sorted(copies) == addresses  # every message arrived
    assert {a: n for a, n in copies.items() if n > 1} == {taken: 2}  # only the taken one twice
    for received in sink.received:
        address = received.rcpt_tos[0]
        # One Message-ID per message, the one it was made with, on every copy.
        assert received.message["Message-ID"] == message_id_header(mail_settings, stored[address])
    assert stored[taken].attempts == 2


def test_a_sender_slower_than_its_claim_hands_the_rest_back_and_none_goes_twice(
    make: Factory, database: Database, mail_settings: Settings, links: Links, sink: MailSink
) -> None:
    event = make.event(starts_on=STARTS_ON)
    addresses = _postcards(make, event, 10)
    set_clock(DUE_AT)
    others: list[threading.Thread] = []

    def a_minute_per_answer(number: int) -> None:
        set_clock(utcnow() + timedelta(minutes=1))
        if number == 7:  # another sender starts when the first has been at it for 7 minutes
            other = threading.Thread(
                target=mail_sender.send_due, args=(database, mail_settings, links)
            )
            other.start()
            others.append(other)

    sink.on_data = a_minute_per_answer
    try:
        sent = mail_sender.send_due(database, mail_settings, links).sent
        for other in others:
            other.join(timeout=60)
    finally:
        set_clock(None)
    assert len(sent) == 10
    copies = Counter(r.rcpt_tos[0] for r in sink.received)
    assert sorted(copies) == addresses and set(copies.values()) == {1}


def test_a_mail_server_refusing_connections_waits_longer_each_time_shows_why_then_sends(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: object,
) -> None:
    event = make.event(make.organiser("faults-owner@example.org"), starts_on=STARTS_ON)
    addresses = _postcards(make, event, 2)
    closed = mail_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})
    set_clock = clock  # the settable clock: no waiting in real time
    moment = DUE_AT
    waits = []
    for tries in (1, 2, 3):
        set_clock(moment)  # type: ignore[operator]
        assert mail_sender.send_due(database, closed, links).sent == []
        stored = _messages(database).values()
        assert {(m.state, m.attempts) for m in stored} == {(MessageState.waiting, tries)}
        [next_try] = {m.due_at for m in stored}
        waits.append(next_try - moment)
        # Before the next try is due, nobody tries.
        set_clock(next_try - timedelta(seconds=1))  # type: ignore[operator]
        mail_sender.send_due(database, closed, links)
        assert {m.attempts for m in _messages(database).values()} == {tries}
        moment = next_try
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)]

    log_in(client, "faults-owner@example.org")
    page = text_of(client.get(f"/organiser/events/{event.id}/outbox?state=waiting").text)
    for address in addresses:
        assert address in page
    assert "The mail server" in page and "Connection refused" in page

    # The server is back: each message goes once, and the page says so.
    set_clock(moment)  # type: ignore[operator]
    assert len(mail_sender.send_due(database, mail_settings, links).sent) == 2
    assert sorted(r.rcpt_tos[0] for r in sink.received) == addresses
    sent = text_of(client.get(f"/organiser/events/{event.id}/outbox?state=sent").text)
    assert all(address in sent for address in addresses)


def test_sign_ups_do_not_wait_for_a_mail_server_that_hangs(
    settings: Settings, make: Factory, database: Database, sink: MailSink
) -> None:
    # An event half a year ago: its postcards are due now, by the real clock.
    _postcards(make, make.event(starts_on=date.today() - timedelta(days=200)), 3)
    event = make.event()  # and the next one, taking sign-ups
    slot = make.slot(event, clock_time(10), clock_time(11))
    topic = placed_topic(make, event, slot, make.space(event), "Warm spaces")
    sink.hold_after = 0  # takes the first message and never answers (until released)
    extra = {
        "OPENSPACE_SMTP_URL": sink.url,
        "OPENSPACE_MAIL_FROM": "Open Space <outbox@openspace.example>",
        "OPENSPACE_MAIL_EVERY_SECONDS": "0.2",
    }
    with serving(settings, extra) as server:
        _wait_until(lambda: len(sink.received) == 1, "the server's sender reached the server")
        people = [phone(server.base, event, f"Signing up {n}") for n in range(5)]
        took = []
        for browser in people:
            started = time.perf_counter()
            answer = browser.post(
                f"/e/{event.join_code}/topics/{topic.id}/sign-up",
                data={"csrf_token": browser.cookies["openspace_csrf"]},
            )
            took.append(time.perf_counter() - started)
            assert answer.status_code == 303
            browser.close()
        # The sender was stuck in the mail server's DATA all along: no message answered.
        stuck = len(sink.received) == 1 and not sink.release.is_set()
        sink.release.set()
    print(f"sign-ups while the sender waits on SMTP: {[round(t * 1000) for t in took]} ms")
    assert stuck
    assert max(took) < 2, f"a sign-up took {max(took):.1f} s"
    with database.read() as session:
        seated = session.exec(
            select(Participant.display_name)
            .join(SignUp, col(SignUp.participant_id) == Participant.id)
            .where(SignUp.topic_id == topic.id)
        ).all()
    assert len(seated) == 5


@pytest.mark.parametrize("senders", [3])
def test_several_senders_at_once_deliver_each_of_500_messages_exactly_once(
    senders: int, make: Factory, database: Database, mail_settings: Settings, sink: MailSink
) -> None:
    event = make.event(starts_on=STARTS_ON)
    addresses = _postcards(make, event, 500)
    sink.answer_after = 0.01  # slow enough that the senders overlap
    running = [command(mail_settings, "send-due", "--now", ON_THE_DAY) for _ in range(senders)]
    printed = [process.communicate(timeout=300) for process in running]
    assert all(process.returncode == 0 for process in running), printed
    sent = [int(re.search(r"Sent (\d+),", out).group(1)) for out, _err in printed]  # type: ignore[union-attr]
    print(f"{senders} senders at once sent {sent}")
    assert sum(sent) == 500
    assert sum(1 for n in sent if n) >= 2  # they did run at once

    by_message_id = Counter(r.message["Message-ID"] for r in sink.received)
    assert len(sink.received) == 500 and set(by_message_id.values()) == {1}
    assert sorted(r.rcpt_tos[0] for r in sink.received) == sorted(addresses)
    # By cause: each cause's message arrived exactly once.
    with database.read() as session:
        causes = session.exec(
            select(MessageCause.key, Message).join(
                Message, col(Message.id) == MessageCause.message_id
            )
        ).all()
    assert len(causes) == 500
    assert all(
        by_message_id[message_id_header(mail_settings, message)] == 1 for _key, message in causes
    )
    assert {message.state for _key, message in causes} == {MessageState.sent}
