"""The whole event as an archive: every export inside, opened with real readers, and a JSON
dump that `openspace import` loads into an empty database with nothing lost."""

import csv
import io
import json
import zipfile
from pathlib import Path

from docx import Document
from fastapi.testclient import TestClient
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import SQLModel, select

from app.config import Settings
from app.db import Database
from app.models import CoConvener, Event, Organiser, Participant, Topic, WaitlistEntry
from app.models.event import ThemeCreate
from app.models.live import Announcement, Pitch
from app.models.outcomes import (
    ActionStatus,
    ActionTheme,
    Contribution,
    GroupForm,
    PledgeForm,
    ProgressForm,
)
from app.services import archive, audit, convergence, demo, events, outcomes, pledges
from tests.conftest import log_in, post_form, text_of
from tests.factories import PASSWORD
from tests.integration.test_errors_and_cli import _cli

Exported = tuple[Organiser, Event, Topic, Topic]


def _wipe(database: Database) -> None:
    """Empty every table, as a new database is (PostgreSQL's id sequences start again)."""
    with database.write() as session:
        if session.get_bind().dialect.name == "postgresql":
            names = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
            session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table in reversed(SQLModel.metadata.sorted_tables):
            session.execute(table.delete())


def test_the_archive_holds_every_export_readable_by_its_reader(
    client: TestClient, exported: Exported
) -> None:
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    response = client.get(f"/events/{event.id}/export/archive.zip")
    assert response.status_code == 200 and "archive.zip" in response.headers["content-disposition"]
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(bundle.namelist()) == {
        "README.txt",
        "proceedings.html",
        "proceedings.docx",
        "proceedings.md",
        "actions.csv",
        "actions.xlsx",
        "actions.json",
        "action-due-dates.ics",
        "sessions.ics",
        "agenda-poster.html",
        "room-signs.html",
        "event.json",
    }
    rows = list(csv.DictReader(io.StringIO(bundle.read("actions.csv").decode("utf-8-sig"))))
    assert rows[1]["Owner"] == "عائشہ خان"
    assert load_workbook(io.BytesIO(bundle.read("actions.xlsx")))["Actions"]["A2"].value == (
        "Free bus passes for carers"
    )
    assert Document(io.BytesIO(bundle.read("proceedings.docx"))).paragraphs[0].text == (
        "Łódź — اردو day"
    )
    sessions = Calendar.from_ical(bundle.read("sessions.ics"))
    assert sorted(str(e["summary"]) for e in sessions.walk("VEVENT")) == ["Housing", "Transport"]
    signs = bundle.read("room-signs.html").decode()
    assert "<style>" in signs and "<svg" in signs and "Hall" in signs  # stands on its own
    dump = json.loads(bundle.read("event.json"))
    assert dump["format"] == "openspace-event" and dump["event"]["name"] == "Łódź — اردو day"
    assert "password_hash" not in json.dumps(dump["tables"]["organiser"])
    anonymous = zipfile.ZipFile(
        io.BytesIO(client.get(f"/events/{event.id}/export/archive.zip?personal=0").content)
    )
    assert "event.json" not in anonymous.namelist()
    assert all(
        "Zażółć" not in anonymous.read(name).decode("utf-8", "replace")
        for name in anonymous.namelist()
        if not name.endswith((".xlsx", ".docx"))
    )


def _rich_event(database: Database) -> Event:
    """The demo event, with something in every table an event can fill."""
    with database.write() as session:
        event, _, _ = demo.create_demo(session)
        topics = session.exec(select(Topic).where(Topic.event_id == event.id)).all()
        actions = outcomes.action_lines(session, event)
        voter = session.get_one(Participant, actions[0].action.created_by_id)
        convergence.open_vote(session, event, True, 3)
        convergence.place_dot(session, event, voter, "action", actions[0].action.id or 0)
        convergence.group_actions(
            session,
            event,
            [line.action.id or 0 for line in actions],
            GroupForm(name="Warm spaces network", initiator="Town hall"),
        )
        outcomes.post_progress(
            session,
            actions[0].action,
            ProgressForm(status=ActionStatus.in_progress, note="Met the council"),
            via_link=True,
            written_by="owner",
        )
        pledges.save_pledge(session, event, voter, PledgeForm(text="I will host a warm space"))
        session.add(Announcement(event_id=event.id or 0, text="Lunch is served"))
        session.add(Pitch(event_id=event.id or 0, topic_id=topics[0].id or 0))
        events.create_facilitator_link(session, event, "Front desk")
        audit.record(session, event.id, "Olu <olu@example.org>", "POST /x: hide topic", "x=1")
        theme = events.add_theme(session, event, ThemeCreate(name="Zdrowie — صحت"))
        session.add(ActionTheme(action_id=actions[0].action.id or 0, theme_id=theme.id or 0))
        session.add(CoConvener(topic_id=topics[0].id or 0, participant_id=voter.id or 0))
        session.add(WaitlistEntry(topic_id=topics[1].id or 0, participant_id=voter.id or 0))
        written = session.exec(select(Contribution)).first()
        assert written is not None and written.author_id is not None
        outcomes.edit_contribution(
            session,
            event,
            written.id or 0,
            session.get_one(Participant, written.author_id),
            "An edited key point",
            written.version,
        )
        return event


def test_an_imported_archive_gives_back_the_same_event(
    client: TestClient, database: Database, settings: Settings, tmp_path: Path
) -> None:
    event = _rich_event(database)
    with database.read() as session:
        before = archive.dump(session, session.get_one(Event, event.id))
    empty = {name for name, rows in before["tables"].items() if not rows}
    assert not empty, f"the round trip should carry every table; nothing in {empty}"
    target = tmp_path / "archive.zip"
    exported = _cli(settings, "export", event.join_code, "--format", "zip", "--output", str(target))
    assert exported.returncode == 0, exported.stderr
    _wipe(database)
    imported = _cli(settings, "import", str(target))
    assert imported.returncode == 0, imported.stderr
    assert f"Imported {event.name}" in imported.stdout
    assert f"openspace create-organiser --email {demo.DEMO_EMAIL}" in imported.stdout
    with database.read() as session:
        after = archive.dump(session, session.get_one(Event, event.id))
    for name in before["tables"]:
        assert after["tables"][name] == before["tables"][name], name
    # New rows get new ids (PostgreSQL's sequences moved past the loaded ones).
    joined = post_form(client, f"/e/{event.join_code}/join", {"display_name": "After import"})
    assert joined.status_code == 303  # type: ignore[attr-defined]
    again = _cli(settings, "import", str(target))
    assert again.returncode == 2 and "already holds rows of this event" in again.stderr
    # The organiser sets a password, logs in and finds the action list as it was.
    password = _cli(
        settings, "create-organiser", "--email", demo.DEMO_EMAIL, "--password", PASSWORD
    )
    assert password.returncode == 0, password.stderr
    log_in(client, demo.DEMO_EMAIL)
    tracker = text_of(client.get(f"/organiser/events/{event.id}/actions").text)
    assert "Met the council" in tracker and "Warm spaces network" in tracker


def test_import_refuses_what_is_not_an_event_dump(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    result = _cli(settings, "import", str(junk))
    assert result.returncode == 2 and "not an OpenSpace event dump" in result.stderr
    missing = _cli(settings, "import", str(tmp_path / "nothing.zip"))
    assert missing.returncode == 2 and "Cannot read an event" in missing.stderr
