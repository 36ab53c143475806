"""After the closing circle: the book for those who asked (once per person, however often the
button is pressed), and the organiser's weekly digest while the event has open actions;
delivered through a real SMTP server (aiosmtpd), with the settable clock moved weeks on."""

import threading
from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.models import Action, Event, Message, Participant
from app.models.mail import MessageKind, MessageState, Purpose
from app.models.outcomes import ActionStatus, PledgeAnswerForm, PledgeForm, ProgressForm
from app.services import actions, later_mail, mail_sender, outbox, pledges
from app.services.mail import Links
from tests.conftest import log_in, post_form
from tests.factories import INJECTION, Factory, outcomes_event
from tests.mail_sink import MailSink

Clock = Callable[[datetime], None]
LONDON = ZoneInfo("Europe/London")
ORGANISER = "exports@example.org"


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def _kind(database: Database, kind: MessageKind) -> list[Message]:
    with database.read() as session:
        return list(
            session.exec(select(Message).where(Message.kind == kind).order_by(col(Message.id)))
        )


def _join(
    app: FastAPI, event: Event, name: str, ticks: dict[str, str], language: str = "en"
) -> None:
    """A participant joins from their phone (in its language), ticking what they want by
    e-mail."""
    with TestClient(app, follow_redirects=False, headers={"Accept-Language": language}) as phone:
        joined = post_form(
            phone,
            f"/e/{event.join_code}/join",
            {"display_name": name, "email": f"{name.lower()}@example.org", **ticks},
        )
        assert joined.status_code == 303  # type: ignore[attr-defined]


# --- the book -------------------------------------------------------------------------------


def test_the_book_goes_once_to_each_person_who_asked_however_often_it_is_sent(
    app: FastAPI,
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    clock(_at(date(2027, 5, 4), 9))
    _organiser, event, _transport, _housing = outcomes_event(make)
    clock(_at(date(2027, 5, 4), 17))
    _join(app, event, "Hana", {"mail_book": "on"}, language="pl")
    _join(app, event, "Ivo", {"mail_sessions": "on"})  # asked for other mail only
    log_in(client, ORGANISER)
    for _press in range(2):  # pressed twice …
        pressed = post_form(
            client,
            f"/events/{event.id}/book/send",
            {"back": f"/organiser/events/{event.id}"},
            follow_redirects=False,
        )
        assert pressed.status_code == 303  # type: ignore[attr-defined]
    page = client.get(f"/organiser/events/{event.id}")
    assert "The book was sent on" in page.text
    threads = [  # … and twice at once
        threading.Thread(target=_send_book, args=(database, event.id)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [message] = _kind(database, MessageKind.book)
    assert message.to_address == "hana@example.org"

    mail_sender.send_due(database, mail_settings, links, plan=False)
    mail_sender.send_due(database, mail_settings, links, plan=False)
    # Its subject is in Polish, the language she joined in: found by its Message-ID.
    books = [r for r in sink.received if f"<{message.message_id}@" in r.message["Message-ID"]]
    [received] = books
    assert received.rcpt_tos == ["hana@example.org"]
    assert '<html lang="pl"' in received.part("html")  # the language she joined in
    with database.read() as session:
        hana = session.exec(select(Participant).where(Participant.display_name == "Hana")).one()
    assert hana.id is not None
    assert received.message["List-Unsubscribe"] == f"<{links.stop(hana.id, Purpose.book)}>"
    assert links.privacy(event) in received.part("plain")
    link = f"{links.choices(hana.id)}/book"
    assert link in received.part("plain") and link in received.part("html")
    with TestClient(app) as stranger:  # the link works on any device, and names nobody
        book = stranger.get(link.removeprefix("http://testserver"))
    assert book.status_code == 200
    assert "Transport" in book.text and "Night buses" in book.text
    assert "Zażółć" not in book.text and "zazolc@example.pl" not in book.text


def _send_book(database: Database, event_id: int | None) -> None:
    with database.write() as session:
        later_mail.send_book(session, session.get_one(Event, event_id))


def test_no_book_before_the_first_report_and_none_for_who_did_not_ask(
    client: TestClient, make: Factory, database: Database, clock: Clock
) -> None:
    organiser = make.organiser(ORGANISER)
    event = make.event(organiser, starts_on=date(2027, 5, 4))
    person = make.participant(event, "Hana", "hana@example.org")
    assert person.id is not None
    with database.write() as session:
        outbox.set_consent(session, person.id, Purpose.book, True)
    log_in(client, ORGANISER)
    refused = post_form(client, f"/events/{event.id}/book/send", {}, follow_redirects=False)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "no book to send" in refused.text  # type: ignore[attr-defined]
    assert _kind(database, MessageKind.book) == []


# --- the organiser's weekly digest ----------------------------------------------------------


def _plan_and_send(database: Database, settings: Settings, links: Links) -> None:
    mail_sender.send_due(database, settings, links)


def _action(database: Database, title: str) -> Action:
    with database.read() as session:
        return session.exec(select(Action).where(Action.title == title)).one()


def _progress(database: Database, title: str, status: ActionStatus, note: str = "") -> None:
    with database.write() as session:
        action = session.get_one(Action, _action(database, title).id)
        actions.post_progress(
            session, action, ProgressForm(status=status, note=note), via_link=True, written_by="Z"
        )


def test_the_weekly_digest_while_actions_are_open(
    app: FastAPI,
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    clock(_at(date(2027, 5, 4), 9))
    _organiser, event, _transport, _housing = outcomes_event(make)
    clock(_at(date(2027, 5, 4), 12))  # on the day: no digest yet
    _plan_and_send(database, mail_settings, links)
    assert _kind(database, MessageKind.digest) == []

    clock(_at(date(2027, 5, 11)))  # a week on: one update, and a pledge answered
    _progress(database, "Free bus passes for carers", ActionStatus.in_progress, "Met the council")
    author = make.participant(event, "Pia", "pia@example.org")
    with database.write() as session:
        pledge = pledges.save_pledge(session, event, author, PledgeForm(text="Cycle to work"))
        pledges.answer_pledge(session, pledge, PledgeAnswerForm(answer="Twice a week so far"))
    threads = [  # several workers plan at once: one digest
        threading.Thread(target=later_mail.plan_digests, args=(database,)) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _plan_and_send(database, mail_settings, links)
    _plan_and_send(database, mail_settings, links)
    [first] = sink.to(ORGANISER)
    assert first.message["Subject"] == "This week's actions from Łódź — اردو day"
    text = first.part("plain")
    updated = text.split("Updated this week")[1].split("The tracker")[0]
    assert "Free bus passes for carers" in updated and "Met the council" in updated
    assert "Pledges answered this week" in text and "Twice a week so far" in text
    assert "Past the due date" not in text and "No word for 60 days" not in text
    bus = _action(database, "Free bus passes for carers")
    tracker = f"http://testserver/organiser/events/{event.id}/actions"
    assert f"{tracker}#action-{bus.id}" in text and tracker in first.part("html")
    log_in(client, ORGANISER)
    page = client.get(tracker.removeprefix("http://testserver"))
    assert page.status_code == 200 and f'id="action-{bus.id}"' in page.text
    [digest] = _kind(database, MessageKind.digest)  # the Outbox shows it as it was read
    outbox_page = client.get(f"/organiser/events/{event.id}/outbox")
    assert outbox_page.status_code == 200 and "This week&#39;s actions" in outbox_page.text
    shown = client.get(f"/organiser/events/{event.id}/outbox/{digest.id}")
    assert shown.status_code == 200 and "Met the council" in shown.text
    assert first.message["List-Unsubscribe"].startswith("<http://testserver/mail/digest/")
    assert links.privacy(event) in text

    clock(_at(date(2027, 9, 14)))  # months on: overdue, and no word for 60 days
    _plan_and_send(database, mail_settings, links)
    [_first, later] = sink.to(ORGANISER)
    text = later.part("plain")
    assert "Updated this week" not in text and "Pledges answered this week" not in text
    overdue = text.split("Past the due date")[1].split("No word for 60 days")[0]
    stale = text.split("No word for 60 days")[1]
    assert "Free bus passes for carers" in overdue and "Free bus passes for carers" in stale

    for title in ("Free bus passes for carers", INJECTION):  # every action done or dropped
        _progress(database, title, ActionStatus.done)
    clock(_at(date(2027, 9, 21)))
    _plan_and_send(database, mail_settings, links)
    assert len(sink.to(ORGANISER)) == 2


def test_an_organiser_turns_the_digest_off_by_one_click_or_on_their_account(
    app: FastAPI,
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Clock,
) -> None:
    clock(_at(date(2027, 5, 4), 9))
    _organiser, event, _transport, _housing = outcomes_event(make)
    clock(_at(date(2027, 5, 11)))
    _plan_and_send(database, mail_settings, links)
    [first] = sink.to(ORGANISER)
    stop = first.message["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")
    with TestClient(app) as mail_program:
        assert "Stop the weekly digest" in mail_program.get(stop).text  # a GET changes nothing
        clock(_at(date(2027, 5, 18)))
        _plan_and_send(database, mail_settings, links)
        assert len(sink.to(ORGANISER)) == 2
        answered = mail_program.post(stop, content=b"List-Unsubscribe=One-Click")
    assert answered.status_code == 200 and "Done" in answered.text
    clock(_at(date(2027, 5, 25)))
    _plan_and_send(database, mail_settings, links)
    assert len(sink.to(ORGANISER)) == 2

    log_in(client, ORGANISER)  # on again from the account page; off for this event
    post_form(client, "/organiser/account/digest", {"weekly_digest": "1"})
    post_form(client, f"/organiser/events/{event.id}/digest", {"weekly_digest": "0"})
    assert (
        "Send its organisers the weekly digest" in client.get(f"/organiser/events/{event.id}").text
    )
    clock(_at(date(2027, 6, 1)))
    _plan_and_send(database, mail_settings, links)
    assert len(sink.to(ORGANISER)) == 2
    post_form(client, f"/organiser/events/{event.id}/digest", {"weekly_digest": "1"})
    clock(_at(date(2027, 6, 8)))
    _plan_and_send(database, mail_settings, links)
    assert len(sink.to(ORGANISER)) == 3
    with database.read() as session:
        states = session.exec(select(Message.state).where(Message.kind == MessageKind.digest)).all()
    assert all(state == MessageState.sent for state in states)
