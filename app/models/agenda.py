"""The agenda: topics proposed by participants."""

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow
from app.models.event import Form

TOPIC_TITLE_MAX = 90


class TopicBase(SQLModel):
    title: str = Field(min_length=1, max_length=TOPIC_TITLE_MAX)
    description: str = Field(default="", max_length=2000, sa_type=Text)


class TopicCreate(TopicBase, Form):
    pass


class Topic(TopicBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    convener_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
