"""Carry it into the next event: last year's open actions brought into this year's event,
linked, not copied; carried twice (or four times at once) they come once."""

import threading
from datetime import date
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from lxml import html
from sqlmodel import select

from app.models import Action, CarriedAction
from app.models.base import set_clock
from app.services import carry_over
from tests.conftest import csrf_token, log_in, post_form, text_of
from tests.factories import Factory, count
from tests.integration.test_followup_dashboard import a_year_on, at, clock  # noqa: F401

NEXT_YEAR = date(2026, 11, 26)


def test_open_actions_come_into_next_years_event_once_with_their_owner_and_last_update(
    client: TestClient,
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    last = a_year_on(make)
    this = make.event(last.organiser, name="Healthy towns 2026", starts_on=NEXT_YEAR)
    log_in(client, last.organiser.email)
    address = f"/organiser/events/{this.id}/carried"
    page = client.get(address)
    assert page.status_code == 200
    assert "Healthy towns 2025" in text_of(page.text) and "2 open actions" in text_of(page.text)
    assert f'href="{address}"' in client.get(f"/organiser/events/{this.id}").text

    brought = post_form(client, address, {"from_event_id": str(last.event.id)})
    assert brought.status_code == 303  # type: ignore[attr-defined]
    assert brought.headers["location"] == f"{address}?brought=2"  # type: ignore[attr-defined]
    page = client.get(f"{address}?brought=2")
    here = html.fromstring(page.text).xpath('//section[@aria-labelledby="here"]')[0]
    shown = " ".join(here.text_content().split())
    assert "Carried over (2)" in shown
    assert "Tenants' forum" in shown and "Night bus pilot" in shown
    assert "Damp checks" not in shown and "lighting" not in shown  # done, dropped
    assert "Owner: Council team" in shown and "Operator agreed." in shown
    assert f'href="/organiser/events/{last.event.id}/actions#action-' in page.text

    # Asked again: nothing new. The actions are still the year-old rows, not copies.
    again = post_form(client, address, {"from_event_id": str(last.event.id)})
    assert again.headers["location"] == f"{address}?brought=0"  # type: ignore[attr-defined]
    assert count(make.database, CarriedAction) == 2
    assert count(make.database, Action) == 5
    with make.database.read() as session:
        assert {a.event_id for a in session.exec(select(Action))} == {last.event.id}

    # The owner posts through the link shown in this year's event: last year's dashboard and
    # this year's page show the one update.
    night_bus = last.titles["Night bus pilot"]
    link = html.fromstring(page.text).xpath(
        f'//li[@id="carried-{night_bus}"]//a[contains(@href, "/a/")]/@href'
    )[0]
    set_clock(at(date(2026, 11, 24)))
    owner = TestClient(client.app, follow_redirects=False)
    path = urlsplit(link).path
    assert owner.get(path).status_code == 200
    posted = owner.post(
        path,
        data={"status": "done", "note": "Runs every night now.", "csrf_token": csrf_token(owner)},
    )
    assert posted.status_code == 303, posted.text
    assert "Runs every night now." in text_of(client.get(address).text)
    board = client.get(f"/organiser/events/{last.event.id}/dashboard").text
    assert "3 done, 1 dropped, 1 still open" in text_of(board)


def test_carrying_is_only_from_an_earlier_event_of_ones_own(
    client: TestClient,
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    last = a_year_on(make)
    this = make.event(last.organiser, name="Healthy towns 2026", starts_on=NEXT_YEAR)
    later = make.event(last.organiser, name="Healthy towns 2027", starts_on=date(2027, 11, 25))
    theirs = make.event(make.organiser("other@example.org"), starts_on=date(2025, 1, 1))
    log_in(client, last.organiser.email)
    address = f"/organiser/events/{this.id}/carried"
    page = client.get(address).text
    assert "Healthy towns 2027" not in page  # not earlier
    refused = post_form(client, address, {"from_event_id": str(later.id)})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "Choose an event that came before this one." in text_of(refused.text)  # type: ignore[attr-defined]
    assert post_form(client, address, {"from_event_id": str(theirs.id)}).status_code == 403  # type: ignore[attr-defined]
    assert post_form(client, address, {"from_event_id": "999999"}).status_code == 404  # type: ignore[attr-defined]
    assert count(make.database, CarriedAction) == 0


def test_four_organisers_pressing_at_once_carry_each_action_once(
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    last = a_year_on(make)
    this = make.event(last.organiser, name="Healthy towns 2026", starts_on=NEXT_YEAR)
    start = threading.Barrier(4)
    brought: list[int] = []
    failed: list[BaseException] = []

    def press() -> None:
        try:
            start.wait()
            with make.database.write() as session:
                brought.append(
                    carry_over.carry_open_actions(session, last.organiser, this, last.event.id)
                )
        except BaseException as error:  # reported below
            failed.append(error)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failed
    assert count(make.database, CarriedAction) == 2
    assert sum(brought) == 2
