"""The pledge postcard's "How did it go?": its link shows the pledge and a form, the answer
is kept with the pledge, and the organisers read it."""

import re
from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import Database
from app.models import Pledge
from app.models.outcomes import PledgeForm
from app.security import LinkSigner
from app.services import mail_sender, pledges
from app.services.mail import Links
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory
from tests.mail_sink import MailSink

LONDON = ZoneInfo("Europe/London")


def _pledge(database: Database, pledge_id: int | None) -> Pledge:
    with database.read() as session:
        return session.get_one(Pledge, pledge_id)


def test_the_postcards_answer_link_keeps_the_answer_for_the_organisers(
    app: FastAPI,
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Callable[[datetime], None],
) -> None:
    organiser = make.organiser("pledge-answers@example.org")
    event = make.event(organiser, starts_on=date(2027, 5, 4))
    person = make.participant(event, "Bogdan Nowak", "bogdan@example.pl")
    with database.write() as session:
        pledge = pledges.save_pledge(
            session, event, person, PledgeForm(text="Ride the bus on Fridays", postcard=True)
        )
    clock(datetime.combine(date(2027, 11, 4), time(9, 30), tzinfo=LONDON))
    mail_sender.send_due(database, mail_settings, links)
    [received] = sink.received
    [link] = re.findall(r"http://testserver/p/\S+", received.part("plain"))
    assert link in received.part("html")
    path = link.removeprefix("http://testserver")

    with TestClient(app, follow_redirects=False) as author:
        # Opening the link (as a mail scanner would, too) only shows the pledge and a form.
        page = author.get(path)
        assert page.status_code == 200
        assert "Ride the bus on Fridays" in text_of(page.text)
        assert _pledge(database, pledge.id).answered_at is None

        empty = post_form(author, path, {"answer": "  "})
        assert empty.status_code == 422  # type: ignore[attr-defined]
        assert _pledge(database, pledge.id).answered_at is None

        sent = post_form(author, path, {"answer": "Most Fridays; the 8:10 is always late"})
        assert sent.status_code == 303  # type: ignore[attr-defined]
        thanks = author.get(sent.headers["location"])  # type: ignore[attr-defined]
        assert "your answer is kept with your pledge" in text_of(thanks.text)
        post_form(author, path, {"answer": "Every Friday since March"})
    kept = _pledge(database, pledge.id)
    assert kept.answer == "Every Friday since March" and kept.answered_at is not None

    log_in(client, organiser.email)
    seen = text_of(client.get(f"/organiser/events/{event.id}/pledges").text)
    assert "Every Friday since March" in seen


def test_an_answer_link_that_is_not_ours_finds_nothing(
    client: TestClient, make: Factory, database: Database, settings: Settings
) -> None:
    event = make.event(starts_on=date(2027, 5, 4))
    person = make.participant(event, "Bogdan Nowak", "bogdan@example.pl")
    with database.write() as session:
        pledge = pledges.save_pledge(session, event, person, PledgeForm(text="Walk"))
    assert pledge.id is not None
    ours, theirs = LinkSigner(settings.secret_key), LinkSigner("x" * 40)
    assert client.get(f"/p/{theirs.sign('pledge-answer', pledge.id)}").status_code == 404
    assert client.get(f"/p/{ours.sign('action', pledge.id)}").status_code == 404
    assert client.get(f"/p/{ours.sign('pledge-answer', 999999)}").status_code == 404
    assert client.get(f"/p/{ours.sign('pledge-answer', pledge.id)}").status_code == 200
