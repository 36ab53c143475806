"""The whole event as an archive: every export inside, opened with real readers, and a JSON
dump that `openspace import` loads into an empty database with nothing lost."""

import csv
import io
import json
import time
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy import func, text
from sqlmodel import SQLModel, col, select

from app.cli import import_event
from app.config import Settings
from app.db import Database
from app.models import CoConvener, Event, Organiser, Participant, Role, Topic, WaitlistEntry
from app.models.agenda import ConvenerElsewhere, SeatNotice
from app.models.event import ThemeCreate
from app.models.live import Announcement, CheckOut, Pitch
from app.models.outcomes import (
    ActionStatus,
    ActionTheme,
    Contribution,
    GroupForm,
    PledgeForm,
    ProgressForm,
)
from app.models.privacy import ErasedBy, ErasureMode, PrivacyForm
from app.services import actions as action_service
from app.services import archive, audit, contributions, convergence, demo, events, pledges, privacy
from tests.conftest import log_in, post_form, text_of
from tests.factories import PASSWORD, Factory, outcomes_event
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
    disposition = response.headers["content-disposition"]
    assert response.status_code == 200 and "archive-with-personal-data.zip" in disposition
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
    assert "PERSONAL DATA" in bundle.read("README.txt").decode()
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
        actions = action_service.action_lines(session, event)
        voter = session.get_one(Participant, actions[0].action.created_by_id)
        convergence.open_vote(session, event, True, 3)
        convergence.place_dot(session, event, voter, "action", actions[0].action.id or 0)
        convergence.group_actions(
            session,
            event,
            [line.action.id or 0 for line in actions],
            GroupForm(name="Warm spaces network", initiator="Town hall"),
        )
        action_service.post_progress(
            session,
            actions[0].action,
            ProgressForm(status=ActionStatus.in_progress, note="Met the council"),
            via_link=True,
            written_by="owner",
        )
        pledges.save_pledge(session, event, voter, PledgeForm(text="I will host a warm space"))
        session.add(Announcement(event_id=event.id or 0, text="Lunch is served"))
        session.add(CheckOut(event_id=event.id or 0, words="A warm welcome", usefulness=4))
        session.add(Pitch(event_id=event.id or 0, topic_id=topics[0].id or 0))
        events.create_facilitator_link(session, event, "Front desk")
        audit.record(session, event.id, "Olu <olu@example.org>", "POST /x: hide topic", "x=1")
        theme = events.add_theme(session, event, ThemeCreate(name="Zdrowie — صحت"))
        session.add(ActionTheme(action_id=actions[0].action.id or 0, theme_id=theme.id or 0))
        session.add(CoConvener(topic_id=topics[0].id or 0, participant_id=voter.id or 0))
        session.add(WaitlistEntry(topic_id=topics[1].id or 0, participant_id=voter.id or 0))
        session.add(ConvenerElsewhere(topic_id=topics[2].id or 0, participant_id=voter.id or 0))
        session.add(
            SeatNotice(
                event_id=event.id or 0,
                participant_id=voter.id or 0,
                topic_id=topics[0].id or 0,
                kind="moved",
            )
        )
        privacy.save_settings(
            session, event, PrivacyForm(controller="Leeds Health Partnership", retention_months=18)
        )
        left = Participant(event_id=event.id or 0, display_name="Someone who asked to go")
        session.add(left)
        session.flush()
        privacy.erase(session, event, left, ErasureMode.name_off, ErasedBy.person)
        written = session.exec(select(Contribution)).first()
        assert written is not None and written.author_id is not None
        contributions.edit_contribution(
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
        copy = session.exec(select(Event)).one()
        after = archive.dump(session, copy)
    _assert_same_event(before, after)
    # New rows get new ids (PostgreSQL's sequences moved past the loaded ones).
    joined = post_form(client, f"/e/{copy.join_code}/join", {"display_name": "After import"})
    assert joined.status_code == 303  # type: ignore[attr-defined]
    # Again: the account made by the first import exists now, and is linked only when told;
    # the copy already here is not touched.
    with database.read() as session:
        here = archive.dump(session, session.get_one(Event, copy.id))["tables"]
    again = _cli(settings, "import", str(target))
    assert again.returncode == 2 and "--link-account" in again.stderr
    linked = _cli(settings, "import", str(target), "--link-account", demo.DEMO_EMAIL)
    assert linked.returncode == 0, linked.stderr
    with database.read() as session:
        assert len(session.exec(select(Event)).all()) == 2
        assert archive.dump(session, session.get_one(Event, copy.id))["tables"] == here
    event = copy
    # The organiser sets a password, logs in and finds the action list as it was.
    password = _cli(
        settings, "create-organiser", "--email", demo.DEMO_EMAIL, "--password", PASSWORD
    )
    assert password.returncode == 0, password.stderr
    log_in(client, demo.DEMO_EMAIL)
    tracker = text_of(client.get(f"/organiser/events/{event.id}/actions").text)
    assert "Met the council" in tracker and "Warm spaces network" in tracker


def _assert_same_event(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The same rows, table by table, once the archive's ids are read as the new ones."""
    new_ids: dict[str, dict[int, int]] = {}
    for name, rows in before["tables"].items():
        assert len(after["tables"][name]) == len(rows), name
        new_ids[name] = {
            old["id"]: new["id"] for old, new in zip(rows, after["tables"][name], strict=True)
        }
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in before["tables"]:
            continue
        pointers = {
            c.name: next(iter(c.foreign_keys)).column.table.name for c in table.c if c.foreign_keys
        }
        for old, new in zip(before["tables"][table.name], after["tables"][table.name], strict=True):
            moved = {
                key: (
                    new_ids[pointers[key]][value]
                    if key in pointers and value is not None
                    else new_ids[table.name][value]
                    if key == "id"
                    else value
                )
                for key, value in old.items()
            }
            assert moved == new, table.name


def _event_json(dump: dict[str, Any]) -> bytes:
    return archive.dumps(dump)


def _archive_file(path: Path, content: bytes, **zip_options: Any) -> Path:
    with zipfile.ZipFile(path, "w", **zip_options) as bundle:
        bundle.writestr("event.json", content)
    return path


def _rows(database: Database) -> dict[str, int]:
    """How many rows each table holds: an import refused leaves every count as it was."""
    with database.read() as session:
        return {
            t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }


def _small_dump(make: Factory) -> dict[str, Any]:
    """The dump of an event with reports and actions (its organiser's account is here)."""
    _, event, _, _ = outcomes_event(make)
    with make.database.read() as session:
        return archive.dump(session, session.get_one(Event, event.id))


def test_an_archive_of_an_event_here_makes_a_new_event_and_leaves_it_alone(
    database: Database, settings: Settings, make: Factory, tmp_path: Path
) -> None:
    dump = _small_dump(make)
    with database.read() as session:
        original = session.get_one(Event, dump["event"]["id"])
        before = archive.dump(session, original)["tables"]
    email = dump["tables"]["organiser"][0]["email"]
    target = _archive_file(tmp_path / "a.zip", _event_json(dump))
    result = _cli(settings, "import", str(target), "--link-account", email)
    assert result.returncode == 0, result.stderr
    with database.read() as session:
        assert archive.dump(session, session.get_one(Event, original.id))["tables"] == before
        events_now = session.exec(select(Event).order_by(col(Event.id))).all()
        assert len(events_now) == 2 and events_now[1].join_code != original.join_code
        copy = archive.dump(session, events_now[1])
    assert len(copy["tables"]["participant"]) == len(before["participant"])
    assert {r["event_id"] for r in copy["tables"]["participant"]} == {events_now[1].id}


def test_import_refuses_rows_of_another_event_and_writes_nothing(
    database: Database, settings: Settings, make: Factory, tmp_path: Path
) -> None:
    dump = _small_dump(make)
    other = make.event(make.organiser())
    dump["tables"]["participant"][1]["event_id"] = other.id
    counts = _rows(database)
    target = _archive_file(tmp_path / "foreign.zip", _event_json(dump))
    email = dump["tables"]["organiser"][0]["email"]
    result = _cli(settings, "import", str(target), "--link-account", email)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"foreign.zip: event.json, table participant, row 2 (id "
        f"{dump['tables']['participant'][1]['id']}), field event_id: names event {other.id}, "
        f"not this archive's event {dump['event']['id']}"
    )
    assert _rows(database) == counts


def test_import_links_an_existing_account_only_when_the_operator_says_so(
    database: Database, settings: Settings, make: Factory, tmp_path: Path
) -> None:
    dump = _small_dump(make)
    owner = dump["tables"]["organiser"][0]
    bystander = make.organiser("bystander@example.org")
    # The archive also names the bystander's e-mail, as a facilitator, and a new person.
    dump["tables"]["organiser"] += [
        {"id": 9001, "email": bystander.email, "name": "Hijack", "created_at": owner["created_at"]},
        {"id": 9002, "email": "new@example.org", "name": "New", "created_at": owner["created_at"]},
    ]
    staff = dump["tables"]["eventstaff"][0]
    dump["tables"]["eventstaff"] += [
        {**staff, "id": 9001, "organiser_id": 9001, "role": "organiser"},
        {**staff, "id": 9002, "organiser_id": 9002, "role": "facilitator"},
    ]
    target = _archive_file(tmp_path / "accounts.zip", _event_json(dump))
    result = _cli(settings, "import", str(target), "--link-account", owner["email"])
    assert result.returncode == 0, result.stderr
    assert f"{bystander.email} has an account here already; it was not given" in result.stdout
    with database.read() as session:
        copy = session.exec(select(Event).order_by(col(Event.id).desc())).first()
        assert copy is not None
        team = {o.email: role for o, role in events.team(session, copy)}
        assert team == {owner["email"]: Role.organiser, "new@example.org": Role.facilitator}
        assert events.events_of(session, bystander) == []
        newcomer = session.exec(select(Organiser).where(Organiser.email == "new@example.org")).one()
        assert [e.id for e, _ in events.events_of(session, newcomer)] == [copy.id]
    linked = _cli(
        settings,
        "import",
        str(target),
        "--link-account",
        owner["email"],
        "--link-account",
        bystander.email,
    )
    assert linked.returncode == 0, linked.stderr
    with database.read() as session:
        assert [role for _, role in events.events_of(session, bystander)] == [Role.organiser]


HOSTILE_VALUES = [
    ("space", 0, "capacity", "lots", "Input should be a valid integer"),
    ("space", 0, "capacity", -5, "greater than or equal to 1"),
    ("action", 0, "status", "someday", "Input should be"),
    ("event", 0, "timezone", "Mars/Olympus", "time zone"),
    ("participant", 0, "display_name", "x" * 5000, "at most 80 characters"),
    ("participant", 0, "email", "not an address", "e-mail address"),
    ("topic", 0, "title", ["a", {"b": 1}], "valid string"),
    ("event", 0, "pitch_seconds", 10**30, "less than or equal to 300"),
    ("event", 0, "projector_view", "<script>", "Input should be"),
    ("contribution", 0, "body", "\ud800 lone", "valid string"),
    ("report", 0, "created_at", "yesterday", "datetime"),
    ("event", 0, "starts_on", "0001-01-01", "must lie between"),
    ("event", 0, "id", 99999, "this row is another"),
    ("action", 0, "report_id", 424242, "which the archive does not hold"),
    ("slot", 0, "color", "red", "not a column of this table"),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "said"), HOSTILE_VALUES)
def test_import_refuses_a_value_a_person_could_not_type(
    database: Database,
    settings: Settings,
    make: Factory,
    tmp_path: Path,
    table: str,
    row: int,
    column: str,
    value: object,
    said: str,
) -> None:
    dump = _small_dump(make)
    if not dump["tables"][table]:
        pytest.skip(f"the event has no {table}")
    dump["tables"][table][row][column] = value
    counts = _rows(database)
    content = json.dumps(dump, ensure_ascii=True).encode()
    target = _archive_file(tmp_path / "bad.zip", content)
    email = dump["tables"]["organiser"][0]["email"]
    result = _cli(settings, "import", str(target), "--link-account", email)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"bad.zip: event.json, table {table}, row {row + 1}"), message
    assert f"field {column}" in message and said in message, message
    assert _rows(database) == counts


def test_import_refuses_a_zip_bomb_without_reading_it(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    # A few KB that say they inflate to 4 GiB: the sizes in the zip's directory are changed
    # after it is written, as a hostile archive would have them.
    target = _archive_file(
        tmp_path / "bomb.zip", b"[" + b" " * 2_000_000 + b"]", compression=zipfile.ZIP_DEFLATED
    )
    raw = bytearray(target.read_bytes())
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (2**32 - 2).to_bytes(4, "little")
    target.write_bytes(bytes(raw))
    assert len(raw) < 5000
    counts = _rows(database)
    started = time.monotonic()
    result = _cli(settings, "import", str(target))
    assert result.returncode == 2 and time.monotonic() - started < 30
    assert result.stderr.startswith("bomb.zip: event.json: would inflate to 4,294,967,294 bytes")
    honest = _archive_file(
        tmp_path / "dense.zip", b"[" + b" " * 5_000_000 + b"]", compression=zipfile.ZIP_DEFLATED
    )
    dense = _cli(settings, "import", str(honest))
    assert dense.returncode == 2 and "refused unread" in dense.stderr
    assert _rows(database) == counts


def test_import_refuses_what_is_not_an_event_dump(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1, "tables": {}}')
    result = _cli(settings, "import", str(junk))
    assert result.returncode == 2 and "not an OpenSpace event dump" in result.stderr
    missing = _cli(settings, "import", str(tmp_path / "nothing.zip"))
    assert missing.returncode == 2 and "nothing.zip: cannot be read" in missing.stderr


def _hostile(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """event.json bytes: the base dump with one row's value, reference or shape made hostile,
    or its bytes cut or damaged."""
    tables = [name for name, rows in base["tables"].items() if rows]
    nasty = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.text(max_size=300),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=6000),
        st.sampled_from(["\ud800", "\x00", "Mars/Olympus", "9" * 5000, "2026-13-45T99:00"]),
        st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=3), max_leaves=20),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    )

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        dump = json.loads(json.dumps(base))
        table = draw(st.sampled_from(tables))
        row = draw(st.sampled_from(dump["tables"][table]))
        column = draw(st.sampled_from([*row, "event_id", "unknown"]))
        row[column] = draw(st.one_of(nasty, st.integers(1, 2**31 - 1)))
        text = json.dumps(dump).encode()
        cut = draw(st.sampled_from(["none", "deep", "truncate", "flip"]))
        if cut == "deep":
            depth = draw(st.integers(100, 200_000))
            nested = b"[" * depth + b"]" * depth
            text = text.replace(b'"tables":{', b'"deep":' + nested + b',"tables":{', 1)
        elif cut == "truncate":
            text = text[: draw(st.integers(0, len(text) - 1))]
        elif cut == "flip":
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1 :]
        return text

    return build()


def test_hostile_archives_get_one_clear_message_and_write_nothing(
    database: Database, settings: Settings, make: Factory, tmp_path: Path
) -> None:
    base = _small_dump(make)
    email = base["tables"]["organiser"][0]["email"]

    @hypothesis_settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(content=_hostile(base), packing=st.sampled_from(["json", "zip", "damaged zip"]))
    def import_it(content: bytes, packing: str) -> None:
        if packing == "json":
            target = tmp_path / "hostile.json"
            target.write_bytes(content)
        else:
            target = _archive_file(tmp_path / "hostile.zip", content, compression=8)
            if packing == "damaged zip":
                raw = bytearray(target.read_bytes())
                middle = 30 + len("event.json") + (len(raw) - 200) // 3
                raw[middle : middle + 8] = b"\xff" * 8
                target.write_bytes(bytes(raw))
        counts = _rows(database)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = import_event(settings, str(target), [email])
        message = err.getvalue().strip()
        if code == 0:  # the value was one a person could have typed: one new event
            assert _rows(database)["event"] == counts["event"] + 1
            return
        assert code == 2
        assert message.startswith(target.name) and "\n" not in message, message
        assert "cannot be imported (" not in message, message  # not the last-resort catch
        assert _rows(database) == counts

    import_it()
