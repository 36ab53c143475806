"""The follow-up dashboard, a year on: a year of actions and updates made through the
services with the clock moved month by month, then the page read as the organiser would."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from lxml import etree, html

from app.models import ActionStatus, Event, Organiser, Participant, Theme, Topic
from app.models.base import set_clock
from app.models.outcomes import (
    ActionForm,
    ContributionCreate,
    PledgeAnswerForm,
    PledgeForm,
    ProgressForm,
)
from app.services import actions, charts, contributions, pledges, signups
from app.services.followup_stats import Figure
from tests.conftest import log_in, text_of
from tests.factories import Factory, placed_topic

DAY = date(2025, 11, 20)
SVG_LIMIT = 30 * 1024


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[None]:
    yield
    set_clock(None)


@dataclass
class Year:
    organiser: Organiser
    event: Event
    titles: dict[str, int]


def a_year_on(make: Factory) -> Year:
    """Last year's event: three sessions, five actions under two aims, two pledges; then a
    year of progress, the clock moved to each update's day. The clock ends a year on."""
    set_clock(at(DAY, 9))
    organiser = make.organiser("oneyear@example.org")
    event = make.event(organiser, name="Healthy towns 2025", starts_on=DAY)
    slot = make.slot(event, time(10, 0), time(11, 0))
    later = make.slot(event, time(11, 30), time(12, 30))
    hall, studio = make.space(event, "Hall", 40), make.space(event, "Studio", 20)
    housing = placed_topic(make, event, slot, hall, "Damp homes and health")
    transport = placed_topic(make, event, slot, studio, "Buses after dark")
    quiet = placed_topic(make, event, later, hall, "A session nobody wrote up")
    people = [make.participant(event, f"Person {n}", f"p{n}@example.org") for n in range(6)]
    with make.database.write() as session:
        for n, person in enumerate(people):
            topic = session.get_one(Topic, housing.id if n < 4 else transport.id)
            signups.sign_up(session, event, topic, session.get_one(Participant, person.id))
    set_clock(at(DAY, 14))
    titles: dict[str, int] = {}
    with make.database.write() as session:
        homes = Theme(event_id=event.id or 0, name="Warm homes", position=1)
        travel = Theme(event_id=event.id or 0, name="Getting about", position=2)
        session.add_all([homes, travel])
        session.flush()
        topics = {t.id: session.get_one(Topic, t.id) for t in (housing, transport, quiet)}
        writer = session.get_one(Participant, people[0].id)
        for body in (
            "Mould is a health problem, not a tenant problem.",
            "Landlords listen to GPs.",
        ):
            contributions.contribute(
                session, event, topics[housing.id], writer, ContributionCreate(body=body)
            )
        contributions.contribute(
            session,
            event,
            topics[transport.id],
            session.get_one(Participant, people[4].id),
            ContributionCreate(body="Night buses."),
        )
        for title, topic_id, theme, due in (
            ("Damp checks by GPs", housing.id, homes, date(2026, 3, 1)),
            ("Insulation grants leaflet", housing.id, homes, date(2026, 2, 1)),
            ("Tenants' forum", housing.id, homes, None),
            ("Night bus pilot", transport.id, travel, date(2026, 6, 1)),
            ("Bus stop lighting audit", transport.id, travel, date(2026, 9, 1)),
        ):
            action = actions.add_action(
                session,
                event,
                topics[topic_id],
                writer,
                ActionForm(
                    title=title, owner_name="Council team", due_on=due, status=ActionStatus.agreed
                ),
                theme_ids=[theme.id or 0],
            )
            titles[title] = action.id or 0
        for n, person in enumerate(people[:2]):
            pledges.save_pledge(
                session,
                event,
                session.get_one(Participant, person.id),
                PledgeForm(text=f"I will ask about damp at every visit ({n})."),
            )
    # A year of updates, each on its own day.
    for day, title, status, note in (
        (date(2025, 12, 15), "Damp checks by GPs", ActionStatus.in_progress, "Two practices in."),
        (date(2026, 1, 20), "Insulation grants leaflet", ActionStatus.done, "Printed 5,000."),
        (date(2026, 2, 10), "Night bus pilot", ActionStatus.in_progress, "Operator agreed."),
        (date(2026, 4, 2), "Damp checks by GPs", ActionStatus.done, "All practices."),
        (date(2026, 5, 5), "Bus stop lighting audit", ActionStatus.dropped, "No budget."),
    ):
        set_clock(at(day))
        with make.database.write() as session:
            action = actions.action_in(session, event, titles[title])
            actions.post_progress(
                session,
                action,
                ProgressForm(status=status, note=note),
                via_link=True,
                written_by="Council team",
            )
    set_clock(at(date(2026, 5, 20)))
    with make.database.write() as session:
        first = pledges.pledge_of(session, event, session.get_one(Participant, people[0].id))
        assert first is not None
        pledges.answer_pledge(session, first, PledgeAnswerForm(answer="Asked 40 families."))
    set_clock(at(DAY.replace(year=2026)))
    return Year(organiser, event, titles)


def _charts(page: str) -> dict[str, str]:
    return {
        m.group(1): m.group(0)
        for m in re.finditer(r'<svg[^>]*id="chart-([a-z-]+)".*?</svg>', page, flags=re.S)
    }


def _table(tree: html.HtmlElement, key: str) -> list[list[str]]:
    section = tree.xpath(f'//section[@aria-labelledby="fig-{key}"]')[0]
    return [
        [cell.text_content().strip() for cell in row.xpath("./th|./td")]
        for row in section.xpath(".//table/tbody/tr")
    ]


def test_dashboard_a_year_on_says_what_became_of_the_day(
    client: TestClient, make: Factory, clock: None
) -> None:
    year = a_year_on(make)
    log_in(client, year.organiser.email)
    page = client.get(f"/organiser/events/{year.event.id}/dashboard")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    text = text_of(page.text)
    assert "5 actions agreed." in text
    assert "2 done, 1 dropped, 2 still open" in text
    # Overdue: open and past its date. Gone quiet: open, no news for 60 days (the tenants'
    # forum since the day, the night bus since February).
    tree = html.fromstring(page.text)
    late = tree.xpath('//section[@aria-labelledby="late"]')[0].text_content()
    quiet = tree.xpath('//section[@aria-labelledby="quiet"]')[0].text_content()
    assert "Night bus pilot" in late and "Tenants" not in late and "Damp checks" not in late
    assert "Tenants' forum" in quiet and "Night bus pilot" in quiet and "leaflet" not in quiet
    # The burn-down: five open on the day, then done and dropped as the updates came.
    burn = _table(tree, "burn-down")
    assert burn[0] == ["20 Nov 2025", "5", "0", "0"]
    assert burn[-1] == ["20 Nov 2026", "2", "2", "1"]
    by_month = {row[0]: row[1:] for row in burn}
    # Each point counts to the end of its day: the leaflet was done on 20 January.
    assert by_month["20 Dec 2025"] == ["5", "0", "0"]
    assert by_month["20 Jan 2026"] == ["4", "1", "0"]
    assert by_month["20 Feb 2026"] == ["4", "1", "0"]
    assert by_month["20 May 2026"] == ["2", "2", "1"]
    assert _table(tree, "themes") == [
        ["Warm homes", "1", "2", "0"],
        ["Getting about", "1", "0", "1"],
    ]
    assert _table(tree, "pledges") == [["Answered", "1"], ["Not answered yet", "1"]]
    assert "Asked 40 families." in text
    # Who took part: the sign-ups, and whoever wrote in the report (Person 0 wrote the
    # buses' actions).
    assert _table(tree, "attendance") == [
        ["Damp homes and health", "4"],
        ["Buses after dark", "3"],
        ["A session nobody wrote up", "0"],
    ]
    assert _table(tree, "writing")[0] == ["Damp homes and health", "13"]
    # Each chart: an SVG a screen reader can name, its numbers those of its table, no script.
    drawn = _charts(page.text)
    assert set(drawn) == {"burn-down", "themes", "pledges", "attendance", "writing"}
    for key, svg in drawn.items():
        assert len(svg.encode()) <= SVG_LIMIT, key
        assert "<script" not in svg and "javascript:" not in svg
        root = etree.fromstring(svg.encode())
        assert root.get("role") == "img"
        title = root.find("{http://www.w3.org/2000/svg}title")
        desc = root.find("{http://www.w3.org/2000/svg}desc")
        assert title is not None and desc is not None
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        heading = tree.xpath(f'//h2[@id="fig-{key}"]')[0].text_content()
        assert title.text == heading
        for _label, *values in _table(tree, key)[-1:]:
            assert all(value in (desc.text or "") for value in values), (key, desc.text)
    assert "2 open, 2 done, 1 dropped" in (
        etree.fromstring(drawn["burn-down"].encode()).findtext("{http://www.w3.org/2000/svg}desc")
        or ""
    )
    # Linked from the event's set-up page and its tracker.
    for place in ("", "/actions"):
        linking = client.get(f"/organiser/events/{year.event.id}{place}")
        assert f'href="/organiser/events/{year.event.id}/dashboard"' in linking.text


def test_dashboard_is_only_for_the_events_organisers(
    client: TestClient, make: Factory, clock: None
) -> None:
    year = a_year_on(make)
    address = f"/organiser/events/{year.event.id}/dashboard"
    assert client.get(address).headers["location"].startswith("/login")
    stranger = make.organiser("stranger@example.org")
    log_in(client, stranger.email)
    assert client.get(address).status_code == 403
    assert client.get("/organiser/events/999999/dashboard").status_code == 404


def test_dashboard_of_an_event_with_nothing_yet_shows_empty_tables(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser("new@example.org")
    event = make.event(organiser)
    log_in(client, organiser.email)
    page = client.get(f"/organiser/events/{event.id}/dashboard")
    assert page.status_code == 200
    assert "0 actions agreed." in text_of(page.text)
    assert "<script" not in "".join(_charts(page.text).values())


@pytest.mark.parametrize("rows", [1, 30, 60])
def test_chart_of_many_long_sessions_stays_under_30_kb(rows: int) -> None:
    title = "Ο καθένας μετράει: how do we reach the people no service reaches? " * 2
    figure = Figure(
        "attendance", "Sessions by attendance", "…", ["People"], [(title, [n]) for n in range(rows)]
    )
    svg = str(charts.draw(figure))
    assert len(svg.encode()) <= SVG_LIMIT and "<script" not in svg
    etree.fromstring(svg.encode())


def test_burn_down_over_three_years_stays_under_30_kb() -> None:
    day = date(2024, 1, 1)
    rows = [
        ((day + timedelta(days=30 * n)).isoformat(), [500 - n * 10, n * 8, n * 2])
        for n in range(37)
    ]
    figure = Figure("burn-down", "Actions", "…", ["Open", "Done", "Dropped"], rows, kind="time")
    svg = str(charts.draw(figure))
    assert len(svg.encode()) <= SVG_LIMIT and "<script" not in svg
