"""Backups: a consistent copy of the whole database while the app keeps running, and back.

SQLite is copied with its online backup API: the copy is one consistent moment of the
database even while people write, and it is checked before it is kept. PostgreSQL is
copied with `pg_dump` (its own consistent snapshot) in its custom format, restored with
`pg_restore`; both must be on the PATH (Debian: `postgresql-client`).
"""

import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from app.config import Settings


class BackupFailed(Exception):
    """The backup or restore could not be made; the message says why and what to do."""


@dataclass
class Copied:
    path: Path
    size: int
    revision: str | None  # the schema revision inside it
    rows: int | None = None  # rows in every table (SQLite)


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupFailed("This SQLite database lives in memory and has no file to back up.")
    return Path(database)


def _check(path: Path) -> tuple[str | None, int]:
    """The revision and row count of an SQLite file, after SQLite has checked it whole."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupFailed(f"{path} is not an OpenSpace database: {exc}") from exc
        if verdict != "ok":
            raise BackupFailed(f"{path} is damaged: {verdict}")
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        if "alembic_version" not in tables:
            raise BackupFailed(f"{path} is not an OpenSpace database (it has no schema revision).")
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        rows = sum(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables)
    return (revision[0] if revision else None), rows


def backup(settings: Settings, target: Path) -> Copied:
    """Copy the database to `target` (a new file) while the app may keep writing."""
    if target.exists():
        raise BackupFailed(f"{target} exists already; choose a new file name.")
    if settings.is_sqlite:
        source = _sqlite_path(settings)
        if not source.exists():
            raise BackupFailed(f"There is no database at {source} yet.")
        partial = target.with_name(target.name + ".partial")
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(partial)) as copy:
            live.backup(copy)  # one consistent moment, even with writers at work
        try:
            revision, rows = _check(partial)
        except BackupFailed:
            partial.unlink(missing_ok=True)
            raise
        partial.rename(target)
        return Copied(target, target.stat().st_size, revision, rows)
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), _pg(settings)])
    return Copied(target, target.stat().st_size, None)


def restore(settings: Settings, source: Path) -> Copied:
    """Replace the database's contents with a backup (the app should be stopped)."""
    if not source.exists():
        raise BackupFailed(f"There is no file {source}.")
    if settings.is_sqlite:
        revision, rows = _check(source)
        target = _sqlite_path(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(source)) as kept, closing(sqlite3.connect(target)) as live:
            kept.backup(live)  # page by page under one write lock
        return Copied(target, target.stat().st_size, revision, rows)
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            _pg(settings),
            str(source),
        ]
    )
    return Copied(source, source.stat().st_size, None)


def _pg(settings: Settings) -> str:
    """The database address as libpq tools take it (no SQLAlchemy driver name)."""
    # PostgreSQL itself: pg_dump's snapshot needs a session a pooler would not keep.
    url = make_url(settings.direct_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupFailed(
            f"{command[0]} is not installed: install PostgreSQL's client tools "
            "(Debian: apt-get install postgresql-client) of the server's version."
        )
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupFailed(f"{command[0]} failed: {done.stderr.strip()}")
