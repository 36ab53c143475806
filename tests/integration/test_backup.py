"""`openspace backup` while people keep writing, and `openspace restore` back to that moment."""

import threading
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Participant
from tests.conftest import post_form
from tests.factories import Factory, count
from tests.integration.test_errors_and_cli import _cli


def test_a_backup_made_during_writes_restores_to_one_consistent_moment(
    client: TestClient, make: Factory, settings: Settings, database: Database, tmp_path: Path
) -> None:
    event = make.event(name="Backed-up day")
    stop = threading.Event()
    written: list[str] = []

    def keep_joining() -> None:  # people join all the time the backup is made
        n = 0
        while not stop.is_set():
            n += 1
            make.participant(event, f"Writer {n}")
            written.append(f"Writer {n}")

    writer = threading.Thread(target=keep_joining)
    writer.start()
    try:
        while len(written) < 5:
            stop.wait(0.01)
        before = len(written)
        made = _cli(settings, "backup", str(tmp_path / "day.backup"))
        after = len(written)
    finally:
        stop.set()
        writer.join()
    assert made.returncode == 0, made.stderr
    assert "Backed up to" in made.stdout
    assert _cli(settings, "backup", str(tmp_path / "day.backup")).returncode == 2  # no overwrite

    late = make.participant(event, "Joined after the backup")
    refused = _cli(settings, "restore", str(tmp_path / "day.backup"))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert count(database, Participant) == len(written) + 1  # nothing was touched

    restored = _cli(settings, "restore", "--yes", str(tmp_path / "day.backup"))
    assert restored.returncode == 0, restored.stderr
    with database.read() as session:
        names = set(session.exec(select(Participant.display_name)).all())
    assert late.display_name not in names
    # One moment: everyone who had joined when the backup began, in order, none half-written.
    assert before <= len(names) <= after
    assert names == {f"Writer {n}" for n in range(1, len(names) + 1)}
    # The restored event takes new people (PostgreSQL's id sequences came back too).
    joined = post_form(client, f"/e/{event.join_code}/join", {"display_name": "After restore"})
    assert joined.status_code == 303  # type: ignore[attr-defined]


def test_restore_refuses_a_file_that_is_not_a_backup(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    result = _cli(settings, "restore", "--yes", str(junk))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip()
