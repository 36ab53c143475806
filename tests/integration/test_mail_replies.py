"""Replies become updates: an owner answers a reminder from their mail program, and the answer
shows on the action without the quoted message; what cannot be placed waits on the Outbox page.

The receiver is the real `openspace receive-mail` in a process of its own (aiosmtpd, SMTP or
LMTP), sent to with smtplib as a mail server would; the messages replied to went out through
the real sender to a real SMTP sink.
"""

import contextlib
import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Action, ActionUpdate, Event, InboundMail, Participant, Topic
from app.models.mail import Purpose
from app.models.outcomes import ActionForm, ActionStatus
from app.security import LinkSigner
from app.services import actions, mail_sender, outbox
from app.services.mail import Links
from app.web.mail_links import mail_links
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, placed_topic
from tests.mail_sink import MailSink, Received, free_port

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
    env = {
        **os.environ,
        "OPENSPACE_DATABASE_URL": settings.database_url,
        "OPENSPACE_DATABASE_DIRECT_URL": settings.database_direct_url,
        "OPENSPACE_SECRET_KEY": settings.secret_key,
        "OPENSPACE_ENVIRONMENT": "test",
        "OPENSPACE_REPLY_DOMAIN": DOMAIN,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "receive-mail", "--port", str(port), *extra],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert process.poll() is None, "the receiver stopped"
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.1)
        yield port
        assert process.poll() is None, "the receiver went down"
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
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
    client: TestClient,
    make: Factory,
    database: Database,
    reply_settings: Settings,
    reply_links: Links,
    sink: MailSink,
    clock: Clock,
    receiver: int,
) -> None:
    event, _owner, [action] = _owner_with(make, clock, ["Bus passes for carers"])
    received = _mail_the_owner(database, reply_settings, reply_links, sink, clock)
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
