"""The demo tells the whole story: beside this year's event, last year's finished one with a
year behind it (done, late, quiet and dropped actions, answered pledges, updates dated over the
months), its open work and pledges already carried into this year's."""

from datetime import timedelta

from fastapi.testclient import TestClient
from lxml import html
from sqlmodel import select

from app.models import ActionUpdate, Event, Message
from app.models.mail import MessageKind
from app.services import demo
from app.services.accounts import set_password
from tests.conftest import log_in, text_of
from tests.factories import PASSWORD, Factory


def test_the_demo_has_last_years_event_a_year_on_and_this_years_carrying_its_work(
    client: TestClient, make: Factory
) -> None:
    with make.database.write() as session:
        this, organiser, _password = demo.create_demo(session)
        set_password(session, organiser, PASSWORD)
    with make.database.read() as session:
        last = session.exec(select(Event).where(Event.name == f"{this.name} (last year)")).one()
        assert last.closed_at is not None
        assert (this.starts_on - last.starts_on).days == 364
        dated = sorted(u.created_at.date() for u in session.exec(select(ActionUpdate)))
        told = session.exec(select(Message).where(Message.kind == MessageKind.action_carried))
        # Told: the owners of open actions who gave an address (Ruth's and Imran's are done).
        assert {m.to_address for m in told} == {"kwame@example.org", "helen@example.org"}
    # A year of updates, dated from weeks after the day to weeks before this year's.
    assert dated[0] <= last.starts_on + timedelta(days=30)
    assert dated[-2] >= last.starts_on + timedelta(days=300)
    log_in(client, demo.DEMO_EMAIL)
    board = text_of(client.get(f"/organiser/events/{last.id}/dashboard").text)
    assert "9 actions agreed." in board
    assert "3 done, 1 dropped, 5 still open" in board
    tree = html.fromstring(client.get(f"/organiser/events/{last.id}/dashboard").text)
    late = tree.xpath('//section[@aria-labelledby="late"]')[0].text_content()
    quiet = tree.xpath('//section[@aria-labelledby="quiet"]')[0].text_content()
    assert "Ask the trust for a night shuttle" in late and "Count young carers" in late
    assert "café" in quiet and "Count young carers" not in quiet
    assert "We went four times." in board
    report = text_of(client.get(f"/organiser/events/{last.id}/one-year-on").text)
    assert "The line opened in April." in report
    carried = client.get(f"/organiser/events/{this.id}/carried").text
    assert "Carried over (5)" in text_of(carried) and "Pledges carried over (4)" in text_of(carried)
    across = text_of(client.get("/organiser/dashboard").text)
    assert "2 events." in across
