"""The installation's secret key: set by the operator, or made at first start and kept with
the data, so that no key anyone else knows ever signs a cookie or a private link.

On SQLite the key is a file beside the database, readable by its owner only; on PostgreSQL it
is a row in the database, so every worker and every host behind the load balancer signs with
the same key. A new key is made with `secrets`, once: the first writer wins and every other
process reads what it wrote.
"""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.config import Settings
from app.db import Database
from app.models import ServerSecret

KEY_NAME = "signing-key"
MIN_LENGTH = 32


@dataclass(frozen=True)
class Key:
    """The key and where it comes from (for `openspace doctor`)."""

    value: str
    source: str


def _new_key() -> str:
    return secrets.token_urlsafe(48)


def key_file(settings: Settings) -> Path | None:
    """Where a SQLite installation keeps its key: beside the database file."""
    url = settings.database_url
    path = url.split("///", 1)[1] if "///" in url else ""
    if not settings.is_sqlite or not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path).with_name(Path(path).name + ".key")


def _file_key(path: Path, replace: bool = False) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if replace:
        spare = path.with_name(path.name + ".new")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(_new_key() + "\n")
        os.replace(spare, path)
    try:
        # O_EXCL: of two workers starting at once, one makes the file, the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(_new_key() + "\n")
    os.chmod(path, 0o600)
    value = path.read_text().strip()
    if len(value) < MIN_LENGTH:
        raise RuntimeError(f"The key file {path} holds no usable key; remove it to make a new one.")
    return value


def _database_key(database: Database, replace: bool = False) -> str:
    table = ServerSecret.__table__  # type: ignore[attr-defined]
    with database.write() as session:
        if replace:
            session.execute(table.delete().where(table.c.name == KEY_NAME))
        row = {"name": KEY_NAME, "value": _new_key()}
        if database.settings.is_sqlite:
            session.execute(insert(table).prefix_with("OR IGNORE").values(**row))
        else:
            session.execute(pg_insert(table).values(**row).on_conflict_do_nothing())
        value: str = session.execute(select(table.c.value).where(table.c.name == KEY_NAME)).one()[0]
    return value


def load_key(settings: Settings, database: Database) -> Key:
    """The key to sign with: the configured one, else the one kept with the data (made now if
    there is none yet)."""
    if settings.secret_key:
        return Key(settings.secret_key, "the OPENSPACE_SECRET_KEY setting")
    path = key_file(settings)
    if path is not None:
        return Key(_file_key(path), f"the file {path} (made by this installation)")
    return Key(_database_key(database), "the database (made by this installation)")


def rotate_key(settings: Settings, database: Database) -> Key:
    """Replace the kept key with a new random one."""
    if settings.secret_key:
        raise RuntimeError(
            "The key comes from OPENSPACE_SECRET_KEY: set a new value there "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))") and restart.'
        )
    path = key_file(settings)
    if path is not None:
        return Key(_file_key(path, replace=True), f"the file {path}")
    return Key(_database_key(database, replace=True), "the database")
