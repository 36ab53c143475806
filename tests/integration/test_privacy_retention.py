"""Retention runs by itself: once the event's last action is done and its months have passed,
every name, address and organisation goes (the group's record stays), once, whoever runs it."""

import threading
from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Action, Event, Participant
from app.models.outcomes import ActionStatus, ProgressForm
from app.models.privacy import ERASED_NAME, ErasedBy, Erasure, EventPrivacy, PrivacyForm
from app.services import actions, privacy
from tests.factories import Factory
from tests.integration.test_errors_and_cli import _cli
from tests.integration.test_privacy import (
    EMAIL,
    NAME,
    ORGANISATION,
    OTHERS,
    WRITTEN,
    everything_done,
    found_in_tables,
)

Clock = Callable[[datetime | None], None]
LONDON = ZoneInfo("Europe/London")
CLOSED = datetime(2027, 6, 1, 12, tzinfo=LONDON)


def _close_every_action(database: Database, event: Event) -> None:
    with database.write() as session:
        for action in session.exec(select(Action).where(Action.event_id == event.id)):
            actions.post_progress(
                session,
                action,
                ProgressForm(status=ActionStatus.done),
                via_link=False,
                written_by="",
            )


def _erasures(database: Database) -> int:
    with database.read() as session:
        return session.exec(select(func.count()).select_from(Erasure)).one()


def test_retention_waits_for_open_actions_then_takes_every_name_off_once(
    make: Factory, database: Database, clock: Clock
) -> None:
    day = everything_done(make)
    with database.read() as session:
        plan = privacy.retention(session, session.get_one(Event, day.event.id))
    assert plan.due is None and plan.open_actions == 2
    clock(datetime(2030, 1, 1, tzinfo=LONDON))
    assert privacy.purge_due(database) == []  # actions are open: names are still needed
    clock(CLOSED)
    _close_every_action(database, day.event)
    with database.read() as session:
        plan = privacy.retention(session, session.get_one(Event, day.event.id))
    assert plan.due == datetime(2028, 6, 1, tzinfo=LONDON)
    clock(datetime(2028, 5, 31, 23, 59, tzinfo=LONDON))
    assert privacy.purge_due(database) == []
    clock(datetime(2028, 6, 1, 0, 1, tzinfo=LONDON))
    assert [p.people for p in privacy.purge_due(database, dry_run=True)] == [0]
    assert _erasures(database) == 0
    done = privacy.purge_due(database)
    assert [(p.event_id, p.people) for p in done] == [(day.event.id, 2)]
    with database.read() as session:
        assert found_in_tables(session, (NAME, EMAIL, ORGANISATION, OTHERS)) == []
        assert found_in_tables(session, WRITTEN[1:3])  # the group's record stays
        names = set(session.exec(select(Participant.display_name)).all())
        assert names == {ERASED_NAME}
        log = session.exec(select(Erasure)).all()
        assert {e.asked_by for e in log} == {ErasedBy.retention}
        row = session.exec(select(EventPrivacy)).one()
        assert row.purged_at is not None
    assert privacy.purge_due(database) == []  # twice: nothing more
    assert _erasures(database) == 2


def test_retention_months_are_set_per_event(
    make: Factory, database: Database, clock: Clock
) -> None:
    short = make.event(starts_on=date(2027, 5, 4))
    make.slot(short, time(10), time(11))
    make.participant(short, NAME, EMAIL)
    default = make.event(starts_on=date(2027, 5, 4))
    make.participant(default, OTHERS)
    with database.write() as session:
        privacy.save_settings(
            session, session.get_one(Event, short.id), PrivacyForm(retention_months=1)
        )
    clock(datetime(2027, 6, 5, tzinfo=LONDON))
    assert [p.event_id for p in privacy.purge_due(database)] == [short.id]
    with database.read() as session:
        assert found_in_tables(session, (NAME, EMAIL)) == []
        assert found_in_tables(session, (OTHERS,))


def test_several_processes_at_once_purge_each_event_once(
    make: Factory, database: Database, clock: Clock
) -> None:
    day = everything_done(make)
    clock(CLOSED)
    _close_every_action(database, day.event)
    clock(datetime(2028, 7, 1, tzinfo=LONDON))
    results: list[list[privacy.Purged]] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        results.append(privacy.purge_due(database))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert _erasures(database) == 2


def test_purge_due_command_with_a_settable_clock(
    make: Factory, database: Database, settings: Settings
) -> None:
    day = everything_done(make)
    with database.write() as session:
        for action in session.exec(select(Action).where(Action.event_id == day.event.id)):
            action.status = ActionStatus.dropped
            action.updated_at = CLOSED
            session.add(action)
    early = _cli(settings, "purge-due", "--now", "2028-01-01T09:00+00:00")
    assert early.returncode == 0, early.stderr
    assert "No event's retention is due." in early.stdout
    dry = _cli(settings, "retention", "--now", "2028-06-02T09:00", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"Due: event {day.event.id}" in dry.stdout
    assert _erasures(database) == 0
    done = _cli(settings, "purge-due", "--now", "2028-06-02T09:00+00:00")
    assert done.returncode == 0, done.stderr
    assert f"Names taken off event {day.event.id}" in done.stdout
    with database.read() as session:
        assert found_in_tables(session, (NAME, EMAIL, ORGANISATION)) == []
    assert _cli(settings, "purge-due", "--now", "next tuesday").returncode == 2
