"""What makes a message: each in the transaction of its cause, under the cause's own key.

A pledge saved makes its postcard, due on the day its author chose; an owner given an action
makes the message with its private link (actions given to one owner in one session within
`GATHER` of each other go in one message); a due date coming up and a due date passed make
reminders when the sender plans them (`plan_reminders`), at most weekly and three times.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app import i18n
from app.db import Database
from app.i18n import _, lazy
from app.models import Action, ActionUpdate, Event, Organiser, Participant, Pledge
from app.models.base import utcnow
from app.models.mail import MailConsent, Message, MessageCause, MessageKind, MessageState, Purpose
from app.models.people import PasswordReset, TeamInvite
from app.services import mail, outbox
from app.services.errors import Refused
from app.services.outbox import Letter

# Actions given to one owner within this long of each other go in one message.
GATHER = timedelta(minutes=3)
# Reminders reach the owner this many days before the due date.
DUE_SOON_DAYS = 3
# After the due date: a nudge a week, at most this many, then the organiser sees "not reached".
MAX_NUDGES = 3
# Messages of the day go out in the morning at the venue.
MORNING = time(9, 0)


def _morning(day: date, event: Event) -> datetime:
    return datetime.combine(day, MORNING, tzinfo=event.zone)


def _language(event: Event, asked: str | None = None) -> str:
    """The person's language if we know it and the event offers it, else the event's first."""
    return asked if asked in event.offered else event.offered[0]


# --- the pledge postcard ------------------------------------------------------------------


def _to(
    person: Participant,
    kind: MessageKind,
    event: Event,
    language: str,
    due_at: datetime,
    group_key: str = "",
) -> Letter:
    """A message of `kind` about `event` to one of its participants, in `language`."""
    return Letter(
        kind=kind,
        to_address=person.email,
        to_name=person.display_name,
        language=language,
        subject=mail.subject(kind, event, language),
        due_at=due_at,
        event_id=event.id,
        participant_id=person.id,
        group_key=group_key,
    )


def pledge_saved(session: Session, event: Event, participant: Participant, pledge: Pledge) -> None:
    """The pledge's postcard waits for its day, if its author asked for it by mail; a new day
    moves it, and no consent (or no address) stops it."""
    assert pledge.id is not None and event.id is not None
    key = f"pledge:{pledge.id}:{pledge.remind_on.isoformat()}"
    for message in _messages_of(session, MessageCause.pledge_id == pledge.id):
        if message.state == MessageState.waiting and outbox.cause_message(session, key) != message:
            outbox.cancel(session, message, "The pledge's reminder moved to another day.")
    wanted = participant.email and outbox.has_consent(session, participant.id, Purpose.pledge)
    if not wanted:
        return
    language = _language(event, i18n.current())
    message, _new = outbox.enqueue(
        session,
        key,
        _to(
            participant,
            MessageKind.pledge_postcard,
            event,
            language,
            _morning(pledge.remind_on, event),
        ),
        pledge_id=pledge.id,
    )
    if message.state == MessageState.cancelled:  # stopped before, wanted again
        message.state, message.last_error = MessageState.waiting, ""
    if message.state == MessageState.waiting:
        message.to_address, message.to_name = participant.email, participant.display_name
    session.add(message)


def _messages_of(session: Session, condition: object) -> list[Message]:
    return list(
        session.exec(
            select(Message)
            .join(MessageCause, col(MessageCause.message_id) == Message.id)
            .where(condition)  # type: ignore[arg-type]
            .distinct()
        )
    )


# --- action owners ------------------------------------------------------------------------


def action_owned(session: Session, event: Event, action: Action) -> None:
    """The owner of an action hears of it with its private link (once per owner and action;
    with the other actions they were given in the same session, in one message)."""
    owner = session.get(Participant, action.owner_id) if action.owner_id else None
    if owner is None or not owner.email or action.hidden:
        return
    if not outbox.has_consent(session, owner.id, Purpose.actions):
        return
    assert action.id is not None and event.id is not None
    language = _language(event)
    now = utcnow()
    message, new = outbox.enqueue(
        session,
        f"action-owner:{action.id}:{owner.id}",
        _to(
            owner,
            MessageKind.action_owner,
            event,
            language,
            now + GATHER,
            f"action-owner:{owner.id}:report:{action.report_id}",
        ),
        action_id=action.id,
    )
    if new and message.state == MessageState.waiting:
        message.due_at = max(message.due_at, now + GATHER)
        session.add(message)


def actions_carried(session: Session, earlier: Event, into: Event, actions: list[Action]) -> None:
    """The owners of actions just carried into a later event hear of it: one message per owner
    per carry, with each action's private link, if they asked for mail about their actions."""
    now = utcnow()
    for action in actions:
        owner = session.get(Participant, action.owner_id) if action.owner_id else None
        if owner is None or not owner.email or action.hidden:
            continue
        if not outbox.has_consent(session, owner.id, Purpose.actions):
            continue
        assert action.id is not None and earlier.id is not None and into.id is not None
        language = _language(earlier)
        outbox.enqueue(
            session,
            f"carried:{into.id}:{action.id}",
            _to(
                owner,
                MessageKind.action_carried,
                earlier,
                language,
                now,
                f"carried:{into.id}:{earlier.id}:{owner.id}",
            ),
            action_id=action.id,
        )


# --- reminders, planned by the sender -------------------------------------------------------


def plan_reminders(database: Database) -> int:
    """Write the reminders that are due by now (due soon; overdue, weekly, three at most);
    how many causes were new. Safe to run in every process at once: each cause has one key."""
    now = utcnow()
    with database.read() as session:
        candidates = _open_owned_actions(session, now)
    if not candidates:
        return 0
    made = 0
    with database.write() as session:
        for action_id in candidates:
            action = session.get(Action, action_id)
            if action is None:
                continue
            event = session.get_one(Event, action.event_id)
            made += _remind(session, event, action, now)
    return made


def _open_owned_actions(session: Session, now: datetime) -> list[int]:
    """Open actions with an owner who asked for mail and a due date within reach."""
    horizon = now.date() + timedelta(days=DUE_SOON_DAYS + 1)
    rows = session.exec(
        select(Action.id)
        .join(Participant, col(Participant.id) == Action.owner_id)
        .join(MailConsent, col(MailConsent.participant_id) == Participant.id)
        .where(
            MailConsent.purpose == Purpose.actions,
            col(Participant.email) != "",
            col(Action.hidden).is_(False),
            col(Action.status).in_(mail.OPEN),
            col(Action.due_on).is_not(None),
            col(Action.due_on) <= horizon,
        )
        .order_by(col(Action.id))
    ).all()
    keys = {action_id: _reminder_key(session, action_id, now) for action_id in rows}
    taken = set(
        session.exec(
            select(MessageCause.key).where(col(MessageCause.key).in_(set(keys.values())))
        ).all()
    )
    return [action_id for action_id, key in keys.items() if action_id and key and key not in taken]


def _reminder(action: Action, today: date) -> tuple[MessageKind, str] | None:
    """Which reminder the action is due now, and its cause key; None if none is."""
    if action.due_on is None:
        return None
    days_left = (action.due_on - today).days
    if 0 <= days_left <= DUE_SOON_DAYS:
        return MessageKind.due_soon, f"due-soon:{action.id}:{action.due_on.isoformat()}"
    if days_left < 0:
        nudge = min(-days_left // 7 + 1, MAX_NUDGES + 1)
        if nudge <= MAX_NUDGES:
            return MessageKind.overdue, f"overdue:{action.id}:{action.due_on.isoformat()}:{nudge}"
    return None


def _reminder_key(session: Session, action_id: int | None, now: datetime) -> str:
    action = session.get_one(Action, action_id)
    event = session.get_one(Event, action.event_id)
    found = _reminder(action, now.astimezone(event.zone).date())
    return found[1] if found else ""


def _remind(session: Session, event: Event, action: Action, now: datetime) -> int:
    found = _reminder(action, now.astimezone(event.zone).date())
    owner = session.get(Participant, action.owner_id) if action.owner_id else None
    if found is None or owner is None or not owner.email:
        return 0
    kind, key = found
    language = _language(event)
    assert event.id is not None and action.id is not None
    _message, new = outbox.enqueue(
        session,
        key,
        _to(
            owner,
            kind,
            event,
            language,
            now,
            # An owner's reminders planned together go in one message.
            f"{kind.value}:{owner.id}:{now.date().isoformat()}",
        ),
        action_id=action.id,
    )
    return int(new)


# --- the tracker: whether owners are reached, and "remind now" ------------------------------


REACH_LABELS = {
    "no_mail": lazy("no e-mail"),
    "none": lazy("no message yet"),
    "waiting": lazy("mail waiting"),
    "reached": lazy("reached"),
    "failed": lazy("mail failed"),
    "not_reached": lazy("not reached"),
    "answered": lazy("answered by e-mail"),
}


@dataclass(frozen=True)
class Reach:
    """What the tracker says of an action's owner and the mail about the action."""

    # "no_mail" (no address, or they did not ask), "none", "waiting", "reached", "failed", or
    # "not_reached" (the last nudge went and the action is still open past its due date), or
    # "answered" (the owner replied by e-mail since the last message).
    state: str
    at: datetime | None = None
    detail: str = ""

    @property
    def may_remind(self) -> bool:
        return self.state != "no_mail"


def reach(session: Session, actions: list[Action]) -> dict[int, Reach]:
    """For each action with an owner: whether mail reaches them, and the last message."""
    owned = [a for a in actions if a.id is not None and a.owner_id is not None]
    if not owned:
        return {}
    owners = {a.owner_id for a in owned}
    reachable = set(
        session.exec(
            select(Participant.id)
            .join(MailConsent, col(MailConsent.participant_id) == Participant.id)
            .where(
                col(Participant.id).in_(owners),
                col(Participant.email) != "",
                MailConsent.purpose == Purpose.actions,
            )
        ).all()
    )
    rows = session.exec(
        select(MessageCause.action_id, MessageCause.key, Message)
        .join(Message, col(Message.id) == MessageCause.message_id)
        .where(
            col(MessageCause.action_id).in_([a.id for a in owned]),
            Message.state != MessageState.cancelled,
        )
        .order_by(col(Message.id))
    ).all()
    last: dict[int, Message] = {}
    nudges: dict[int, int] = {}
    for action_id, key, message in rows:
        assert action_id is not None
        last[action_id] = message
        if key.startswith("overdue:") and message.state == MessageState.sent:
            nudges[action_id] = nudges.get(action_id, 0) + 1
    # The owner's latest reply by e-mail (app/services/mail_replies.py) to each action.
    replies = {
        update.action_id: update.created_at
        for update in session.exec(
            select(ActionUpdate)
            .where(
                col(ActionUpdate.action_id).in_([a.id for a in owned]),
                col(ActionUpdate.via_mail).is_(True),
            )
            .order_by(col(ActionUpdate.id))
        )
    }
    found: dict[int, Reach] = {}
    for action in owned:
        assert action.id is not None
        latest = last.get(action.id)
        replied = replies.get(action.id)
        if action.owner_id not in reachable:
            found[action.id] = Reach("no_mail")
        elif replied is not None and (
            latest is None or replied >= (latest.sent_at or latest.due_at)
        ):
            found[action.id] = Reach("answered", replied)
        elif latest is None:
            found[action.id] = Reach("none")
        elif latest.state == MessageState.failed:
            found[action.id] = Reach("failed", latest.due_at, latest.last_error)
        elif latest.state != MessageState.sent:
            found[action.id] = Reach("waiting", latest.due_at)
        elif nudges.get(action.id, 0) >= MAX_NUDGES and action.status in mail.OPEN:
            found[action.id] = Reach("not_reached", latest.sent_at)
        else:
            found[action.id] = Reach("reached", latest.sent_at)
    return found


def remind_now(session: Session, event: Event, action: Action) -> bool:
    """An organiser's "remind now": one message to the owner, once a day however often it is
    pressed (with their other actions reminded the same day, in one message); whether it is
    new. Refused when the owner cannot be reached by mail."""
    owner = session.get(Participant, action.owner_id) if action.owner_id else None
    if owner is None or not owner.email or action.hidden:
        raise Refused(_("This action's owner cannot be reached by e-mail."))
    if not outbox.has_consent(session, owner.id, Purpose.actions):
        raise Refused(_("This action's owner did not ask for e-mail about their actions."))
    if action.status not in mail.OPEN:
        raise Refused(_("This action is closed: there is nothing to remind its owner of."))
    assert event.id is not None and action.id is not None and owner.id is not None
    now = utcnow()
    today = now.astimezone(event.zone).date().isoformat()
    language = _language(event)
    _message, new = outbox.enqueue(
        session,
        f"remind-now:{action.id}:{today}",
        _to(
            owner,
            MessageKind.reminder,
            event,
            language,
            now,
            f"reminder:{owner.id}:{today}",
        ),
        action_id=action.id,
    )
    return new


def remind_overdue(session: Session, event: Event) -> int:
    """ "Remind now" for every open action of the event past its due date whose owner asked
    for mail; how many reminders are new (one a day per action, one message per owner)."""
    now = utcnow()
    today = now.astimezone(event.zone).date()
    overdue = session.exec(
        select(Action)
        .join(Participant, col(Participant.id) == Action.owner_id)
        .join(MailConsent, col(MailConsent.participant_id) == Participant.id)
        .where(
            Action.event_id == event.id,
            MailConsent.purpose == Purpose.actions,
            col(Participant.email) != "",
            col(Action.hidden).is_(False),
            col(Action.status).in_(mail.OPEN),
            col(Action.due_on) < today,
        )
        .order_by(col(Action.id))
    ).all()
    return sum(remind_now(session, event, action) for action in overdue)


# --- organiser accounts: an invitation to a team, a forgotten password -----------------------


def _invite_key(invite: TeamInvite) -> str:
    return f"{mail.INVITE_CAUSE}:{invite.id}:{invite.version}"


def team_invited(session: Session, event: Event, invite: TeamInvite) -> None:
    """The invitation's message with its link: one per invitation (inviting again while it
    is open is no new cause; a renewed one is)."""
    assert event.id is not None
    language = _language(event, i18n.current())
    outbox.enqueue(
        session,
        _invite_key(invite),
        Letter(
            kind=MessageKind.team_invite,
            to_address=invite.email,
            to_name=invite.name,
            language=language,
            subject=mail.subject(MessageKind.team_invite, event, language),
            due_at=utcnow(),
            event_id=event.id,
        ),
    )


def team_invite_message(session: Session, invite: TeamInvite) -> int | None:
    """The id of the message carrying the invitation's newest link, if there is one."""
    message = outbox.cause_message(session, _invite_key(invite))
    return message.id if message else None


def team_invite_withdrawn(session: Session, invite: TeamInvite) -> None:
    """A cancelled invitation's message goes nowhere if it has not gone yet."""
    message = outbox.cause_message(session, _invite_key(invite))
    if message is not None:
        outbox.cancel(session, message, "The organisers cancelled the invitation.")


def password_reset_asked(session: Session, reset: PasswordReset, account: Organiser) -> None:
    """The message with the link to set a new password, in the language it was asked in."""
    language = i18n.current()
    outbox.enqueue(
        session,
        f"{mail.RESET_CAUSE}:{reset.id}",
        Letter(
            kind=MessageKind.password_reset,
            to_address=account.email,
            to_name=account.name,
            language=language,
            subject=mail.subject(MessageKind.password_reset, None, language),
            due_at=utcnow(),
        ),
    )
