"""Carrying last year's open work into this year's event: an organiser picks an earlier event
of theirs, and its open actions come along, linked to where they came from, never copied, so
that an update posted in either place is the one update both show."""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import Action, ActionStatus, CarriedAction, Event, Organiser, Role
from app.services import events as event_service
from app.services.actions import ActionLine, action_lines
from app.services.errors import NotAllowed, NotFound, Refused
from app.services.rows import add_once

# What is still to do: everything but done and dropped.
OPEN = (ActionStatus.proposed, ActionStatus.agreed, ActionStatus.in_progress)


@dataclass
class EarlierEvent:
    """An event the organiser may bring open work from, and how much of it is open."""

    event: Event
    open: int
    carried: int


@dataclass
class CarriedLine:
    """A carried action as this year's event shows it: the action as it is now (owner,
    status, last update), and the event it came from."""

    line: ActionLine
    came_from: Event
    carried_at: datetime


def _organises(session: Session, event: Event, organiser: Organiser) -> bool:
    return event_service.role_of(session, event, organiser) == Role.organiser


def earlier_events(session: Session, organiser: Organiser, event: Event) -> list[EarlierEvent]:
    """The organiser's events before this one, newest first, with their open actions."""
    found = [
        earlier
        for earlier, role in event_service.events_of(session, organiser)
        if role == Role.organiser and earlier.id != event.id and earlier.starts_on < event.starts_on
    ]
    ids = [earlier.id for earlier in found]
    open_counts = dict(
        session.exec(
            select(Action.event_id, func.count())
            .where(
                col(Action.event_id).in_(ids),
                col(Action.status).in_(OPEN),
                col(Action.hidden).is_(False),
            )
            .group_by(col(Action.event_id))
        ).all()
    )
    carried_counts = dict(
        session.exec(
            select(CarriedAction.from_event_id, func.count())
            .where(CarriedAction.event_id == event.id)
            .group_by(col(CarriedAction.from_event_id))
        ).all()
    )
    return [
        EarlierEvent(e, open_counts.get(e.id or 0, 0), carried_counts.get(e.id or 0, 0))
        for e in found
    ]


def carry_open_actions(
    session: Session, organiser: Organiser, event: Event, from_event_id: int | None
) -> int:
    """Bring the open actions of an earlier event of this organiser's into `event`; how many
    are new here. Asked again, it brings only what was not brought before (one row per event
    and action, a unique key: two at once carry each action once)."""
    earlier = session.get(Event, from_event_id) if from_event_id else None
    if earlier is None:
        raise NotFound(_("There is no such event."))
    if not _organises(session, earlier, organiser):
        raise NotAllowed(_("You can bring actions only from events you organise."))
    if earlier.id == event.id or earlier.starts_on >= event.starts_on:
        raise Refused(_("Choose an event that came before this one."), field="from_event_id")
    assert event.id is not None and earlier.id is not None
    open_actions = session.exec(
        select(Action)
        .where(
            Action.event_id == earlier.id,
            col(Action.status).in_(OPEN),
            col(Action.hidden).is_(False),
        )
        .order_by(col(Action.id))
    ).all()
    new = 0
    for action in open_actions:
        assert action.id is not None
        _row, added = add_once(
            session,
            CarriedAction(event_id=event.id, action_id=action.id, from_event_id=earlier.id),
            partial(_carried, session, event, action.id),
        )
        new += added
    return new


def _carried(session: Session, event: Event, action_id: int) -> CarriedAction | None:
    return session.exec(
        select(CarriedAction).where(
            CarriedAction.event_id == event.id, CarriedAction.action_id == action_id
        )
    ).first()


def carried(session: Session, event: Event) -> list[CarriedLine]:
    """The actions carried into the event, as they stand now, oldest event first."""
    rows = session.exec(
        select(CarriedAction, Event)
        .join(Event, col(Event.id) == CarriedAction.from_event_id)
        .where(CarriedAction.event_id == event.id)
        .order_by(col(Event.starts_on), col(CarriedAction.action_id))
    ).all()
    if not rows:
        return []
    lines = {
        line.action.id: line
        for line in action_lines(session, event_ids=sorted({e.id or 0 for _c, e in rows}))
    }
    return [
        CarriedLine(lines[link.action_id], came_from, link.carried_at)
        for link, came_from in rows
        if link.action_id in lines  # one hidden since by the facilitators is not shown
    ]
