"""What became of every event an organiser runs, side by side and in total: actions by status
over time, by event and by aim, late, quiet and unreached ones, and pledges answered.

Counted by aggregate queries (an organiser with 20 events holds thousands of actions and tens
of thousands of updates), then drawn once: the drawing is kept, keyed on a fingerprint of
everything it counts (each event's actions by status with their last change, the updates,
pledges, aims, messages and consents, and the day), so the next look is answered from memory
and any change is drawn afresh.
"""

import threading
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from markupsafe import Markup
from sqlalchemy import and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app import i18n
from app.i18n import _, ngettext
from app.models import (
    Action,
    ActionTheme,
    ActionUpdate,
    Event,
    Organiser,
    Participant,
    Pledge,
    Role,
    Theme,
)
from app.models.base import utcnow
from app.models.mail import MailConsent, Message, MessageCause, Purpose
from app.services import charts, mail_causes
from app.services import events as event_service
from app.services.followup_stats import (
    CLOSED,
    STALE_AFTER,
    Figure,
    Tally,
    _tally_names,
    _tally_of,
    over_time_figure,
    points,
)
from app.services.mail import OPEN

# What the dashboard calls an owner not reached: no address or no consent, the last message
# failed, or every nudge went unanswered (the tracker's words for these).
UNREACHED = ("no_mail", "failed", "not_reached")


@dataclass
class EventFigures:
    """One event's line in the side-by-side tables."""

    event: Event
    tally: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Tally.ALL, 0))
    overdue: int = 0
    stale: int = 0
    not_reached: int = 0
    pledges: int = 0
    answered: int = 0

    @property
    def total(self) -> int:
        return sum(self.tally.values())


@dataclass
class Across:
    """The cross-event dashboard as at `now`: per event, in total, and drawn."""

    now: datetime
    events: list[EventFigures]
    figures: list[Figure]
    drawn: dict[str, Markup]

    @property
    def total(self) -> EventFigures:
        summed = EventFigures(Event(name=_("All events"), starts_on=self.now.date(), join_code=""))
        for row in self.events:
            for tally in Tally.ALL:
                summed.tally[tally] += row.tally[tally]
            summed.overdue += row.overdue
            summed.stale += row.stale
            summed.not_reached += row.not_reached
            summed.pledges += row.pledges
            summed.answered += row.answered
        return summed


def organised(session: Session, organiser: Organiser) -> list[Event]:
    """The events this organiser organises (not only facilitates), oldest first."""
    found = [e for e, role in event_service.events_of(session, organiser) if role == Role.organiser]
    return sorted(found, key=lambda e: (e.starts_on, e.id or 0))


# --- drawn once, then from memory -----------------------------------------------------------

_KEPT = 64
_lock = threading.Lock()
_drawn: dict[Hashable, Across] = {}


def across_events(session: Session, organiser: Organiser) -> Across:
    """The dashboard across the organiser's events: from memory while nothing it counts has
    changed (nor the day, nor the language), else counted and drawn afresh."""
    events = organised(session, organiser)
    key = (organiser.id, i18n.current(), fingerprint(session, events))
    with _lock:
        found = _drawn.get(key)
    if found is not None:
        return found
    made = draw(session, events)
    with _lock:
        if len(_drawn) >= _KEPT:
            _drawn.pop(next(iter(_drawn)))
        _drawn[key] = made
    return made


def fingerprint(session: Session, events: list[Event]) -> Hashable:
    """A few aggregates that change whenever anything the dashboard counts changes."""
    ids = [e.id for e in events]
    of_events = col(Action.event_id).in_(ids)
    return (
        utcnow().date(),
        tuple((e.id, e.join_code, e.name, e.starts_on, e.timezone) for e in events),
        tuple(
            session.execute(
                sa_select(
                    col(Action.status),
                    col(Action.hidden),
                    func.count(),
                    func.max(col(Action.updated_at)),
                    func.max(col(Action.id)),
                    func.sum(func.coalesce(col(Action.owner_id), 0)),
                    func.count(col(Action.due_on)),
                )
                .where(of_events)
                .group_by(col(Action.status), col(Action.hidden))
                .order_by(col(Action.status), col(Action.hidden))
            ).all()
        ),
        tuple(
            session.exec(
                select(func.count(), func.max(ActionUpdate.id))
                .join(Action, col(Action.id) == ActionUpdate.action_id)
                .where(of_events)
            ).one()
        ),
        tuple(
            session.exec(
                select(func.count(), func.max(ActionTheme.id))
                .join(Action, col(Action.id) == ActionTheme.action_id)
                .where(of_events)
            ).one()
        ),
        tuple(
            session.exec(
                select(func.count(), func.max(Theme.id), func.sum(func.length(Theme.name))).where(
                    col(Theme.event_id).in_(ids)
                )
            ).one()
        ),
        tuple(
            session.execute(
                sa_select(
                    func.count(),
                    func.max(col(Pledge.id)),
                    func.max(col(Pledge.updated_at)),
                    func.max(col(Pledge.answered_at)),
                    func.count(col(Pledge.answered_at)),
                ).where(col(Pledge.event_id).in_(ids))
            ).one()
        ),
        tuple(
            session.exec(
                select(Message.state, func.count(), func.max(Message.id))
                .where(col(Message.event_id).in_(ids))
                .group_by(col(Message.state))
                .order_by(col(Message.state))
            ).all()
        ),
        tuple(
            session.exec(
                select(func.count(), func.max(MailConsent.id))
                .join(Participant, col(Participant.id) == MailConsent.participant_id)
                .where(col(Participant.event_id).in_(ids), MailConsent.purpose == Purpose.actions)
            ).one()
        ),
    )


def forget() -> None:
    """Drop every kept drawing (a test that empties its database starts from nothing)."""
    with _lock:
        _drawn.clear()


# --- counting -------------------------------------------------------------------------------


def draw(session: Session, events: list[Event]) -> Across:
    """Count and draw the dashboard of these events, as at the app's clock."""
    now = utcnow()
    rows = {e.id: EventFigures(e) for e in events}
    ids = [e.id for e in events]
    for event_id, status, n in session.exec(
        select(Action.event_id, Action.status, func.count())
        .where(col(Action.event_id).in_(ids), col(Action.hidden).is_(False))
        .group_by(col(Action.event_id), col(Action.status))
    ):
        rows[event_id].tally[_tally_of(status)] += n
    _late_and_quiet(session, rows, now)
    _unreached(session, rows)
    for event_id, n, answered in session.exec(
        select(Pledge.event_id, func.count(), func.count(col(Pledge.answered_at)))
        .where(col(Pledge.event_id).in_(ids))
        .group_by(col(Pledge.event_id))
    ):
        rows[event_id].pledges, rows[event_id].answered = n, answered
    lines = list(rows.values())
    figures = [
        over_time(session, events, now),
        by_event(lines),
        by_aim(session, ids),
        late_by_event(lines),
        pledges_by_event(lines),
    ]
    return Across(now, lines, figures, {f.key: charts.draw(f) for f in figures})


def _late_and_quiet(session: Session, rows: dict[int | None, EventFigures], now: datetime) -> None:
    """Open actions past their due date (at the venue's today), and those with no news for
    `STALE_AFTER`, per event."""
    last_update = (
        select(ActionUpdate.action_id, func.max(ActionUpdate.created_at).label("at"))
        .group_by(col(ActionUpdate.action_id))
        .subquery()
    )
    today = {event_id: now.astimezone(row.event.zone).date() for event_id, row in rows.items()}
    for event_id, due_on, created_at, updated in session.exec(
        select(Action.event_id, col(Action.due_on), Action.created_at, last_update.c.at)
        .join(last_update, last_update.c.action_id == Action.id, isouter=True)
        .where(
            col(Action.event_id).in_(list(rows)),
            col(Action.hidden).is_(False),
            col(Action.status).in_(OPEN),
        )
    ):
        row = rows[event_id]
        row.overdue += due_on is not None and due_on < today[event_id]
        touched = updated or created_at
        if isinstance(touched, str):  # the subquery's max() comes back as text on SQLite
            touched = datetime.fromisoformat(touched)
        if touched.tzinfo is None:
            touched = touched.replace(tzinfo=now.tzinfo)
        row.stale += now - touched >= STALE_AFTER


def _unreached(session: Session, rows: dict[int | None, EventFigures]) -> None:
    """Open actions whose owner the app cannot reach, or who never answered, per event: those
    whose owner gave no address or no consent are counted at once; those with messages are
    judged as the tracker judges them (`mail_causes.reach`)."""
    owned = (
        col(Action.event_id).in_(list(rows)),
        col(Action.hidden).is_(False),
        col(Action.status).in_(OPEN),
    )
    consented = (
        select(MailConsent.id)
        .where(MailConsent.participant_id == Participant.id, MailConsent.purpose == Purpose.actions)
        .exists()
    )
    reachable = and_(col(Participant.email) != "", consented)
    for event_id, n in session.exec(
        select(Action.event_id, func.count())
        .join(Participant, col(Participant.id) == Action.owner_id)
        .where(*owned, ~reachable)
        .group_by(col(Action.event_id))
    ):
        rows[event_id].not_reached += n
    mailed = select(MessageCause.id).where(MessageCause.action_id == Action.id).exists()
    written_to = list(
        session.exec(
            select(Action)
            .join(Participant, col(Participant.id) == Action.owner_id)
            .where(*owned, reachable, mailed)
        )
    )
    reached = mail_causes.reach(session, written_to)
    for action in written_to:
        if action.id in reached and reached[action.id].state in UNREACHED:
            rows[action.event_id].not_reached += 1


def over_time(session: Session, events: list[Event], now: datetime) -> Figure:
    """Open, done and dropped actions of all the events together, from the first event's day
    to now: each update that changed a status moves one action at its moment."""
    ids = [e.id for e in events]
    first = min((e.starts_on for e in events), default=now.date())
    # Each action counts from its writing, open until its first update says otherwise (or,
    # never updated, as it stands); only updates that changed the status move it.
    previous = (
        func.lag(col(ActionUpdate.status))
        .over(
            partition_by=col(ActionUpdate.action_id),
            order_by=(col(ActionUpdate.created_at), col(ActionUpdate.id)),
        )
        .label("before")
    )
    changes = (
        select(ActionUpdate.action_id, ActionUpdate.created_at, ActionUpdate.status, previous)
        .join(Action, col(Action.id) == ActionUpdate.action_id)
        .where(col(Action.event_id).in_(ids), col(Action.hidden).is_(False))
        .subquery()
    )
    closed = [status.value for status in CLOSED]
    moves: list[tuple[datetime, int, str, str]] = []
    for action_id, at, status, before in session.execute(
        select(changes.c.action_id, changes.c.created_at, changes.c.status, changes.c.before).where(
            or_(
                and_(changes.c.before.is_(None), changes.c.status.in_(closed)),
                changes.c.before != changes.c.status,
            )
        )
    ):
        left = _tally_of(before) if before is not None else Tally.open
        if left != _tally_of(status):
            moves.append((at, action_id, left, _tally_of(status)))
    updated = select(ActionUpdate.id).where(ActionUpdate.action_id == Action.id).exists()
    for action_id, at, status, was_updated in session.execute(
        select(Action.id, Action.created_at, Action.status, updated).where(
            col(Action.event_id).in_(ids), col(Action.hidden).is_(False)
        )
    ):
        start = Tally.open if was_updated else _tally_of(status)
        moves.append((at, action_id or 0, "", start))
    moves.sort(key=lambda move: (move[0], move[2] != ""))
    counted = dict.fromkeys(Tally.ALL, 0)
    rows = []
    n = 0
    for day in points(first, max(now.date(), first)):
        moment = min(datetime.combine(day + timedelta(days=1), time(), tzinfo=now.tzinfo), now)
        while n < len(moves) and moves[n][0] <= moment:
            _at, _id, left, came = moves[n]
            if left:
                counted[left] -= 1
            counted[came] += 1
            n += 1
        rows.append((i18n.when(day, None, "medium"), [counted[t] for t in Tally.ALL]))
    title = _("Actions of all your events, from the first day to now")
    return over_time_figure("over-time", title, rows)


def by_event(lines: list[EventFigures]) -> Figure:
    """Open, done and dropped actions of each event, side by side."""
    rows = [(line.event.name, [line.tally[t] for t in Tally.ALL]) for line in lines]
    counted = [line for line in lines if line.total]
    if counted:
        ahead = max(counted, key=lambda line: (line.tally[Tally.done] / line.total, line.total))
        summary = _(
            "Furthest on: %(event)s (%(done)d of %(num)d done).",
            event=ahead.event.name,
            done=ahead.tally[Tally.done],
            num=ahead.total,
        )
    else:
        summary = _("No event has actions yet.")
    return Figure(
        key="events",
        title=_("Actions by event"),
        summary=summary,
        columns=_tally_names(),
        rows=rows,
        label=_("Event"),
        totals=[sum(line.tally[t] for line in lines) for t in Tally.ALL],
    )


def by_aim(session: Session, ids: list[int | None]) -> Figure:
    """Open, done and dropped actions under each aim, the aims of every event taken together
    by name (the same framework comes back each year), then those under none."""
    counted: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(Tally.ALL, 0))
    order: dict[str, tuple[int, int]] = {}
    for name, position, first_id, status, n in session.execute(
        sa_select(
            col(Theme.name),
            func.min(col(Theme.position)),
            func.min(col(Theme.id)),
            col(Action.status),
            func.count(func.distinct(col(Action.id))),
        )
        .join(ActionTheme, col(ActionTheme.theme_id) == Theme.id)
        .join(Action, col(Action.id) == ActionTheme.action_id)
        .where(col(Theme.event_id).in_(ids), col(Action.hidden).is_(False))
        .group_by(col(Theme.name), col(Action.status))
    ):
        counted[name][_tally_of(status)] += n
        order[name] = min(order.get(name, (position, first_id)), (position, first_id))
    rows = [(name, [counted[name][t] for t in Tally.ALL]) for name in sorted(order, key=order.get)]  # type: ignore[arg-type]
    themed = select(ActionTheme.action_id).where(ActionTheme.action_id == Action.id).exists()
    untagged = dict.fromkeys(Tally.ALL, 0)
    for status, n in session.exec(
        select(Action.status, func.count())
        .where(col(Action.event_id).in_(ids), col(Action.hidden).is_(False), ~themed)
        .group_by(col(Action.status))
    ):
        untagged[_tally_of(status)] += n
    if any(untagged.values()):
        rows.append((_("No theme"), [untagged[t] for t in Tally.ALL]))
    with_open = [row for row in rows if row[1][0]]
    if rows:
        ahead = max(rows, key=lambda row: (row[1][1] / max(1, sum(row[1])), row[1][1]))
        summary = _(
            "Furthest on: %(theme)s (%(done)d of %(num)d done).",
            theme=ahead[0],
            done=ahead[1][1],
            num=sum(ahead[1]),
        )
        if with_open:
            behind = max(with_open, key=lambda row: (row[1][0], -row[1][1]))
            summary += " " + _(
                "Most still open: %(theme)s (%(open)d open).", theme=behind[0], open=behind[1][0]
            )
    else:
        summary = _("No action has a theme yet.")
    return Figure(
        key="aims",
        title=_("Actions by theme, all events"),
        summary=summary,
        columns=_tally_names(),
        rows=rows,
        label=_("Theme"),
    )


def late_by_event(lines: list[EventFigures]) -> Figure:
    """Open actions past their date, gone quiet, and whose owner is not reached, per event."""
    overdue = sum(line.overdue for line in lines)
    stale = sum(line.stale for line in lines)
    not_reached = sum(line.not_reached for line in lines)
    return Figure(
        key="late",
        title=_("Overdue, gone quiet, owner not reached"),
        summary=_(
            "Open actions: %(overdue)d overdue, %(stale)d with no news for %(days)d days, "
            "%(unreached)d whose owner is not reached.",
            overdue=overdue,
            stale=stale,
            days=STALE_AFTER.days,
            unreached=not_reached,
        ),
        columns=[_("Overdue"), _("Gone quiet"), _("Owner not reached")],
        rows=[(line.event.name, [line.overdue, line.stale, line.not_reached]) for line in lines],
        kind="grouped",
        label=_("Event"),
        totals=[overdue, stale, not_reached],
    )


def pledges_by_event(lines: list[EventFigures]) -> Figure:
    """Pledges answered and not yet, per event."""
    pledged = sum(line.pledges for line in lines)
    answered = sum(line.answered for line in lines)
    return Figure(
        key="pledges",
        title=_("Pledges answered, by event"),
        summary=ngettext(
            "%(num)d pledge; %(answered)d answered how it went.",
            "%(num)d pledges; %(answered)d answered how it went.",
            pledged,
            answered=answered,
        ),
        columns=[_("Answered"), _("Not answered yet")],
        rows=[(line.event.name, [line.answered, line.pledges - line.answered]) for line in lines],
        label=_("Event"),
        totals=[answered, pledged - answered],
    )
