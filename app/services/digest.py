"""The organiser's weekly digest of an event's open actions: what was updated this week,
what is overdue, what has had no word for `STALE_DAYS`, and which pledges were answered;
newest first, drawn when the message is sent."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from app import i18n
from app.models import Action, ActionUpdate, Event, Participant, Pledge, Slot
from app.models.outcomes import STATUS_LABELS, ActionStatus

OPEN = (ActionStatus.proposed, ActionStatus.agreed, ActionStatus.in_progress)
WEEK = timedelta(days=7)
STALE_DAYS = 60


def cause_key(organiser_id: int, event: Event, now: datetime) -> str:
    """One digest per organiser, event and ISO week at the venue."""
    year, week, _day = now.astimezone(event.zone).isocalendar()
    return f"digest:{organiser_id}:{event.id}:{year}-W{week:02d}"


def after_the_day(session: Session, event: Event, now: datetime) -> bool:
    """Whether the event's last slot has ended (a digest is for the months after)."""
    last = session.exec(select(func.max(Slot.ends_at)).where(Slot.event_id == event.id)).one()
    if last is None:
        return now.astimezone(event.zone).date() > event.starts_on
    return bool(now > last)


@dataclass(frozen=True)
class Line:
    """One action as the digest lists it."""

    action_id: int
    title: str
    owner: str
    status: str
    due_on: str
    last_word: str
    note: str = ""


@dataclass(frozen=True)
class Answered:
    text: str
    answer: str
    when: str


@dataclass(frozen=True)
class Digest:
    updated: list[Line]
    overdue: list[Line]
    stale: list[Line]
    answered: list[Answered]
    still_open: int

    @property
    def empty(self) -> bool:
        return not (self.updated or self.overdue or self.stale or self.answered)


def of(session: Session, event: Event, now: datetime) -> Digest:
    """The event's digest for the week up to `now`."""
    actions = list(
        session.exec(
            select(Action)
            .where(Action.event_id == event.id, col(Action.hidden).is_(False))
            .order_by(col(Action.id))
        )
    )
    ids = [a.id for a in actions]
    last: dict[int, ActionUpdate] = {}
    for update in session.exec(
        select(ActionUpdate)
        .where(col(ActionUpdate.action_id).in_(ids))
        .order_by(col(ActionUpdate.created_at), col(ActionUpdate.id))
    ):
        last[update.action_id] = update
    owners = {
        p.id: p.display_name
        for p in session.exec(
            select(Participant).where(
                col(Participant.id).in_({a.owner_id for a in actions if a.owner_id})
            )
        )
    }
    today = now.astimezone(event.zone).date()

    def word_at(action: Action) -> datetime:
        update = last.get(action.id or 0)
        return update.created_at if update else action.created_at

    def line(action: Action) -> Line:
        assert action.id is not None
        update = last.get(action.id)
        return Line(
            action_id=action.id,
            title=action.title,
            owner=owners.get(action.owner_id, action.owner_name) if action.owner_id else "",
            status=str(STATUS_LABELS[action.status]),
            due_on=i18n.when(action.due_on, None, "date") if action.due_on else "",
            last_word=i18n.when(word_at(action), event.zone, "date"),
            note=update.note if update else "",
        )

    newest_first = sorted(actions, key=word_at, reverse=True)
    open_actions = [a for a in newest_first if a.status in OPEN]
    updated = [a for a in newest_first if a.id in last and now - last[a.id].created_at <= WEEK]
    overdue = [a for a in open_actions if a.due_on is not None and a.due_on < today]
    stale = [a for a in open_actions if now - word_at(a) > timedelta(days=STALE_DAYS)]
    answered = session.exec(
        select(Pledge)
        .where(
            Pledge.event_id == event.id,
            col(Pledge.answered_at).is_not(None),
            col(Pledge.answered_at) > now - WEEK,
        )
        .order_by(col(Pledge.answered_at).desc())
    ).all()
    return Digest(
        updated=[line(a) for a in updated],
        overdue=[line(a) for a in overdue],
        stale=[line(a) for a in stale],
        answered=[
            Answered(p.text, p.answer, i18n.when(p.answered_at, event.zone, "date"))
            for p in answered
        ],
        still_open=len(open_actions),
    )
