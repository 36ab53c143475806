"""A person's e-mail choices: every message links to them, a GET never changes anything (mail
scanners follow links), and RFC 8058's one-click POST stops that kind at once."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from email.policy import SMTP
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Event, Message, Participant, Topic
from app.models.mail import MailConsent, MessageKind, MessageState, Purpose
from app.models.outcomes import ActionForm, PledgeForm
from app.security import LinkSigner
from app.services import actions, mail, mail_sender, outbox, pledges
from app.services.mail import Links
from app.web.participant.mail_choices import choices_path, stop_path
from tests.conftest import post_form, text_of
from tests.factories import Factory, placed_topic
from tests.mail_sink import MailSink

LONDON = ZoneInfo("Europe/London")
POSTCARD_DAY = datetime.combine(date(2027, 11, 4), time(9, 30), tzinfo=LONDON)


def _person_with_both(make: Factory) -> tuple[Event, Participant]:
    """Someone who asked for their pledge's postcard and for news of the action they own;
    both messages wait."""
    event = make.event(starts_on=date(2027, 5, 4))
    slot = make.slot(event, time(10), time(11))
    topic = placed_topic(make, event, slot, make.space(event), "Transport")
    person = make.participant(event, "Bogdan Nowak", "bogdan@example.pl")
    assert person.id is not None
    with make.database.write() as session:
        outbox.set_consent(session, person.id, Purpose.actions, True)
        pledges.save_pledge(session, event, person, PledgeForm(text="Walk", postcard=True))
        actions.add_action(
            session,
            event,
            session.get_one(Topic, topic.id),
            person,
            ActionForm(title="Ask the council"),
            owner_id=person.id,
        )
    return event, person


def _state(database: Database, person: Participant) -> tuple[set[str], dict[str, str], str]:
    """What the person has ticked, each kind of message's state, and their address."""
    with database.read() as session:
        ticked = {c.purpose for c in session.exec(select(MailConsent))}
        messages = {m.kind: m.state for m in session.exec(select(Message))}
        return ticked, messages, session.get_one(Participant, person.id).email


def _signer(settings: Settings) -> LinkSigner:
    return LinkSigner(settings.secret_key)


def test_every_message_links_to_the_choices_and_carries_one_click_unsubscribe(
    app: FastAPI,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Callable[[datetime], None],
) -> None:
    _event, person = _person_with_both(make)
    assert person.id is not None
    clock(POSTCARD_DAY)
    mail_sender.send_due(database, mail_settings, links)
    by_kind = {r.message["Subject"].split(" ")[1]: r for r in sink.to("bogdan@example.pl")}
    assert set(by_kind) == {"pledge", "actions"}
    signer = _signer(mail_settings)
    for word, purpose in (("pledge", Purpose.pledge), ("actions", Purpose.actions)):
        received = by_kind[word]
        stop = f"http://testserver{stop_path(signer, person.id, purpose)}"
        assert received.message["List-Unsubscribe"] == f"<{stop}>"
        assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        choices = f"http://testserver{choices_path(signer, person.id)}"
        assert choices in received.part("plain") and choices in received.part("html")

    # On the wire the header is one line, however long the address.
    with database.read() as session:
        message = session.exec(
            select(Message).where(Message.kind == MessageKind.pledge_postcard)
        ).one()
        wire = mail.compose(session, mail_settings, message, links).as_bytes(policy=SMTP)
    [line] = [ln for ln in wire.split(b"\r\n") if ln.startswith(b"List-Unsubscribe:")]
    assert line.endswith(b">") and b"/mail/stop/" in line

    with TestClient(app) as browser:
        page = browser.get(choices_path(signer, person.id))
    assert page.status_code == 200
    words = text_of(page.text)
    assert "bogdan@example.pl" in words and "Your pledge's postcard" in words
    assert "Stop these e-mails" in words


def test_a_get_of_either_link_changes_nothing(
    app: FastAPI, make: Factory, database: Database, settings: Settings
) -> None:
    _event, person = _person_with_both(make)
    assert person.id is not None
    before = _state(database, person)
    assert before[0] == {Purpose.pledge, Purpose.actions}
    signer = _signer(settings)
    # A mail scanner: no cookies, every link opened, more than once.
    scanner = TestClient(app, follow_redirects=True)
    for path in (
        choices_path(signer, person.id),
        stop_path(signer, person.id, Purpose.pledge),
        stop_path(signer, person.id, Purpose.actions),
    ):
        for _again in range(2):
            answer = scanner.get(path)
            assert answer.status_code == 200
            assert '<form method="post"' in answer.text
            scanner.head(path)
    assert _state(database, person) == before
    with database.read() as session:
        assert all(m.state == MessageState.waiting for m in session.exec(select(Message)))


def test_one_click_post_stops_that_kind_and_what_waits_for_it(
    app: FastAPI,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Callable[[datetime], None],
) -> None:
    _event, person = _person_with_both(make)
    assert person.id is not None
    signer = _signer(mail_settings)
    # As a mail program sends it: no cookie, no CSRF token, the RFC 8058 body.
    with TestClient(app, follow_redirects=False) as mail_program:
        answer = mail_program.post(
            stop_path(signer, person.id, Purpose.pledge),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200
    ticked, messages, address = _state(database, person)
    assert ticked == {Purpose.actions}
    assert messages == {
        MessageKind.pledge_postcard: MessageState.cancelled,
        MessageKind.action_owner: MessageState.waiting,
    }
    assert address == "bogdan@example.pl"
    clock(POSTCARD_DAY + timedelta(days=1))
    mail_sender.send_due(database, mail_settings, links)
    # (The organiser's weekly digest goes to the organiser, not to Bogdan.)
    received = sink.to("bogdan@example.pl")
    assert [r.message["Subject"].split(" ")[1] for r in received] == ["actions"]


def test_a_link_that_is_not_ours_changes_nothing(
    app: FastAPI, make: Factory, database: Database, settings: Settings
) -> None:
    _event, person = _person_with_both(make)
    assert person.id is not None
    before = _state(database, person)
    signer = _signer(settings)
    other_key = LinkSigner("another-installation-secret-key-long-enough")
    choices_token = choices_path(signer, person.id).rsplit("/", 1)[1]
    with TestClient(app, follow_redirects=False) as stranger:
        for path in (
            f"/mail/stop/{choices_token}",  # signed, but for the page, not for stopping
            stop_path(other_key, person.id, Purpose.pledge),
            "/mail/stop/not-a-token",
            stop_path(signer, 999999, Purpose.pledge),
        ):
            assert stranger.post(path, content=b"List-Unsubscribe=One-Click").status_code == 404
    assert _state(database, person) == before


def test_the_page_stops_a_kind_or_forgets_the_address(
    app: FastAPI, make: Factory, database: Database, settings: Settings
) -> None:
    _event, person = _person_with_both(make)
    assert person.id is not None
    path = choices_path(_signer(settings), person.id)
    with TestClient(app, follow_redirects=False) as browser:
        # Without the page's CSRF token a post is refused.
        assert browser.post(path, data={"stop": "actions"}).status_code == 403
        browser.get(path)
        stopped = post_form(browser, path, {"stop": "actions"})
        assert stopped.status_code == 303  # type: ignore[attr-defined]
        page = browser.get(stopped.headers["location"])  # type: ignore[attr-defined]
        assert "you will not get those e-mails any more" in text_of(page.text)
        assert _state(database, person)[0] == {Purpose.pledge}

        removed = post_form(browser, path, {"remove": "address"})
        page = browser.get(removed.headers["location"])  # type: ignore[attr-defined]
        assert "your e-mail address is removed" in text_of(page.text)
    ticked, messages, address = _state(database, person)
    assert (ticked, address) == (set(), "")
    assert set(messages.values()) == {MessageState.cancelled}


def test_the_test_message_has_no_unsubscribe(mail_settings: Settings, sink: MailSink) -> None:
    mail_sender.send_test(mail_settings, "me@example.org")
    [received] = sink.received
    assert received.message["List-Unsubscribe"] is None
