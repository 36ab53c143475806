"""The dashboard across an organiser's events: last year's event a year on and this year's,
side by side and in total, drawn once and then answered from memory until something changes."""

from datetime import date, time

from fastapi.testclient import TestClient
from lxml import etree, html

from app.models import ActionStatus, Organiser, Participant, Topic
from app.models.base import set_clock
from app.models.outcomes import ActionForm, ProgressForm
from app.services import across_events, actions
from tests.conftest import log_in, text_of
from tests.factories import Factory, placed_topic
from tests.integration.test_followup_dashboard import (  # noqa: F401
    SVG_LIMIT,
    Year,
    _charts,
    _table,
    a_year_on,
    at,
    clock,
)

NEXT_YEAR = date(2026, 11, 26)


def this_year(make: Factory, year: Year) -> int:
    """This year's event, a week after last year's turned one: one action agreed, its owner
    with no e-mail (so not reached). Returns the event's id."""
    event = make.event(year.organiser, name="Healthy towns 2026", starts_on=NEXT_YEAR)
    slot = make.slot(event, time(10, 0), time(11, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Hall", 40), "Walking to school")
    owner = make.participant(event, "Kwame Mensah")
    set_clock(at(NEXT_YEAR, 15))
    with make.database.write() as session:
        actions.add_action(
            session,
            event,
            session.get_one(Topic, topic.id),
            session.get_one(Participant, owner.id),
            ActionForm(title="Walking bus rota", status=ActionStatus.agreed),
            owner_id=owner.id,
        )
    set_clock(at(date(2026, 12, 1)))
    assert event.id is not None
    return event.id


def test_dashboard_across_events_shows_each_event_side_by_side_and_the_total(
    client: TestClient,
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    year = a_year_on(make)
    this_year(make, year)
    log_in(client, year.organiser.email)
    page = client.get("/organiser/dashboard")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script" not in page.text.split("<main", 1)[1]
    tree = html.fromstring(page.text)
    side = tree.xpath('//section[@aria-labelledby="side-by-side"]//table')[0]
    rows = [
        [" ".join(c.text_content().split()) for c in row.xpath("./th|./td")]
        for row in side.xpath(".//tr")
    ]
    assert rows[1] == ["Healthy towns 202520 Nov 2025", "5", "2", "2", "1", "1", "2", "0", "2", "1"]
    assert rows[2] == ["Healthy towns 202626 Nov 2026", "1", "0", "1", "0", "0", "0", "1", "0", "0"]
    assert f'href="/organiser/events/{year.event.id}/dashboard"' in page.text
    assert rows[3] == ["All events", "6", "2", "3", "1", "1", "2", "1", "2", "1"]
    assert _table(tree, "events") == [
        ["Healthy towns 2025", "2", "2", "1"],
        ["Healthy towns 2026", "1", "0", "0"],
    ]
    assert _table(tree, "late") == [
        ["Healthy towns 2025", "1", "2", "0"],
        ["Healthy towns 2026", "0", "0", "1"],
    ]
    assert _table(tree, "pledges") == [
        ["Healthy towns 2025", "1", "1"],
        ["Healthy towns 2026", "0", "0"],
    ]
    assert _table(tree, "aims") == [
        ["Warm homes", "1", "2", "0"],
        ["Getting about", "1", "0", "1"],
        ["No theme", "1", "0", "0"],
    ]
    # Over time: last year's five open on its day, this year's one from its day on.
    over = _table(tree, "over-time")
    assert over[0] == ["20 Nov 2025", "5", "0", "0"]
    assert {row[0]: row[1:] for row in over}["20 Jan 2026"] == ["4", "1", "0"]
    assert over[-1] == ["1 Dec 2026", "3", "2", "1"]
    drawn = _charts(page.text)
    assert set(drawn) == {"over-time", "events", "aims", "late", "pledges"}
    for key, svg in drawn.items():
        assert len(svg.encode()) <= SVG_LIMIT, key
        assert "<script" not in svg and "javascript:" not in svg
        root = etree.fromstring(svg.encode())
        assert root.get("role") == "img"
        title = root.findtext("{http://www.w3.org/2000/svg}title")
        desc = root.findtext("{http://www.w3.org/2000/svg}desc") or ""
        assert title == tree.xpath(f'//h2[@id="fig-{key}"]')[0].text_content()
        table = _table(tree, key)
        for _label, *values in table[-1:] if key == "over-time" else table:
            assert all(value in desc for value in values), (key, desc)
    assert "Healthy towns 2025: 1 overdue, 2 gone quiet, 0 owner not reached" in (
        etree.fromstring(drawn["late"].encode()).findtext("{http://www.w3.org/2000/svg}desc") or ""
    )


def test_dashboard_across_events_is_drawn_once_and_drawn_again_after_a_change(
    client: TestClient,
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    year = a_year_on(make)
    this_year(make, year)
    with make.database.read() as session:
        organiser = session.get_one(Organiser, year.organiser.id)
        first = across_events.across_events(session, organiser)
        assert across_events.across_events(session, organiser) is first
    log_in(client, year.organiser.email)
    before = text_of(client.get("/organiser/dashboard").text)
    assert "6 actions agreed." in before
    # The tenants' forum's owner says it is done, by the link in their mail.
    with make.database.write() as session:
        action = actions.action_in(session, year.event, year.titles["Tenants' forum"])
        actions.post_progress(
            session,
            action,
            ProgressForm(status=ActionStatus.done, note="Meets monthly."),
            via_link=True,
            written_by="Council team",
        )
    tree = html.fromstring(client.get("/organiser/dashboard").text)
    assert _table(tree, "events")[0] == ["Healthy towns 2025", "1", "3", "1"]
    assert _table(tree, "over-time")[-1] == ["1 Dec 2026", "2", "3", "1"]
    with make.database.read() as session:
        organiser = session.get_one(Organiser, year.organiser.id)
        assert across_events.across_events(session, organiser) is not first
    # Another organiser sees only their own events.
    log_in(client, make.organiser("other@example.org").email)
    assert "0 actions agreed." in text_of(client.get("/organiser/dashboard").text)
