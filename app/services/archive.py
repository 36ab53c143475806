"""The whole event as data: a JSON dump of every row that belongs to it, and its import.

The dump walks the schema rather than naming tables, so a table added later is carried
without anyone remembering to: each table belongs to the event through an `event_id` column
or through a foreign key to a table that does. Rows keep their ids, so an import into an empty
database gives back the same event, and the dump of the copy equals the dump of the original.
Organiser accounts travel without their password hashes; the import matches them by e-mail
and asks for a new password (`openspace create-organiser`) where there is no account yet.
"""

import json
from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Column, Select, Table, TypeDecorator, func, insert, select, text
from sqlmodel import Session, SQLModel, col

from app.models import Event, Organiser
from app.models.base import utcnow
from app.services.events import event_by_code, free_join_code

FORMAT = "openspace-event"
VERSION = 1
# Left out of the dump: accounts' secrets, and what has no meaning on another server.
NOT_CARRIED = {"organiser": {"password_hash"}}
SKIPPED_TABLES = {"apitoken"}
NO_PASSWORD = "!"  # matches no password: the owner of the account sets a new one
CHUNK = 2000


class ImportRefused(Exception):
    """The dump cannot be loaded here; the message says why."""


def _tables() -> list[Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def _scope(table: Table, event_id: int, seen: dict[str, Select[Any]]) -> Select[Any] | None:
    """The ids of the table's rows that belong to the event, as a query."""
    if table.name in seen:
        return seen[table.name]
    query: Select[Any] | None = None
    if table.name == "event":
        query = select(table.c.id).where(table.c.id == event_id)
    elif table.name == "organiser":
        staff = SQLModel.metadata.tables["eventstaff"]
        query = select(staff.c.organiser_id).where(staff.c.event_id == event_id)
    elif "event_id" in table.c:
        query = select(table.c.id).where(table.c.event_id == event_id)
    else:
        for column in table.c:
            for key in column.foreign_keys:
                parent = _scope(key.column.table, event_id, seen)
                if parent is not None and not column.nullable:
                    query = select(table.c.id).where(column.in_(parent))
                    break
            if query is not None:
                break
    if query is not None:
        seen[table.name] = query
    return query


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def dump(session: Session, event: Event, schema: str = "") -> dict[str, Any]:
    """Every row of the event, table by table, in an order an import can follow."""
    assert event.id is not None
    seen: dict[str, Select[Any]] = {}
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in _tables():
        ids = _scope(table, event.id, seen)
        if ids is None:
            continue
        skip = NOT_CARRIED.get(table.name, set())
        columns = [c for c in table.c if c.name not in skip]
        rows = session.execute(
            select(*columns).where(table.c.id.in_(ids)).order_by(table.c.id)
        ).all()
        tables[table.name] = [
            {c.name: _plain(value) for c, value in zip(columns, row, strict=True)} for row in rows
        ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "schema": schema,
        "exported_at": utcnow().isoformat(),
        "event": {"id": event.id, "name": event.name, "join_code": event.join_code},
        "tables": tables,
    }


def dumps(data: dict[str, Any]) -> bytes:
    # No indentation: Python's fast (C) encoder only writes compact JSON.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _value(column: Column[Any], value: object) -> object:
    if value is None:
        return None
    stored = column.type
    kind = (stored.impl_instance if isinstance(stored, TypeDecorator) else stored).python_type
    if kind is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind is date and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def load(session: Session, data: dict[str, Any]) -> tuple[Event, list[str]]:
    """Load a dump into this database; the event, and what the person importing should know."""
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ImportRefused("This is not an OpenSpace event dump (event.json of an archive).")
    known = {t.name: t for t in _tables()}
    rows_by_table: dict[str, list[dict[str, Any]]] = data.get("tables") or {}
    unknown = set(rows_by_table) - set(known)
    if unknown:
        raise ImportRefused(
            f"The dump has tables this version does not know: {', '.join(sorted(unknown))}. "
            "Import it with the version of OpenSpace that made it, or a newer one."
        )
    notes: list[str] = []
    organiser_ids = _match_organisers(session, rows_by_table.get("organiser", []), notes)
    for name, table in known.items():
        rows = rows_by_table.get(name, [])
        if name == "organiser":
            rows = [r for r in rows if organiser_ids[r["id"]] == r["id"] and r.get("_new")]
        if not rows:
            continue
        _refuse_clashes(session, table, [r["id"] for r in rows])
        for row in rows:
            unknown_columns = set(row) - set(table.c.keys()) - {"_new"}
            if unknown_columns:
                raise ImportRefused(f"Unknown columns in {name}: {', '.join(unknown_columns)}.")
            if name == "eventstaff":
                row["organiser_id"] = organiser_ids[row["organiser_id"]]
            if name == "organiser":
                row["password_hash"] = NO_PASSWORD
            if name == "event" and event_by_code(session, row["join_code"]) is not None:
                old = row["join_code"]
                row["join_code"] = free_join_code(session)
                notes.append(
                    f"The join code {old} is taken here; the event now has {row['join_code']}."
                )
        session.execute(
            insert(table),
            [{k: _value(table.c[k], v) for k, v in row.items() if k != "_new"} for row in rows],
        )
    _advance_sequences(session, [known[name] for name in rows_by_table])
    event = session.get(Event, data["event"]["id"])
    if event is None:
        raise ImportRefused("The dump holds no event.")
    return event, notes


def _match_organisers(
    session: Session, rows: list[dict[str, Any]], notes: list[str]
) -> dict[int, int]:
    """The id each organiser of the dump has here: an account with the same e-mail, or a new
    one (keeping its id when that is free)."""
    mapping: dict[int, int] = {}
    for row in rows:
        existing = session.execute(
            select(col(Organiser.id)).where(col(Organiser.email) == row["email"])
        ).scalar()
        if existing is not None:
            mapping[row["id"]] = existing
            continue
        if session.get(Organiser, row["id"]) is None:
            row["_new"] = True
            mapping[row["id"]] = row["id"]
        else:
            account = Organiser(email=row["email"], name=row["name"], password_hash=NO_PASSWORD)
            session.add(account)
            session.flush()
            assert account.id is not None
            mapping[row["id"]] = account.id
        notes.append(
            f"{row['email']} has an account here now: set its password with "
            f"openspace create-organiser --email {row['email']}"
        )
    return mapping


def _refuse_clashes(session: Session, table: Table, ids: list[int]) -> None:
    for part in _chunks(ids):
        taken = session.execute(
            select(func.count()).select_from(table).where(table.c.id.in_(part))
        ).scalar_one()
        if taken:
            raise ImportRefused(
                f"This database already holds rows of this event ({table.name}): "
                "import into an empty database, or one that does not have this event."
            )


def _advance_sequences(session: Session, tables: list[Table]) -> None:
    """PostgreSQL hands out ids from sequences: move them past the ids just loaded."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"GREATEST((SELECT MAX(id) FROM {table.name}), 1))"
            )
        )


def schema_revision(session: Session) -> str:
    """The database's migration revision, recorded in a dump to say what made it."""
    row = session.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else ""
