"""Shared column types and the constraint naming convention."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


# Ids are INTEGER columns (32 bits on PostgreSQL): no row has a larger one.
MAX_ID = 2**31 - 1


def row_id(text: object) -> int | None:
    """The row a typed text names by its id (digits, 1 to MAX_ID); None if it names none."""
    digits = str(text or "")
    if not digits.isdecimal() or len(digits) > len(str(MAX_ID)):
        return None
    return int(digits) if 0 < int(digits) <= MAX_ID else None


# The one place the app asks what time it is. Set (`set_clock`) to look at another moment:
# `openspace send-due --now`, and tests that move six months on.
_fixed_now: datetime | None = None


def utcnow() -> datetime:
    """Now, in UTC (or the moment the clock was set to)."""
    return _fixed_now if _fixed_now is not None else datetime.now(UTC)


def set_clock(moment: datetime | None) -> None:
    """Make `utcnow` answer `moment` (an aware datetime) from now on; None: the real time."""
    global _fixed_now
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock is set to a moment in a known zone")
    _fixed_now = None if moment is None else moment.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC on every database, read back as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a moment in UTC is stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]
