"""Replies become updates: an owner answers a reminder from their mail program, and the answer
shows on the action without the quoted message; what cannot be placed waits on the Outbox page.

The receiver is the real `openspace receive-mail` in a process of its own (aiosmtpd, SMTP or
LMTP), sent to with smtplib as a mail server would; the messages replied to went out through
the real sender to a real SMTP sink.
"""

import contextlib
import smtplib
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Action, ActionUpdate, Event, InboundMail, Participant, Topic
from app.models.mail import Purpose
from app.models.outcomes import ActionForm, ActionStatus
from app.models.privacy import ErasedBy, ErasureMode
from app.security import LinkSigner
from app.services import actions, mail_sender, outbox, privacy
from app.services.mail import Links
from app.web.mail_links import mail_links
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, placed_topic
from tests.mail_sink import MailSink, Received, free_port
from tests.processes import command

Clock = Callable[[datetime | None], None]
LONDON = ZoneInfo("Europe/London")
DUE = date(2027, 9, 1)
ORGANISER = "replies@example.org"
DOMAIN = "replies.openspace.example"


@pytest.fixture
def reply_settings(mail_settings: Settings) -> Settings:
    return mail_settings.model_copy(update={"reply_domain": DOMAIN})


@pytest.fixture
def reply_links(reply_settings: Settings) -> Links:
    return mail_links(reply_settings, LinkSigner(reply_settings.secret_key))


@contextlib.contextmanager
def _receiving(settings: Settings, *extra: str) -> Iterator[int]:
    """`openspace receive-mail` on a free port of this machine, in a process of its own."""
    port = free_port()
    process = command(settings, "receive-mail", "--port", str(port), *extra)
    try:
        # Generous: a loaded machine takes a while to start Python and import the app.
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None:
                _out, errors = process.communicate()
                raise AssertionError(f"the receiver stopped: {errors[-3000:]}")
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.1)
        yield port
        assert process.poll() is None, "the receiver went down"
    finally:
        process.terminate()
        process.communicate(timeout=15)


@pytest.fixture(scope="module")
def receiver(settings: Settings, database: Database) -> Iterator[int]:
    with _receiving(settings) as port:
        yield port


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, clock_time(hour), tzinfo=LONDON)


def _owner_with(
    make: Factory, clock: Clock, titles: list[str]
) -> tuple[Event, Participant, list[Action]]:
    """An event (organised by ORGANISER) whose owner asked for mail and owns these actions,
    given in one session two hours ago (so their private link comes in one message)."""
    clock(datetime.now(UTC) - timedelta(hours=2))
    event = make.event(make.organiser(ORGANISER), starts_on=date(2027, 5, 4))
    slot = make.slot(event, clock_time(10), clock_time(11))
    topic = placed_topic(make, event, slot, make.space(event), "Transport")
    owner = make.participant(event, "Ada Okafor", "ada@example.org")
    writer = make.participant(event, "Wiktor Writer")
    assert owner.id is not None
    made = []
    with make.database.write() as session:
        outbox.set_consent(session, owner.id, Purpose.actions, True)
        for title in titles:
            made.append(
                actions.add_action(
                    session,
                    event,
                    session.get_one(Topic, topic.id),
                    writer,
                    ActionForm(title=title, due_on=DUE, status=ActionStatus.agreed),
                    owner_id=owner.id,
                )
            )
    return event, owner, made


def _mail_the_owner(
    database: Database, settings: Settings, links: Links, sink: MailSink, clock: Clock
) -> Received:
    """Send what is due (the private link), and the message the owner got. The receiver, in
    a process of its own, keeps the true time: the message went out an hour before it."""
    clock(datetime.now(UTC) - timedelta(hours=1))
    assert mail_sender.send_due(database, settings, links).sent
    clock(None)
    [received] = sink.to("ada@example.org")
    return received


MailOwner = Callable[[list[str]], tuple[Event, Participant, list[Action], Received]]


@pytest.fixture
def mail_owner(
    make: Factory,
    database: Database,
    reply_settings: Settings,
    reply_links: Links,
    sink: MailSink,
    clock: Clock,
) -> MailOwner:
    """Give an owner these actions and send them their private link: the event, the owner,
    the actions and the message as it arrived."""

    def mailed(titles: list[str]) -> tuple[Event, Participant, list[Action], Received]:
        event, owner, made = _owner_with(make, clock, titles)
        return (
            event,
            owner,
            made,
            _mail_the_owner(database, reply_settings, reply_links, sink, clock),
        )

    return mailed


def _reply(original: Received, words: str, *, html: bool = True) -> EmailMessage:
    """A reply as a mail program writes it: "Re:", the original quoted below the words, a
    signature, and an HTML part with the original in a blockquote."""
    asked = original.message
    quoted = "\n".join(f"> {line}" for line in original.part("plain").splitlines())
    reply = EmailMessage()
    reply["From"] = "Ada Okafor <ada@example.org>"
    reply["To"] = str(asked["Reply-To"])
    reply["Subject"] = f"Re: {asked['Subject']}"
    reply["In-Reply-To"] = asked["Message-ID"]
    reply["References"] = asked["Message-ID"]
    reply["Message-ID"] = make_msgid(domain="example.org")
    reply.set_content(
        f"{words}\n\nOn Tue, 1 Jun 2027 at 10:00, Open Space\n<outbox@openspace.example> wrote:\n"
        f"{quoted}\n\n-- \nAda Okafor\nBus users' forum\n"
    )
    if html:
        body = "".join(f"<div>{line}</div>" for line in words.splitlines())
        reply.add_alternative(
            f"<html><body>{body}<br><div class='gmail_quote'><div>On Tue, 1 Jun 2027, Open "
            "Space wrote:</div><blockquote>Post progress on this action</blockquote></div>"
            "</body></html>",
            subtype="html",
        )
    return reply


def _send(port: int, message: EmailMessage, to: str | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as server:
        server.send_message(message, to_addrs=[to or str(message["To"].addresses[0].addr_spec)])


def _link(received: Received, title: str) -> str:
    """The update link the message gives for one action (as a path)."""
    text = received.part("plain")
    after = text[text.index(title) :]
    line = next(x for x in after.splitlines() if "http://testserver/a/" in x)
    return line[line.index("http://testserver") + len("http://testserver") :].strip()


def _tracker_row(client: TestClient, event: Event, title: str) -> str:
    page = client.get(f"/organiser/events/{event.id}/actions").text
    start = page.index(f"<bdi>{title}</bdi>")
    return text_of(page[start : page.index("</tr>", start)])


def test_a_reply_becomes_an_update_on_the_action_without_the_quoted_message(
    client: TestClient, database: Database, mail_owner: MailOwner, receiver: int
) -> None:
    event, _owner, [action], received = mail_owner(["Bus passes for carers"])
    reply_to = received.message["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith("reply+") and reply_to.endswith(f"@{DOMAIN}")
    assert "reply to this e-mail" in received.part("plain")

    reply = _reply(received, "Met the council on Monday.\nThey said yes to a pilot!")
    _send(receiver, reply)

    page = client.get(_link(received, "Bus passes for carers")).text
    words = text_of(page)
    assert "Met the council on Monday." in words and "They said yes to a pilot!" in words
    assert "(a reply by e-mail)" in words and "Ada Okafor" in words
    assert "wrote:" not in words and "Bus users' forum" not in words
    assert "You asked for updates on the actions you own" not in words
    log_in(client, ORGANISER)
    row = _tracker_row(client, event, "Bus passes for carers")
    assert "answered by e-mail" in row and "They said yes to a pilot!" in row
    with database.read() as session:
        [update] = session.exec(select(ActionUpdate).where(ActionUpdate.action_id == action.id))
        assert update.via_mail and update.status == ActionStatus.agreed
        assert update.note == "Met the council on Monday.\nThey said yes to a pilot!"

    # The mail server delivers the same message again (it lost our answer): still one update.
    _send(receiver, reply)
    with database.read() as session:
        assert len(session.exec(select(ActionUpdate)).all()) == 1


def _outbox_replies(client: TestClient, event: Event) -> str:
    page = client.get(f"/organiser/events/{event.id}/outbox")
    assert page.status_code == 200
    if 'id="replies"' not in page.text:
        return ""
    start = page.text.index('id="replies"')
    return text_of(page.text[start : page.text.index("</section>", start)])


def test_a_reply_about_several_actions_goes_to_the_one_it_names_else_waits_for_the_organiser(
    client: TestClient, database: Database, mail_owner: MailOwner, receiver: int
) -> None:
    event, _owner, [passes, buses], received = mail_owner(["Bus passes", "Night buses"])
    assert "naming the action" in received.part("plain")

    _send(receiver, _reply(received, "Night buses: the first route runs from March."))
    night = text_of(client.get(_link(received, "Night buses")).text)
    assert "the first route runs from March." in night
    assert "the first route runs from March." not in text_of(
        client.get(_link(received, "Bus passes")).text
    )

    # Naming neither: kept for the organiser, who places it on the action it is about.
    _send(receiver, _reply(received, "All going well, more soon."))
    log_in(client, ORGANISER)
    waiting = _outbox_replies(client, event)
    assert "Replies we could not place" in waiting
    assert "All going well, more soon." in waiting and "Ada Okafor <ada@example.org>" in waiting
    assert "It answers a message about several actions." in waiting
    assert "wrote:" not in waiting
    with database.read() as session:
        [kept] = session.exec(select(InboundMail).where(InboundMail.state == "unplaced"))
    place = f"/organiser/events/{event.id}/outbox/replies/{kept.id}"
    unchosen = post_form(client, place, {"action_id": ""})
    assert unchosen.status_code == 422  # type: ignore[attr-defined]
    assert "All going well, more soon." in text_of(unchosen.text)  # type: ignore[attr-defined]
    placed = post_form(client, place, {"action_id": str(passes.id)})
    assert placed.status_code == 303  # type: ignore[attr-defined]
    passes_page = text_of(client.get(_link(received, "Bus passes")).text)
    assert "All going well, more soon." in passes_page and "Ada Okafor" in passes_page
    assert "All going well, more soon." not in _outbox_replies(client, event)
    again = post_form(client, place, {"action_id": str(buses.id)})
    assert again.status_code == 409  # type: ignore[attr-defined]


def test_a_forged_or_altered_reply_address_is_kept_and_shown_to_the_organiser(
    client: TestClient, database: Database, mail_owner: MailOwner, receiver: int
) -> None:
    event, owner, _made, received = mail_owner(["Bus passes"])
    real = received.message["Reply-To"].addresses[0].addr_spec
    number, _dash, signature = real.partition("@")[0].removeprefix("reply+").partition("-")
    other = int(number) + 1
    forged = _reply(received, "Please mark it done, says someone else.")
    forged.replace_header("To", f"reply+{other}-{signature}@{DOMAIN}")
    _send(receiver, forged)
    altered = _reply(received, "An altered signature.")
    altered.replace_header("To", f"reply+{number}-{signature[:-2]}aa@{DOMAIN}")
    _send(receiver, altered)
    stranger = _reply(received, "No reply address at all.")
    stranger.replace_header("To", f"outbox@{DOMAIN}")
    _send(receiver, stranger)

    page = text_of(client.get(_link(received, "Bus passes")).text)
    assert "says someone else" not in page and "altered signature" not in page
    log_in(client, ORGANISER)
    waiting = _outbox_replies(client, event)
    assert "Please mark it done, says someone else." in waiting
    assert "An altered signature." in waiting and "No reply address at all." in waiting
    assert waiting.count("Its reply address was altered or not made by us.") == 2
    assert "It was not sent to a reply address of ours." in waiting
    assert "not reached" not in _tracker_row(client, event, "Bus passes")
    assert "answered by e-mail" not in _tracker_row(client, event, "Bus passes")

    with database.read() as session:
        kept = session.exec(select(InboundMail).order_by(InboundMail.id)).all()  # type: ignore[arg-type]
    for row in kept:
        dismissed = post_form(
            client, f"/organiser/events/{event.id}/outbox/replies/{row.id}", {"do": "dismiss"}
        )
        assert dismissed.status_code == 303  # type: ignore[attr-defined]
    assert _outbox_replies(client, event) == ""
    with database.read() as session:
        assert all(r.text == "" for r in session.exec(select(InboundMail)))

    # The owner erases their data: what they sent is deleted with it, and a reply after that
    # is not posted in their name: it waits for the organiser.
    before = _reply(received, "Before I go.")
    before.replace_header("To", f"outbox@{DOMAIN}")
    _send(receiver, before)
    assert "Before I go." in _outbox_replies(client, event)
    with database.write() as session:
        privacy.erase(
            session,
            session.get_one(Event, event.id),
            session.get_one(Participant, owner.id),
            ErasureMode.name_off,
            ErasedBy.person,
        )
    assert "Before I go." not in _outbox_replies(client, event)
    _send(receiver, _reply(received, "Still me, after erasing."))
    assert "The person asked for their data to be erased." in _outbox_replies(client, event)
    assert "Still me" not in text_of(client.get(_link(received, "Bus passes")).text)


def test_garbage_huge_and_hostile_messages_are_refused_or_kept_and_the_receiver_stays_up(
    client: TestClient, database: Database, mail_owner: MailOwner, receiver: int
) -> None:
    event, _owner, _made, received = mail_owner(["Bus passes"])
    to = received.message["Reply-To"].addresses[0].addr_spec

    # Over 10 MB: refused with 552, whether the client says its size first or not.
    huge = _reply(received, "x" * 100 + "\n" + ("y" * 76 + "\n") * 140_000)
    with pytest.raises(smtplib.SMTPResponseException) as refused:
        _send(receiver, huge, to)
    assert refused.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", receiver, timeout=30) as server:
        server.ehlo()
        server.esmtp_features.pop("size", None)  # a client that does not say
        with pytest.raises(smtplib.SMTPDataError) as too_much:
            server.sendmail("ada@example.org", [to], huge.as_bytes(policy=SMTP_POLICY))
        assert too_much.value.smtp_code == 552

    # Garbage on the wire and in the message: answered, kept, never a crash.
    with socket.create_connection(("127.0.0.1", receiver), 10) as raw:
        raw.recv(1024)
        raw.sendall(
            b"\x00\xff\xfe garbage\r\nMAIL FROM:<<<>>>\r\nRCPT TO:\r\n" + b"A" * 5000 + b"\r\n"
        )
        raw.sendall(b"QUIT\r\n")
        answers = b""
        with contextlib.suppress(OSError):
            while chunk := raw.recv(4096):
                answers += chunk
        assert b"221" in answers and b"250 " not in answers
    with smtplib.SMTP("127.0.0.1", receiver, timeout=30) as server:
        server.sendmail(
            "x@example.org",
            [to],
            b"\xff\xfe\x00not a message\r\n\r\n\x80\x81 binary junk \xc3\x28",
        )
    with smtplib.SMTP("127.0.0.1", receiver, timeout=30) as server:
        server.sendmail(
            "ada@example.org",
            [to],
            b"From: Ada <ada@example.org>\r\nTo: " + to.encode() + b"\r\n"
            b"Subject: Re: hi\xe2\x80\xa8Bcc: everyone@example.org\r\n"
            b"Message-ID: <separator@example.org>\r\nContent-Type: text/plain; charset=utf-8"
            b"\r\n\r\nFine words.\r\n",
        )
    with smtplib.SMTP("127.0.0.1", receiver, timeout=30) as server:
        message = (
            b"From: =?utf-8?q?Ada=0D=0ABcc=3A_all=40example=2Eorg?= <ada@example.org>\r\n"
            b"To: " + to.encode() + b"\r\nSubject: =?utf-8?q?Re=3A_x=0D=0ABcc=3A_y?=\r\n"
            b"Message-ID: <injected@example.org>\r\n\r\nEncoded words.\r\n"
        )
        server.sendmail("ada@example.org", [to], message)

    log_in(client, ORGANISER)
    page = client.get(f"/organiser/events/{event.id}/outbox")
    assert page.status_code == 200 and "It could not be read." in text_of(page.text)
    with database.read() as session:
        rows = session.exec(select(InboundMail)).all()
        updates = session.exec(select(ActionUpdate)).all()
    assert {u.note for u in updates} == {"Fine words.", "Encoded words."}
    assert all("\n" not in r.sender + r.subject and "\r" not in r.sender for r in rows)
    assert len(rows) == 3  # the junk kept too (empty once read), never dropped
    # Still up, and a plain reply after all that is posted.
    _send(receiver, _reply(received, "Still listening?"), to)
    assert "Still listening?" in text_of(client.get(_link(received, "Bus passes")).text)


def test_a_mail_server_delivers_a_reply_over_lmtp(
    client: TestClient, settings: Settings, mail_owner: MailOwner
) -> None:
    _event, _owner, _made, received = mail_owner(["Bus passes"])
    to = received.message["Reply-To"].addresses[0].addr_spec
    with _receiving(settings, "--lmtp") as port, smtplib.LMTP("127.0.0.1", port) as lmtp:
        refused = lmtp.sendmail(
            "ada@example.org",
            [to.upper()],  # a mail server may change the case of an address
            _reply(received, "Delivered by LMTP.").as_bytes(policy=SMTP_POLICY),
        )
        assert refused == {}
    assert "Delivered by LMTP." in text_of(client.get(_link(received, "Bus passes")).text)
