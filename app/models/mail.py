"""The outbox: e-mail messages waiting to go, why each was made, each attempt, and consent."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.i18n import lazy
from app.models.base import UTCDateTime, utcnow
from app.models.event import Form

ADDRESS_MAX = 254
SUBJECT_MAX = 300
ERROR_MAX = 1000


class MessageState(StrEnum):
    waiting = "waiting"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


STATE_LABELS = {
    MessageState.waiting: lazy("Waiting"),
    MessageState.sending: lazy("Sending"),
    MessageState.sent: lazy("Sent"),
    MessageState.failed: lazy("Failed"),
    MessageState.cancelled: lazy("Cancelled"),
}


class MessageKind(StrEnum):
    pledge_postcard = "pledge_postcard"
    action_owner = "action_owner"
    due_soon = "due_soon"
    overdue = "overdue"
    # An organiser pressed "remind now" in the tracker.
    reminder = "reminder"
    # An organiser brought the owner's open actions into their next event.
    action_carried = "action_carried"
    # On the day: a session the person has (or waits for) a seat in moved, was cancelled, or
    # gave them a seat from its waitlist.
    session_news = "session_news"
    # The book of proceedings is ready.
    book = "book"
    # To an organiser, weekly while an event has open actions.
    digest = "digest"
    # To someone an organiser asked onto an event's team: the link to join it.
    team_invite = "team_invite"
    # To an organiser who forgot their password: the link to set a new one.
    password_reset = "password_reset"
    test = "test"


class Purpose(StrEnum):
    """What a person gave their address for; each is ticked by them, none is assumed."""

    pledge = "pledge"
    actions = "actions"
    sessions = "sessions"
    book = "book"


PURPOSE_LABELS = {
    Purpose.pledge: lazy("Your pledge's postcard"),
    Purpose.actions: lazy("Updates on the actions you own"),
    Purpose.sessions: lazy("News about the sessions you signed up for"),
    Purpose.book: lazy("The book of proceedings when it is ready"),
}
PURPOSE_HINTS = {
    Purpose.pledge: lazy("Your pledge in your own words, on the day you chose."),
    Purpose.actions: lazy(
        "The private link to post progress, a reminder before a due date, and a few after it."
    ),
    Purpose.sessions: lazy(
        "On the day: when a session of yours moves or is cancelled, or you get a seat from "
        "its waitlist."
    ),
    Purpose.book: lazy("A link to every session's report, once, after the closing circle."),
}


class Message(SQLModel, table=True):
    """One e-mail in the outbox, to one person; written in the transaction of its cause."""

    __table_args__ = (Index("ix_message_state_due_at", "state", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(
        default=None, foreign_key="event.id", index=True, ondelete="CASCADE"
    )
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    kind: MessageKind = Field(sa_type=String(24))
    to_address: str = Field(max_length=ADDRESS_MAX)
    to_name: str = Field(default="", max_length=120)
    language: str = Field(default="en", max_length=8)
    subject: str = Field(default="", max_length=SUBJECT_MAX)
    # The Message-ID header, made once: a message sent again after a lost claim keeps it,
    # so the recipient's mail program shows one message, never two.
    message_id: str = Field(max_length=255, unique=True)
    # News of the day: where the session was and where the person stood in it before the
    # first change this message tells of; if the changes end there, it is not sent.
    baseline: str = Field(default="", max_length=200)
    # Causes with the same group join this message while it waits (one message for several
    # actions of one owner).
    group_key: str = Field(default="", max_length=160, index=True)
    state: MessageState = Field(default=MessageState.waiting, sa_type=String(16))
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A sender holds the message until then; a sender killed mid-send lets it run out.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", max_length=ERROR_MAX)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MessageCause(SQLModel, table=True):
    """Why a message was made; its key is unique, so one cause never makes two messages."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)
    message_id: int = Field(foreign_key="message.id", index=True, ondelete="CASCADE")
    action_id: int | None = Field(
        default=None, foreign_key="action.id", index=True, ondelete="CASCADE"
    )
    pledge_id: int | None = Field(
        default=None, foreign_key="pledge.id", index=True, ondelete="CASCADE"
    )
    topic_id: int | None = Field(
        default=None, foreign_key="topic.id", index=True, ondelete="CASCADE"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MessageAttempt(SQLModel, table=True):
    """One try at handing a message to the mail server, and what the server said."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    outcome: MessageState = Field(sa_type=String(16))
    reply: str = Field(default="", max_length=ERROR_MAX, sa_type=Text)


class MailConsent(SQLModel, table=True):
    """A participant ticked that their address may be used for this purpose."""

    __table_args__ = (UniqueConstraint("participant_id", "purpose"),)
    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    purpose: Purpose = Field(sa_type=String(16))
    # The language they ticked it in: mail whose cause is someone else's (a facilitator's
    # move, the book) is written in it.
    language: str = Field(default="", max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InboundState(StrEnum):
    placed = "placed"
    unplaced = "unplaced"
    dismissed = "dismissed"


class NotPlaced(StrEnum):
    """Why a reply could not be posted as an update by itself."""

    no_address = "no_address"
    bad_signature = "bad_signature"
    unknown = "unknown"
    not_owner = "not_owner"
    erased = "erased"
    empty = "empty"
    several = "several"
    unreadable = "unreadable"


NOT_PLACED_LABELS = {
    NotPlaced.no_address: lazy("It was not sent to a reply address of ours."),
    NotPlaced.bad_signature: lazy("Its reply address was altered or not made by us."),
    NotPlaced.unknown: lazy("The message or action it answers is no longer kept."),
    NotPlaced.not_owner: lazy("The person no longer owns the action it answers."),
    NotPlaced.erased: lazy("The person asked for their data to be erased."),
    NotPlaced.empty: lazy("Nothing was left once the quoted message was taken off."),
    NotPlaced.several: lazy("It answers a message about several actions."),
    NotPlaced.unreadable: lazy("It could not be read."),
}
INBOUND_TEXT_MAX = 20_000


class InboundMail(SQLModel, table=True):
    """A reply that came in by e-mail: posted as an update, or kept for the organiser to place."""

    id: int | None = Field(default=None, primary_key=True)
    # One row per message and recipient: a mail server delivering it again changes nothing.
    key: str = Field(max_length=64, unique=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    event_id: int | None = Field(
        default=None, foreign_key="event.id", index=True, ondelete="CASCADE"
    )
    # Who it is from, when the reply address (or the sender's address) says so.
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    # The message of ours it answers.
    message_id: int | None = Field(
        default=None, foreign_key="message.id", index=True, ondelete="SET NULL"
    )
    sender: str = Field(default="", max_length=ADDRESS_MAX + 122)
    subject: str = Field(default="", max_length=SUBJECT_MAX)
    text: str = Field(default="", max_length=INBOUND_TEXT_MAX, sa_type=Text)
    state: InboundState = Field(default=InboundState.unplaced, sa_type=String(16))
    reason: str = Field(default="", max_length=16)
    # Where it went: the action and the update it became.
    action_id: int | None = Field(
        default=None, foreign_key="action.id", index=True, ondelete="SET NULL"
    )
    update_id: int | None = Field(
        default=None, foreign_key="actionupdate.id", index=True, ondelete="SET NULL"
    )


class PlaceReplyForm(Form):
    """The organiser's choice of the action a kept reply is about."""

    action_id: int = Field(gt=0)
