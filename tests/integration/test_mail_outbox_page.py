"""The organiser's Outbox: each message listed with its state, shown as its recipient reads it,
and downloadable as the very message the sender hands over."""

import email
from collections.abc import Callable
from datetime import date, datetime, time
from email.message import EmailMessage
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Event, Message, Pledge
from app.models.mail import MessageState
from app.models.outcomes import PledgeForm
from app.services import mail_sender, pledges
from app.services.mail import Links, message_id_header
from tests.conftest import log_in, text_of
from tests.factories import Factory
from tests.mail_sink import MailSink

LONDON = ZoneInfo("Europe/London")
DUE = datetime.combine(date(2027, 11, 4), time(9, 30), tzinfo=LONDON)


def _postcards(make: Factory, pledged: dict[str, str]) -> Event:
    """An event where each address pledged this text and asked for its postcard."""
    event = make.event(make.organiser("outbox-owner@example.org"), starts_on=date(2027, 5, 4))
    for number, (address, text) in enumerate(pledged.items()):
        person = make.participant(event, f"Person {number}", address)
        with make.database.write() as session:
            pledges.save_pledge(session, event, person, PledgeForm(text=text, postcard=True))
    return event


def _messages(database: Database) -> list[Message]:
    with database.read() as session:
        return list(session.exec(select(Message).order_by(Message.id)))  # type: ignore[arg-type]


def test_outbox_lists_waiting_messages_and_filters_by_state(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _postcards(make, {"a@example.org": "Walk", "b@example.org": "Cycle"})
    with database.write() as session:
        cancelled = session.exec(select(Message).where(Message.to_address == "b@example.org")).one()
        cancelled.state = MessageState.cancelled
        session.add(cancelled)
    log_in(client, "outbox-owner@example.org")
    home = client.get(f"/organiser/events/{event.id}")
    assert f'href="/organiser/events/{event.id}/outbox"' in home.text

    page = client.get(f"/organiser/events/{event.id}/outbox")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "a@example.org" in words and "b@example.org" in words
    assert "All (2)" in words and "Waiting (1)" in words and "Cancelled (1)" in words
    assert "No mail server is set up, so messages wait here" in words

    waiting = text_of(client.get(f"/organiser/events/{event.id}/outbox?state=waiting").text)
    assert "a@example.org" in waiting and "b@example.org" not in waiting
    assert "No messages in this state." in text_of(
        client.get(f"/organiser/events/{event.id}/outbox?state=sent").text
    )


def test_a_message_is_shown_as_its_recipient_reads_it_with_nothing_able_to_run(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _postcards(make, {"a@example.org": "Walk <script>alert(1)</script> more"})
    [message] = _messages(database)
    log_in(client, "outbox-owner@example.org")
    page = client.get(f"/organiser/events/{event.id}/outbox/{message.id}")
    assert page.status_code == 200
    assert '<iframe class="mail-preview" sandbox="" srcdoc="' in page.text
    # The message's HTML is an attribute's value, escaped twice over: its own escaping of
    # what the person typed, then the attribute's.
    assert "&amp;lt;script&amp;gt;alert(1)" in page.text
    assert "<script>alert" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "Walk <script>alert(1)</script> more" in text_of(page.text)  # the text part
    assert "Not tried yet." in text_of(page.text)


def test_the_eml_file_is_the_message_the_sender_hands_over(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Callable[[datetime], None],
    settings: Settings,
) -> None:
    event = _postcards(make, {"a@example.org": "Ride the bus on Fridays"})
    clock(DUE)
    mail_sender.send_due(database, mail_settings, links)
    [received] = sink.received
    [message] = _messages(database)
    assert message.state == MessageState.sent
    log_in(client, "outbox-owner@example.org")

    answer = client.get(f"/organiser/events/{event.id}/outbox/{message.id}/eml")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("message/rfc822")
    assert f'filename="message-{message.id}.eml"' in answer.headers["content-disposition"]
    parsed = email.message_from_bytes(answer.content, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    # The app here has no mail server set, so its sender's domain differs from the test
    # sender's; the message's own key is the same.
    assert parsed["Message-ID"] == message_id_header(settings, message)
    assert parsed["Message-ID"].split("@")[0] == received.message["Message-ID"].split("@")[0]
    assert parsed["Subject"] == received.message["Subject"]
    assert parsed["To"] == received.message["To"]
    assert message.sent_at is not None
    assert parsed["Date"].datetime == message.sent_at.replace(microsecond=0)
    for subtype in ("plain", "html"):
        body = parsed.get_body(preferencelist=(subtype,))
        assert body is not None and "Ride the bus on Fridays" in body.get_content()
    listed = text_of(client.get(f"/organiser/events/{event.id}/outbox?state=sent").text)
    assert "a@example.org" in listed and "1 try" in listed


def test_a_failed_message_shows_the_servers_reason(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Callable[[datetime], None],
) -> None:
    event = _postcards(make, {"gone@example.org": "Walk"})
    sink.refuse["gone@example.org"] = "550 5.1.1 No such user here"
    clock(DUE)
    mail_sender.send_due(database, mail_settings, links)
    [message] = _messages(database)
    log_in(client, "outbox-owner@example.org")
    listed = text_of(client.get(f"/organiser/events/{event.id}/outbox?state=failed").text)
    assert "gone@example.org" in listed and "550 5.1.1 No such user here" in listed
    page = text_of(client.get(f"/organiser/events/{event.id}/outbox/{message.id}").text)
    assert "Failed" in page and "550 5.1.1 No such user here" in page


def test_only_the_events_organisers_see_its_outbox(
    app: object, client: TestClient, make: Factory, database: Database
) -> None:
    event = _postcards(make, {"a@example.org": "Walk"})
    other = make.event(make.organiser("other@example.org"), name="Another day")
    [message] = _messages(database)
    log_in(client, "other@example.org")
    for path in ("", f"/{message.id}", f"/{message.id}/eml"):
        answer = client.get(f"/organiser/events/{event.id}/outbox{path}")
        assert answer.status_code == 403 and "a@example.org" not in answer.text
    # Their own event's outbox does not open another event's message.
    for path in (f"/{message.id}", f"/{message.id}/eml"):
        assert client.get(f"/organiser/events/{other.id}/outbox{path}").status_code == 404
    stranger = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    assert stranger.get(f"/organiser/events/{event.id}/outbox").status_code in (302, 303)


def test_a_message_with_nothing_left_to_send_says_why(
    client: TestClient, make: Factory, database: Database
) -> None:
    event = _postcards(make, {"a@example.org": "Walk"})
    [message] = _messages(database)
    with database.write() as session:
        for pledge in session.exec(select(Pledge)):
            session.delete(pledge)
    log_in(client, "outbox-owner@example.org")
    page = client.get(f"/organiser/events/{event.id}/outbox/{message.id}")
    assert "This message will not be sent" in text_of(page.text)
    assert client.get(f"/organiser/events/{event.id}/outbox/{message.id}/eml").status_code == 409
