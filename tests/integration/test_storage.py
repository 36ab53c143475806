"""Storage: migrations match the models; concurrent writers queue instead of failing."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlmodel import select

from app.config import ROOT
from app.db import Database
from app.models import Event, Participant
from app.models.people import ParticipantJoin
from app.services import participants
from tests.factories import Factory, count


def test_migrations_match_models(database: Database) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises if autogenerate would write a new migration


def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(database: Database) -> None:
    if not database.settings.is_sqlite:
        pytest.skip("SQLite pragmas")
    with database.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30_000


def test_concurrent_writers_all_succeed(database: Database, make: Factory) -> None:
    """40 people join at once, each reading before writing: none sees "database is locked"."""
    event = make.event()

    def join(n: int) -> int:
        with database.write() as session:
            session.exec(select(Participant).where(Participant.event_id == event.id)).all()
            person = participants.join_event(session, event, ParticipantJoin(display_name=f"P{n}"))
            assert person.id is not None
            return person.id

    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(join, range(40)))
    assert len(set(ids)) == 40
    assert count(database, Participant) == 40


def test_deleting_an_event_removes_its_rows(database: Database, make: Factory) -> None:
    event = make.event()
    make.participant(event)
    with database.write() as session:
        session.execute(text("DELETE FROM event"))
    assert count(database, Participant) == 0


def test_a_room_joining_at_once_through_the_server_all_get_in(
    live_server: str, make: Factory, database: Database
) -> None:
    """80 phones post the join form at the same moment to one real server process."""
    event = make.event()

    def join(n: int) -> int:
        with httpx.Client(base_url=live_server, follow_redirects=True, timeout=60) as phone:
            phone.get(f"/e/{event.join_code}/join")
            return phone.post(
                f"/e/{event.join_code}/join",
                data={"display_name": f"Person {n}", "csrf_token": phone.cookies["openspace_csrf"]},
            ).status_code

    with ThreadPoolExecutor(max_workers=80) as pool:
        statuses = list(pool.map(join, range(80)))
    assert statuses == [200] * 80
    assert count(database, Participant) == 80


def test_a_room_reading_at_once_never_starves_the_connection_pool(
    live_server: str, make: Factory, database: Database
) -> None:
    """More phones load a page at once than there are connections and worker threads."""
    event = make.event()

    async def room() -> list[int]:
        limits = httpx.Limits(max_connections=300)
        async with httpx.AsyncClient(base_url=live_server, timeout=25, limits=limits) as phones:
            answers = await asyncio.gather(
                *(phones.get(f"/e/{event.join_code}/join") for _ in range(300))
            )
        return [answer.status_code for answer in answers]

    # A thread of its own: a browser test may have left an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as runner:
        assert runner.submit(lambda: asyncio.run(room())).result() == [200] * 300


def test_a_snapshot_reads_the_database_of_one_moment(database: Database, make: Factory) -> None:
    """What a live frame reads (an agenda version and what it shows) belongs to one moment,
    on PostgreSQL too: a change committed between two of its statements is in neither."""
    event = make.event()
    with database.snapshot() as session:
        first = session.exec(select(Event.agenda_version).where(Event.id == event.id)).one()
        with database.write() as other:  # another request commits in between
            changed = other.get_one(Event, event.id)
            changed.name, changed.agenda_version = "Renamed", first + 1
        name = session.exec(select(Event.name).where(Event.id == event.id)).one()
        version = session.exec(select(Event.agenda_version).where(Event.id == event.id)).one()
    assert (name, version) == (event.name, first)
    with database.read() as session:
        assert session.exec(select(Event.name).where(Event.id == event.id)).one() == "Renamed"
