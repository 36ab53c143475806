"""What every change to the agenda shares: its version, bumped once as the change commits and
announced to live pages, and how its slot times are written."""

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from sqlalchemy import String, bindparam, cast, func, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from app.broker import CHANNEL, Change
from app.models import Event, Slot


def agenda_changed(
    session: Session, event_id: int | None, people: Iterable[int | None] | None = ()
) -> None:
    """Note that what the agenda shows has changed (a new version for caches and live pages),
    and whose own agenda changed with it (`people`; None when it may be anyone's).

    The version is bumped once, just before the transaction commits, so the event's row is
    always the last lock a writer takes: taking it earlier could deadlock with a writer that
    holds it and waits for a slot this one has locked.
    """
    if event_id is None:
        return
    changed: dict[int, set[int] | None] = session.info.setdefault(_CHANGED, {})
    known = changed.get(event_id, set())
    changed[event_id] = (
        None if people is None or known is None else known | {p for p in people if p}
    )


_CHANGED = "openspace.agenda_changed"
# The marks a change leaves in `session.info` for the commit to act on; a trial takes each
# back (app.services.day_mail adds its notes of the day's news).
TAKEN_BACK = [_CHANGED]


@contextmanager
def trial(session: Session) -> Iterator[None]:
    """Do something only to see what it would do, then take it back: nothing of it is stored,
    and no page or person hears of it (its marks go with it)."""
    before = {key: copy.deepcopy(session.info[key]) for key in TAKEN_BACK if key in session.info}
    nested = session.begin_nested()
    try:
        yield
    finally:
        nested.rollback()
        for key in TAKEN_BACK:
            if key in before:
                session.info[key] = before[key]
            else:
                session.info.pop(key, None)


# Built once: it runs on every write of the busiest half hour (see app.services.signups).
# The session's copy of the event, if it has one, is given the new version by hand: the ORM
# cannot work out which objects match from parameters given only when the statement runs.
# It names the table, not the model: the ORM's machinery for updating objects in bulk would
# cost more than the statement (a fifth of a sign-up's time in the worker, measured).
_EVENTS = Event.__table__  # type: ignore[attr-defined]
_BUMP = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("event_id"))
    .values(agenda_version=_EVENTS.c.agenda_version + 1)
    .returning(_EVENTS.c.agenda_version)
)
_COMMITTED = "openspace.committed_changes"
# On PostgreSQL the bump tells every process in the same statement: the event's row stays
# locked until the commit, and every writer in the event waits for it, so each round trip
# saved there is saved for all of them.
_BUMPED = _BUMP.cte("bumped")
_BUMP_AND_NOTIFY = select(
    _BUMPED.c.agenda_version,
    func.pg_notify(
        CHANNEL, bindparam("head") + cast(_BUMPED.c.agenda_version, String) + bindparam("tail")
    ),
)


@sa_event.listens_for(Session, "before_commit")
def _bump_agenda_versions(session: Session) -> None:
    committed: list[Change] = []
    session.info[_COMMITTED] = committed
    changed: dict[int, set[int] | None] = session.info.pop(_CHANGED, {})
    postgres = session.get_bind().dialect.name == "postgresql"
    for event_id, people in sorted(changed.items()):
        who = None if people is None else frozenset(people)
        if postgres:
            # Delivered by PostgreSQL on commit to every process that listens.
            head, tail = Change.around_version(event_id, who)
            params = {"event_id": event_id, "head": head, "tail": tail}
            version = session.execute(_BUMP_AND_NOTIFY, params=params).scalar()
        else:
            version = session.execute(_BUMP, params={"event_id": event_id}).scalar()
        if version is None:
            continue
        if (held := session.identity_map.get(identity_key(Event, event_id))) is not None:
            set_committed_value(held, "agenda_version", version)
        committed.append(Change(event_id, version, who))


@sa_event.listens_for(Session, "after_commit")
def _publish_changes(session: Session) -> None:
    changes = session.info.pop(_COMMITTED, None)
    if changes:
        for publish in session.info.get("on_commit", ()):
            publish(changes)


def time_style(slots: Iterable[Slot], zone: ZoneInfo) -> str:
    """How a slot's start is written (a style of `i18n.when`): with its day when the slots
    span several days at the venue, else the time alone."""
    days = {slot.starts_at.astimezone(zone).date() for slot in slots}
    return "day_time" if len(days) > 1 else "time"
