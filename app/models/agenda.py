"""The agenda: topics, interest in them, their place on the wall, sign-ups and waitlists."""

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow
from app.models.event import Form

TOPIC_TITLE_MAX = 90


class TopicBase(SQLModel):
    title: str = Field(min_length=1, max_length=TOPIC_TITLE_MAX)
    description: str = Field(default="", max_length=2000, sa_type=Text)
    language: str = Field(default="", max_length=40)


class TopicCreate(TopicBase, Form):
    pass


class Topic(TopicBase, table=True):
    """A topic proposed at the marketplace; placed at a slot and space it is a session."""

    __table_args__ = (
        # One topic per cell of the wall: of two conveners racing for a cell, one wins.
        UniqueConstraint("slot_id", "space_id"),
        UniqueConstraint("event_id", "propose_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    convener_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    slot_id: int | None = Field(default=None, foreign_key="slot.id", ondelete="SET NULL")
    space_id: int | None = Field(default=None, foreign_key="space.id", ondelete="SET NULL")
    hidden: bool = Field(default=False)
    # Hidden by its convener, who may put it back (a facilitator's hide is not hers to undo).
    withdrawn: bool = Field(default=False)
    # Folded into another topic as its duplicate: links to this one lead there.
    merged_into_id: int | None = Field(default=None, foreign_key="topic.id", ondelete="SET NULL")
    # The random key of the form that proposed it: a second tap finds this topic.
    propose_key: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def placed(self) -> bool:
        return self.slot_id is not None and self.space_id is not None


class CoConvener(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("topic_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")


class TopicTheme(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("topic_id", "theme_id"),)
    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True, ondelete="CASCADE")
    theme_id: int = Field(foreign_key="theme.id", index=True, ondelete="CASCADE")


class Interest(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("topic_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SignUp(SQLModel, table=True):
    """A seat in a session. One per person per slot, enforced by the database."""

    __table_args__ = (UniqueConstraint("participant_id", "slot_id"),)
    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True, ondelete="CASCADE")
    slot_id: int = Field(foreign_key="slot.id", index=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Given from the waitlist when a seat came free, and its holder has not yet said they
    # saw it: their pages tell them until they do.
    promoted: bool = Field(default=False)


class WaitlistEntry(SQLModel, table=True):
    """A place in the queue for a full session; promoted in order of `id`."""

    __table_args__ = (UniqueConstraint("topic_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConvenerElsewhere(SQLModel, table=True):
    """A convener said she will be elsewhere at her session's time: she holds no seat in it
    (every other convener holds one from the moment the session is placed)."""

    __table_args__ = (UniqueConstraint("topic_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")


class SeatNotice(SQLModel, table=True):
    """News for one person of a change to their seat they did not make themselves (their
    session moved, its room shrank, it left the wall or was merged): their pages tell them
    until they say they saw it, and the desk reprints the agenda of someone without a phone."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    topic_id: int = Field(foreign_key="topic.id", index=True, ondelete="CASCADE")
    # What happened, one of signups.NOTICES ("moved", "waitlisted", …).
    kind: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SeatChange(SQLModel, table=True):
    """A seat taken or given up in a slot, by the person or for them from a waitlist: what
    the morning after counts (sign-ups, switches, promotions, moves once a session began).
    Only what people did in the app; a facilitator's moves of whole sessions are not here."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    slot_id: int = Field(foreign_key="slot.id", ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    # The session left (None: no seat in the slot before) and the one taken (None: only left).
    from_topic_id: int | None = Field(default=None, foreign_key="topic.id", ondelete="SET NULL")
    to_topic_id: int | None = Field(default=None, foreign_key="topic.id", ondelete="SET NULL")
    promoted: bool = Field(default=False)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
