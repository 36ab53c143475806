"""What the rate limits count when every process shares one count: a row per minute."""

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class RateCount(SQLModel, table=True):
    """How many times one address or person did one kind of thing in one minute (minutes
    counted from 1970), shared by every worker on every host (app/rates.py)."""

    kind: str = Field(primary_key=True, max_length=20)
    who: str = Field(primary_key=True, max_length=80)
    minute: int = Field(sa_column=Column(BigInteger, primary_key=True))
    hits: int = 0
