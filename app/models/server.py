"""What belongs to this installation rather than to an event: the key it signs with."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class ServerSecret(SQLModel, table=True):
    """A secret every worker and host of one PostgreSQL installation shares (on SQLite the
    key is a file beside the database instead: see app/keys.py)."""

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
