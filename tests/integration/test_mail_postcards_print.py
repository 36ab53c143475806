"""Pledge postcards on paper: for authors with no address, or whose e-mailed postcard could
not be delivered, four to an A4 page, each with a code to answer "How did it go?"."""

from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from app.config import Settings
from app.db import Database
from app.models.outcomes import PledgeForm
from app.services import mail_sender, pledges
from app.services.mail import Links
from tests.conftest import log_in, text_of
from tests.factories import Factory
from tests.mail_sink import MailSink

LONDON = ZoneInfo("Europe/London")


def test_postcards_to_print_are_those_that_do_not_go_by_mail(
    client: TestClient,
    make: Factory,
    database: Database,
    mail_settings: Settings,
    links: Links,
    sink: MailSink,
    clock: Callable[[datetime], None],
) -> None:
    event = make.event(make.organiser("printer@example.org"), starts_on=date(2027, 5, 4))
    for name, address, text, by_mail, remind_on in (
        ("Paper Person", "", "Plant a tree", False, date(2027, 11, 4)),
        ("Mail Person", "mail@example.org", "Walk to work", True, date(2027, 11, 4)),
        ("Bounced Person", "gone@example.org", "Call my MP", True, date(2027, 11, 4)),
        ("Later Person", "", "Learn Welsh", False, date(2028, 3, 1)),
    ):
        person = make.participant(event, name, address)
        with database.write() as session:
            pledges.save_pledge(
                session,
                event,
                person,
                PledgeForm(text=text, postcard=by_mail, remind_on=remind_on),
            )
    sink.refuse["gone@example.org"] = "550 5.1.1 No such user here"
    clock(datetime.combine(date(2027, 11, 4), time(10), tzinfo=LONDON))
    mail_sender.send_due(database, mail_settings, links)

    log_in(client, "printer@example.org")
    outbox_page = text_of(client.get(f"/organiser/events/{event.id}/outbox").text)
    assert "Print 2 pledge postcards for people with no e-mail" in outbox_page

    page = client.get(f"/organiser/events/{event.id}/postcards")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "For Paper Person" in words and "Plant a tree" in words
    assert "For Bounced Person" in words  # the e-mail could not be delivered
    assert "Walk to work" not in words and "Learn Welsh" not in words
    assert page.text.count('<article class="postcard"') == 2
    assert page.text.count("<svg") == 2  # a code to answer, on each
    assert "http://testserver/p/" in page.text

    later = text_of(client.get(f"/organiser/events/{event.id}/postcards?until=2028-03-01").text)
    assert "Learn Welsh" in later

    # The pledges page says how each postcard goes.
    listed = client.get(f"/organiser/events/{event.id}/pledges").text
    rows = {
        text: text_of(listed[listed.index(text) :].split("</li>")[0])
        for text in ("Plant a tree", "Walk to work", "Call my MP")
    }
    assert "postcard on paper" in rows["Plant a tree"]
    assert "postcard by e-mail: Sent 4 November 2027" in rows["Walk to work"]
    assert "postcard by e-mail: Failed — print it instead" in rows["Call my MP"]
