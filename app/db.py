"""Engine, sessions and the one write-transaction helper (SQLite pragmas or PostgreSQL)."""

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app import budget
from app.budget import Budget
from app.config import Settings

log = logging.getLogger("openspace")

WRITE_OPTION = "openspace_write"
# A write transaction that starts only if the database is free at once (SQLITE_BUSY if not).
NO_WAIT_OPTION = "openspace_no_wait"


# SQLite's primary result codes, and PostgreSQL's SQLSTATEs, for a store that cannot take writes.
FaultKind = Literal["full", "read-only", "unavailable"]
_SQLITE_FAULTS: dict[int, FaultKind] = {
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_READONLY: "read-only",
    sqlite3.SQLITE_CANTOPEN: "unavailable",
    sqlite3.SQLITE_IOERR: "unavailable",
}
_POSTGRES_FAULTS: dict[str, FaultKind] = {
    "53100": "full",  # disk_full
    "25006": "read-only",  # read_only_sql_transaction (a standby, or set read-only)
    "57P01": "unavailable",  # admin_shutdown: the server is stopping or restarting
    "57P02": "unavailable",  # crash_shutdown
    "57P03": "unavailable",  # cannot_connect_now: still starting
}


@dataclass(frozen=True)
class StorageFault:
    """The database cannot store anything now: its disk is full, it is read-only, or it
    cannot be reached (a PostgreSQL server restarting, say)."""

    kind: FaultKind

    @classmethod
    def of(cls, exc: BaseException) -> "StorageFault | None":
        """The fault behind a database error, or None for any other error."""
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        code = getattr(orig, "sqlite_errorcode", None)
        if isinstance(code, int):
            kind = _SQLITE_FAULTS.get(code & 0xFF)
        else:
            state = getattr(orig, "sqlstate", None)
            kind = _POSTGRES_FAULTS.get(str(state))
            if kind is None and isinstance(orig, psycopg.OperationalError):
                # No server to answer: refused, or the connection lost (SQLSTATE class 08).
                kind = "unavailable" if state is None or state.startswith("08") else None
        return None if kind is None else cls(kind)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whichever way the URL spells the driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """A PostgreSQL URL as psycopg and libpq's tools take it (no SQLAlchemy driver name)."""
    return normalise_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def connection_budget(settings: Settings) -> Budget | None:
    """This process's share of PostgreSQL's connections; None on SQLite, or when the server
    does not answer (the configured pool is used then)."""
    if settings.is_sqlite:
        return None
    try:
        return budget.learn(
            libpq_url(settings.direct_url),
            processes=settings.workers * settings.hosts,
            wanted=settings.db_pool_size + settings.db_pool_overflow,
            pooled=settings.pooled,
        )
    except psycopg.Error as exc:
        log.warning("could not learn PostgreSQL's connection limit: %s", exc)
        return None


def make_engine(settings: Settings, autocheckpoint: bool = True, pool: int | None = None) -> Engine:
    """An engine for the configured database, tuned for concurrent writers; on PostgreSQL
    its pool opens at most `pool` connections (the configured size, if not given).

    Without `autocheckpoint`, a SQLite commit never copies the write-ahead log back into the
    database file (the one commit in a thousand pages that does so also waits for the disk):
    `Database.checkpoint` does it, off the requests' way."""
    url = normalise_url(settings.database_url)
    if not url.startswith("sqlite"):
        most = settings.db_pool_size + settings.db_pool_overflow if pool is None else pool
        size = min(settings.db_pool_size, most)
        return create_engine(
            url,
            pool_size=size,
            max_overflow=most - size,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=True,
            # A pooler in transaction mode hands each transaction whichever server
            # connection is free: a statement prepared on one is unknown to the next.
            connect_args={"prepare_threshold": None} if settings.pooled else {},
        )
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
        },
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
    )
    busy_ms = settings.sqlite_busy_timeout_ms

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the sqlite3 module so write transactions can say IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front, so they queue on busy_timeout instead of
        # failing with "database is locked" when a read transaction tries to upgrade.
        options = conn.get_execution_options()
        # What cannot fail goes straight to the driver: through the engine, each statement
        # cost as much again (the pragmas, and a reader's BEGIN, which takes no lock).
        driver = conn.connection.driver_connection
        assert driver is not None
        if options.get(NO_WAIT_OPTION):
            driver.execute("PRAGMA busy_timeout=0")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                driver.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        elif options.get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            driver.execute("BEGIN")

    return engine


class Database:
    """The engine plus the two ways to open a session: to read, or to write."""

    def __init__(self, settings: Settings, autocheckpoint: bool = True) -> None:
        self.settings = settings
        self.budget = connection_budget(settings)
        # A budget that does not fit refuses to serve (app.main); a command still runs.
        pool = max(1, self.budget.pool) if self.budget is not None else None
        self.engine = make_engine(settings, autocheckpoint, pool)
        self._write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        # Called after each commit with the changes it made (see app.broker).
        self.on_commit: list[Callable[[list[Any]], None]] = []

    @property
    def max_connections(self) -> int:
        """How many sessions can hold a connection at once."""
        if self.budget is not None:
            return max(1, self.budget.pool)
        return self.settings.db_pool_size + self.settings.db_pool_overflow

    def session(self, *, write: bool) -> Session:
        """A new session; a write session starts its transaction with the write lock."""
        return Session(
            self._write_engine if write else self.engine,
            expire_on_commit=False,
            info={"on_commit": self.on_commit},
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        """The write transaction: commit on success, roll back on any error."""
        with self.session(write=True) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session for scripts and background work."""
        with self.session(write=False) as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only session whose every statement sees the database as of its first one.

        SQLite's read transactions are such a snapshot already. PostgreSQL's default (READ
        COMMITTED) shows each statement what was committed before it began: a live frame
        read the agenda version of one moment and the reports of a later one, so a report
        written in between was in neither the frame before nor the change after it, and
        pages never heard of it."""
        with self.session(write=False) as session:
            if not self.settings.is_sqlite:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def checkpoint(self) -> None:
        """Copy what SQLite's write-ahead log holds into the database file, as far as it can
        without waiting for anyone (readers keep the pages they read; writers go on)."""
        if self.settings.is_sqlite:
            with self.engine.connect() as conn:
                # Outside any transaction: a connection that has one open cannot checkpoint.
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def ping(self) -> None:
        """Ask the database one trivial question; raises if it does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
