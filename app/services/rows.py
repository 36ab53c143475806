"""Rows: added exactly once, however many times the same form arrives at the same moment;
copied out of their session to be shared."""

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

R = TypeVar("R", bound=SQLModel)


def add_once(session: Session, row: R, earlier: Callable[[], R | None]) -> tuple[R, bool]:
    """Add `row` unless `earlier()` finds its twin; returns the row kept and whether it is new.

    A unique constraint stops the twin when two requests race past the first look (PostgreSQL
    lets both look before either writes); the loser then finds and returns the winner's row.
    """
    found = earlier()
    if found is not None:
        return found, False
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = earlier()
        if found is None:
            raise
        return found, False
    return row, True


def copy_of(row: R) -> R:
    """The row's stored values in a new object that no session tracks (a row still in a
    session is expired by its rollback, and read again on next use)."""
    return type(row).model_validate(row)
