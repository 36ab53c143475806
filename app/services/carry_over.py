"""Carrying last year's open work into this year's event: an organiser picks an earlier event
of theirs, and its open actions and its pledges come along, linked to where they came from,
never copied, so that an update posted in either place is the one update both show. The
owners of the actions hear of it (once each, if they asked for mail about their actions), and
a returning participant can refresh their pledge: the old one is kept, the new one beside it."""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import (
    Action,
    ActionStatus,
    CarriedAction,
    Event,
    Organiser,
    Participant,
    Pledge,
    Role,
    Topic,
)
from app.models.agenda import TopicCreate
from app.models.carry import CarriedPledge
from app.models.outcomes import PledgeForm
from app.models.people import ParticipantJoin
from app.services import events as event_service
from app.services import mail_causes, marketplace, pledges
from app.services.actions import ActionLine, action_lines
from app.services.errors import NotAllowed, NotFound, Refused
from app.services.participants import join_event
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
    brought = []
    for action in open_actions:
        assert action.id is not None
        _row, added = add_once(
            session,
            CarriedAction(event_id=event.id, action_id=action.id, from_event_id=earlier.id),
            partial(_carried, session, event, action.id),
        )
        if added:
            brought.append(action)
    _carry_pledges(session, event, earlier)
    mail_causes.actions_carried(session, earlier, event, brought)
    return len(brought)


def _carry_pledges(session: Session, event: Event, earlier: Event) -> int:
    """Bring the earlier event's pledges in (each once); how many are new here."""
    assert event.id is not None and earlier.id is not None
    new = 0
    for pledge_id in session.exec(
        select(Pledge.id).where(Pledge.event_id == earlier.id).order_by(col(Pledge.id))
    ).all():
        assert pledge_id is not None
        _row, added = add_once(
            session,
            CarriedPledge(event_id=event.id, pledge_id=pledge_id, from_event_id=earlier.id),
            partial(_carried_pledge, session, event.id, pledge_id),
        )
        new += added
    return new


def _carried_pledge(session: Session, event_id: int, pledge_id: int) -> CarriedPledge | None:
    return session.exec(
        select(CarriedPledge).where(
            CarriedPledge.event_id == event_id, CarriedPledge.pledge_id == pledge_id
        )
    ).first()


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


# --- pledges carried over, and refreshed ---------------------------------------------------


@dataclass
class CarriedPledgeLine:
    """A pledge carried into the event: the pledge as it stands (with its answer), who made
    it, where, and the new pledge its author made here in its place, if they have."""

    pledge: Pledge
    author: str
    came_from: Event
    refreshed: Pledge | None


def carried_pledges(session: Session, event: Event) -> list[CarriedPledgeLine]:
    """The pledges carried into the event, oldest event first, each with its refreshed one."""
    rows = session.exec(
        select(CarriedPledge, Pledge, Participant.display_name, Event)
        .join(Pledge, col(Pledge.id) == CarriedPledge.pledge_id)
        .join(Participant, col(Participant.id) == Pledge.participant_id)
        .join(Event, col(Event.id) == CarriedPledge.from_event_id)
        .where(CarriedPledge.event_id == event.id)
        .order_by(col(Event.starts_on), col(Pledge.id))
    ).all()
    new_ids = [link.refreshed_by_id for link, *_rest in rows if link.refreshed_by_id]
    refreshed = {p.id: p for p in session.exec(select(Pledge).where(col(Pledge.id).in_(new_ids)))}
    return [
        CarriedPledgeLine(pledge, author, came_from, refreshed.get(link.refreshed_by_id))
        for link, pledge, author, came_from in rows
    ]


def carried_into(session: Session, pledge: Pledge) -> list[Event]:
    """The later events the pledge was carried into, where its author may refresh it."""
    return list(
        session.exec(
            select(Event)
            .join(CarriedPledge, col(CarriedPledge.event_id) == Event.id)
            .where(CarriedPledge.pledge_id == pledge.id)
            .order_by(col(Event.starts_on))
        )
    )


@dataclass
class Refresh:
    """A carried pledge as its author sees it in the later event: the old one, where it was
    made, and their pledge here (the refreshed one), if they have written it."""

    old: Pledge
    came_from: Event
    new: Pledge | None


def _link(session: Session, event: Event, old: Pledge) -> CarriedPledge:
    link = _carried_pledge(session, event.id or 0, old.id or 0)
    if link is None:
        raise NotFound(_("This pledge was not brought into this event."))
    return link


def refresh_of(session: Session, event: Event, old: Pledge, participant: Participant) -> Refresh:
    """The old pledge and, beside it, the participant's pledge here if they refreshed it."""
    link = _link(session, event, old)
    mine = pledges.pledge_of(session, event, participant)
    new = mine if mine is not None and mine.id == link.refreshed_by_id else None
    return Refresh(old, session.get_one(Event, link.from_event_id), new)


def refresh_pledge(
    session: Session, event: Event, participant: Participant, old: Pledge, data: PledgeForm
) -> Pledge:
    """The participant's pledge here, in new words, linked to the old one (which stays as it
    was, answer and all). Their reminder and postcard choices, if they had a pledge here
    already, are kept."""
    link = _link(session, event, old)
    mine = pledges.pledge_of(session, event, participant)
    kept = PledgeForm(
        text=data.text,
        may_contact=mine.may_contact if mine else False,
        postcard=pledges.wants_postcard(session, participant) if mine else False,
        remind_on=mine.remind_on if mine else None,
    )
    new = pledges.save_pledge(session, event, participant, kept)
    link.refreshed_by_id = new.id
    session.add(link)
    return new


# --- a "progress" session for the carried work ----------------------------------------------

# The one progress session of an event is the topic proposed under this key (a unique key per
# event: asked twice, or by two organisers at once, it is made once).
PROGRESS_KEY = "carried-work-progress"
DESCRIPTION_MAX = 2000


def progress_session(session: Session, event: Event) -> Topic | None:
    """The event's "progress" session for its carried work, if it has been proposed."""
    return session.exec(
        select(Topic).where(Topic.event_id == event.id, Topic.propose_key == PROGRESS_KEY)
    ).first()


def propose_progress_session(session: Session, event: Event, convener: ParticipantJoin) -> Topic:
    """Put the carried work up as a "progress" session (once): a topic in the marketplace,
    convened by the person named, listing the carried actions and their owners; the
    facilitators place it on the wall as they place any topic."""
    found = progress_session(session, event)
    if found is not None:
        return found
    lines = carried(session, event)
    if not lines:
        raise Refused(_("Bring open actions in first: there is nothing to make progress on yet."))
    listed = "\n".join(f"• {c.line.action.title} ({c.line.owner or _('no owner')})" for c in lines)
    return marketplace.propose_topic(
        session,
        event,
        join_event(session, event, convener),
        TopicCreate(
            title=_("Progress on last year's work"),
            description=listed[:DESCRIPTION_MAX],
        ),
        propose_key=PROGRESS_KEY,
        at_the_desk=True,
    )
