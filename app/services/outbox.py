"""The outbox: messages written with their cause, claimed by one sender, tried until they end.

A message is made in the transaction of what causes it, under the cause's unique key, so one
cause never makes two messages (a form sent twice, two workers planning the same reminder).
A sender claims due messages for a while (`LEASE`); a sender killed mid-send lets the claim
run out and another sends the message again, with the same Message-ID. A temporary failure
waits longer each time (`RETRY_AFTER`), and after the last try the message is failed for
the organiser to see, as is one the server refuses for good.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from app import i18n
from app.db import Database
from app.i18n import _
from app.models.base import utcnow
from app.models.mail import (
    ERROR_MAX,
    MailConsent,
    Message,
    MessageAttempt,
    MessageCause,
    MessageKind,
    MessageState,
    Purpose,
)
from app.services.errors import NotFound

# How long a sender holds a claimed message: far longer than one SMTP conversation takes.
LEASE = timedelta(minutes=5)
# The wait after each temporary failure; after the last, the message has failed.
RETRY_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_AFTER) + 1


def has_consent(session: Session, participant_id: int | None, purpose: Purpose) -> bool:
    """Whether the participant ticked that their address may be used for this purpose."""
    if participant_id is None:
        return False
    return (
        session.exec(
            select(MailConsent.id).where(
                MailConsent.participant_id == participant_id, MailConsent.purpose == purpose
            )
        ).first()
        is not None
    )


def set_consent(session: Session, participant_id: int, purpose: Purpose, given: bool) -> None:
    """Tick or untick a purpose; unticking cancels the messages for it that still wait."""
    row = session.exec(
        select(MailConsent).where(
            MailConsent.participant_id == participant_id, MailConsent.purpose == purpose
        )
    ).first()
    if given and row is None:
        language = i18n.current()
        session.add(MailConsent(participant_id=participant_id, purpose=purpose, language=language))
    elif not given and row is not None:
        session.delete(row)
        cancel_waiting(session, participant_id, KINDS_FOR[purpose], "The person withdrew consent.")
    session.flush()


def language_for(offered: list[str], asked: str | None) -> str:
    """The person's language if the event offers it, else the event's first."""
    return asked if asked in offered else offered[0]


def consents(session: Session, participant_id: int) -> set[Purpose]:
    """The purposes the participant has ticked."""
    rows = session.exec(
        select(MailConsent.purpose).where(MailConsent.participant_id == participant_id)
    ).all()
    return {Purpose(purpose) for purpose in rows}


def cancel_waiting(
    session: Session, participant_id: int, kinds: Sequence[MessageKind], reason: str
) -> None:
    """Stop the participant's waiting messages of these kinds (one being sent right now finds
    its consent gone when it is drawn, or is the last)."""
    session.execute(
        update(Message)
        .where(
            col(Message.participant_id) == participant_id,
            col(Message.kind).in_(kinds),
            col(Message.state) == MessageState.waiting,
        )
        .values(state=MessageState.cancelled, last_error=reason[:ERROR_MAX])
    )


def waiting_for(session: Session, participant_id: int) -> list[Message]:
    """The participant's messages still to go, soonest first."""
    return list(
        session.exec(
            select(Message)
            .where(
                Message.participant_id == participant_id,
                col(Message.state).in_([MessageState.waiting, MessageState.sending]),
            )
            .order_by(col(Message.due_at), col(Message.id))
        )
    )


KINDS_FOR: dict[Purpose, tuple[MessageKind, ...]] = {
    Purpose.pledge: (MessageKind.pledge_postcard,),
    Purpose.actions: (
        MessageKind.action_owner,
        MessageKind.due_soon,
        MessageKind.overdue,
        MessageKind.reminder,
        MessageKind.action_carried,
    ),
    Purpose.sessions: (MessageKind.session_news,),
    Purpose.book: (MessageKind.book,),
}


@dataclass(frozen=True)
class Letter:
    """Who a message goes to and what it is, as its cause knows it."""

    kind: MessageKind
    to_address: str
    to_name: str
    language: str
    subject: str
    due_at: datetime
    event_id: int | None = None
    participant_id: int | None = None
    # Causes with the same group join one message while it still waits.
    group_key: str = ""


def new_message_key() -> str:
    """The left part of a new message's Message-ID: random, made once, kept for every try."""
    return uuid.uuid4().hex


def cause_message(session: Session, key: str) -> Message | None:
    """The message a cause made, if it made one."""
    return session.exec(
        select(Message)
        .join(MessageCause, col(MessageCause.message_id) == Message.id)
        .where(MessageCause.key == key)
    ).first()


def enqueue(
    session: Session,
    key: str,
    letter: Letter,
    *,
    action_id: int | None = None,
    pledge_id: int | None = None,
    topic_id: int | None = None,
) -> tuple[Message, bool]:
    """The message for the cause `key`, made now unless the cause has one; whether it is new.

    A cause of a group joins the group's message that still waits (and is not yet claimed).
    """
    made = cause_message(session, key)
    if made is not None:
        return made, False
    message = waiting_in_group(session, letter.group_key) if letter.group_key else None
    new = message is None
    if message is None:
        message = Message(
            kind=letter.kind,
            to_address=letter.to_address,
            to_name=letter.to_name,
            language=letter.language,
            subject=letter.subject,
            due_at=letter.due_at,
            event_id=letter.event_id,
            participant_id=letter.participant_id,
            group_key=letter.group_key,
            message_id=new_message_key(),
        )
        session.add(message)
        session.flush()
    assert message.id is not None
    if not _add_cause(session, key, message.id, action_id, pledge_id, topic_id):
        # Another transaction wrote this cause in the meantime: its message is the one.
        if new:
            session.delete(message)
            session.flush()
        found = cause_message(session, key)
        assert found is not None
        return found, False
    return message, True


def waiting_in_group(session: Session, group_key: str) -> Message | None:
    """The group's newest message that still waits and no sender holds."""
    query = (
        select(Message)
        .where(
            Message.group_key == group_key,
            Message.state == MessageState.waiting,
            col(Message.claimed_until).is_(None),
        )
        .order_by(col(Message.id).desc())
    )
    if session.get_bind().dialect.name != "sqlite":
        # A sender that claims it meanwhile waits for this transaction; one that has
        # claimed it already has made it `sending`, and a new message is made instead.
        query = query.with_for_update()
    return session.exec(query).first()


def _add_cause(
    session: Session,
    key: str,
    message_id: int,
    action_id: int | None,
    pledge_id: int | None,
    topic_id: int | None,
) -> bool:
    """Write the cause unless its key is taken; whether it was written."""
    values = {
        "key": key,
        "message_id": message_id,
        "action_id": action_id,
        "pledge_id": pledge_id,
        "topic_id": topic_id,
        "created_at": utcnow(),
    }
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = (
        insert(MessageCause)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(MessageCause.id))
    )
    # A row comes back only if it was written. (The driver's rowcount is no answer: psycopg
    # gave -1 for this statement, and a lost race made a second message with no cause.)
    return session.execute(statement).first() is not None


def cancel(session: Session, message: Message, reason: str) -> None:
    """Stop a message that has not gone yet."""
    if message.state in (MessageState.waiting, MessageState.failed):
        message.state, message.last_error = MessageState.cancelled, reason[:ERROR_MAX]
        session.add(message)


def reschedule(session: Session, message: Message, due_at: datetime, subject: str) -> None:
    """Move a waiting message to another moment (a pledge's reminder date changed)."""
    if message.state == MessageState.waiting:
        message.due_at, message.subject = due_at, subject
        session.add(message)


# --- the sender's side --------------------------------------------------------------------


def claim_due(database: Database, limit: int = 50) -> list[int]:
    """Claim up to `limit` messages that are due; ids of those this sender now holds."""
    now = utcnow()
    with database.write() as session:
        query = (
            select(Message)
            .where(
                col(Message.state).in_([MessageState.waiting, MessageState.sending]),
                col(Message.due_at) <= now,
                or_(col(Message.claimed_until).is_(None), col(Message.claimed_until) < now),
            )
            .order_by(col(Message.due_at), col(Message.id))
            .limit(limit)
        )
        if not database.settings.is_sqlite:
            # Several workers: each takes rows no other holds, and never waits for them.
            query = query.with_for_update(skip_locked=True)
        claimed = list(session.exec(query))
        for message in claimed:
            message.state = MessageState.sending
            message.claimed_until = now + LEASE
            message.attempts += 1
            session.add(message)
        return [message.id for message in claimed if message.id is not None]


def record(
    database: Database, message_id: int, outcome: MessageState, reply: str, *, permanent: bool
) -> None:
    """Write what one attempt came to: sent, failed for good, or (temporary) to wait again."""
    now = utcnow()
    reply = reply[:ERROR_MAX]
    with database.write() as session:
        message = session.get(Message, message_id)
        if message is None or message.state != MessageState.sending:
            return
        session.add(MessageAttempt(message_id=message_id, at=now, outcome=outcome, reply=reply))
        message.claimed_until = None
        if outcome == MessageState.sent:
            message.state, message.sent_at, message.last_error = outcome, now, ""
        elif outcome == MessageState.cancelled:
            message.state, message.last_error = outcome, reply
        elif permanent or message.attempts >= MAX_ATTEMPTS:
            message.state, message.last_error = MessageState.failed, reply
        else:
            message.state, message.last_error = MessageState.waiting, reply
            message.due_at = now + RETRY_AFTER[message.attempts - 1]
        session.add(message)


# --- what the organiser sees ----------------------------------------------------------------


def messages(
    session: Session,
    *,
    event_id: int | None = None,
    states: Sequence[MessageState] = (),
    limit: int = 500,
) -> list[Message]:
    """Messages, newest first: of one event, in some states."""
    query = select(Message).order_by(col(Message.due_at).desc(), col(Message.id).desc())
    if event_id is not None:
        query = query.where(Message.event_id == event_id)
    if states:
        query = query.where(col(Message.state).in_(states))
    return list(session.exec(query.limit(limit)))


def event_message(session: Session, event_id: int, message_id: int) -> Message:
    """One of the event's messages; any other is not found."""
    message = session.get(Message, message_id)
    if message is None or message.event_id != event_id:
        raise NotFound(_("There is no such message."))
    return message


def counts(session: Session, event_id: int | None = None) -> dict[MessageState, int]:
    """How many messages are in each state."""
    query = select(Message.state, func.count()).group_by(Message.state)
    if event_id is not None:
        query = query.where(Message.event_id == event_id)
    return {MessageState(state): n for state, n in session.exec(query)}


def attempts(session: Session, message: Message) -> list[MessageAttempt]:
    return list(
        session.exec(
            select(MessageAttempt)
            .where(MessageAttempt.message_id == message.id)
            .order_by(col(MessageAttempt.id))
        )
    )


def causes(session: Session, message: Message) -> list[MessageCause]:
    return list(
        session.exec(
            select(MessageCause)
            .where(MessageCause.message_id == message.id)
            .order_by(col(MessageCause.id))
        )
    )
