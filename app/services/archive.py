"""The whole event as data: a JSON dump of every row that belongs to it, and its import.

The dump walks the schema rather than naming tables, so a table added later is carried
without anyone remembering to: each table belongs to the event through an `event_id` column
or through a foreign key to a table that does. Organiser accounts travel as their e-mail and
name only (no password hash, nothing about their sign-ins).

The import never trusts the archive, whoever made it:

- It always makes a new event and touches no existing one: every id in the archive is mapped
  to a new id here, and a row that names another event than the archive's, or a row the
  archive does not hold, is refused. Importing the same archive twice gives two events.
- Every row is checked by the rules the app applies when a person types it (the same
  SQLModel fields and forms: lengths, numbers within limits, known statuses, real time zones,
  e-mail addresses), and every number fits its column.
- Accounts named in the archive get a role on the imported event only. An account that
  already exists here (the same e-mail) gets it only when the operator names it
  (`link_accounts`, `openspace import --link-account`); otherwise its role is left out and the
  notes say so. A new account is made without a password (`openspace create-organiser`).
- `event.json` is read as a stream: a zip member within a size cap and a compression-ratio
  cap (checked before reading), and the JSON row by row, so memory does not grow with the
  archive. Rows go in by chunks in one transaction.
- Anything wrong is one `ImportRefused` naming the file, the table, the row and the field;
  the caller rolls the transaction back, so nothing is written.
"""

import codecs
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import IO, Annotated, Any

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic.fields import FieldInfo
from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    Select,
    String,
    Table,
    TypeDecorator,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, col

from app.models import Event, Organiser, Role
from app.models.agenda import TopicCreate
from app.models.base import MAX_ID, utcnow
from app.models.event import (
    FIRST_DAY,
    LAST_DAY,
    EventCreate,
    Form,
    SlotCreate,
    SpaceCreate,
    ThemeCreate,
)
from app.models.live import USEFULNESS, AnnouncementCreate, ProjectorView
from app.models.outcomes import (
    ActionForm,
    ContributionCreate,
    GroupForm,
    PledgeForm,
    ProgressForm,
)
from app.models.people import NAME_MAX, ParticipantJoin, check_email
from app.security import normalise_join_code
from app.services import privacy
from app.services.convergence import DOTS_RANGE
from app.services.events import event_by_code, free_join_code
from app.services.live import PITCH_SECONDS

FORMAT = "openspace-event"
VERSION = 1
# An account travels as who it is, nothing about its password or its sign-ins.
ORGANISER_CARRIED = ("id", "email", "name", "created_at")
# The outbox stays with the installation that writes it: a copy of an event must not send
# its messages a second time, nor mail people who asked the first installation (nor hold the
# replies to them it received).
# A carried action or pledge links to another event's, which a copy of this event does not hold.
# Invitations to the team and new-password links are this installation's, signed with its key:
# a copy would carry links that open nothing, or should not.
SKIPPED_TABLES = {
    "apitoken",
    "message",
    "messagecause",
    "messageattempt",
    "mailconsent",
    "inboundmail",
    "carriedaction",
    "carriedpledge",
    "teaminvite",
    "passwordreset",
}
NO_PASSWORD = "!"  # matches no password: the owner of the account sets a new one
CHUNK = 2000

# What an import reads at most. event.json of a 1,000,000-row event is about 100 MB; a
# member that says it is bigger, or that inflates more than JSON does (a zip bomb), is refused
# before a byte of it is read.
MAX_JSON_BYTES = 2 * 1024**3
MAX_RATIO = 100
MAX_ROW_CHARS = 1_000_000  # one row (or the header); the largest real one is a few KB
READ_BYTES = 1 << 20
MIN_INT, MAX_INT = -(2**31), MAX_ID  # INTEGER columns are 32 bits on PostgreSQL


class ImportRefused(Exception):
    """The dump cannot be loaded here; the message says why, and where."""


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
        columns = [c for c in table.c if table.name != "organiser" or c.name in ORGANISER_CARRIED]
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


def schema_revision(session: Session) -> str:
    """The database's migration revision, recorded in a dump to say what made it."""
    row = session.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else ""


# ---------------------------------------------------------------------------------------
# Reading: the file, then event.json row by row.


@contextmanager
def opened(path: Path) -> Iterator[tuple[IO[bytes], str]]:
    """event.json of an archive (or the file itself, if it is JSON) as a stream of bytes,
    and its name for messages; refused if it is bigger than the caps allow."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as bundle:
                try:
                    member = bundle.getinfo("event.json")
                except KeyError:
                    raise ImportRefused(
                        f"{path.name}: the archive holds no event.json (an archive without "
                        "personal data leaves it out; export it again with personal data)."
                    ) from None
                name = f"{path.name}: event.json"
                _check_member(member, name)
                with bundle.open(member) as stream:
                    yield stream, name
        else:
            if path.stat().st_size > MAX_JSON_BYTES:
                raise ImportRefused(f"{path.name}: larger than {MAX_JSON_BYTES:,} bytes.")
            with path.open("rb") as stream:
                yield stream, path.name
    except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
        raise ImportRefused(f"{path.name}: cannot be read ({_said(exc)}).") from None


def _check_member(member: zipfile.ZipInfo, name: str) -> None:
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ImportRefused(
            f"{name}: compressed with a method OpenSpace does not write (only stored or "
            "deflated members are read)."
        )
    if member.flag_bits & 0x1:
        raise ImportRefused(f"{name}: encrypted.")
    if member.file_size > MAX_JSON_BYTES:
        raise ImportRefused(
            f"{name}: would inflate to {member.file_size:,} bytes, more than the "
            f"{MAX_JSON_BYTES:,} an import reads."
        )
    if member.file_size > max(member.compress_size, 1) * MAX_RATIO:
        raise ImportRefused(
            f"{name}: would inflate {member.file_size // max(member.compress_size, 1):,} times "
            f"({member.compress_size:,} bytes to {member.file_size:,}); JSON inflates at most "
            f"{MAX_RATIO} times, so this is refused unread."
        )


def _said(exc: BaseException) -> str:
    """An exception as a short phrase for a person (never a traceback)."""
    words = str(exc)[:300]
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)
_SPACE = re.compile(r"[ \t\n\r]*")


class Broken(Exception):
    """The JSON itself is broken at this point."""


class JsonStream:
    """JSON read piece by piece from a stream of bytes: the structure of the dump by hand,
    each row (a small object) by the C decoder. Holds one piece and one row at a time."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.buffer = ""
        self.at = 0
        self.eof = False
        self.read = 0

    def _more(self) -> None:
        try:
            raw = self.stream.read(READ_BYTES)
        except Exception as exc:  # a damaged member: zlib's, zipfile's or the disk's error
            raise Broken(f"the file cannot be read from here on ({_said(exc)})") from None
        self.read += len(raw)
        if self.read > MAX_JSON_BYTES:
            raise Broken(f"longer than {MAX_JSON_BYTES:,} bytes")
        try:
            piece = self.utf8.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise Broken(f"not UTF-8 text ({exc.reason})") from None
        self.buffer = self.buffer[self.at :] + piece
        self.at = 0
        self.eof = not raw

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            match = _SPACE.match(self.buffer, self.at)
            assert match is not None
            self.at = match.end()
            if self.at < len(self.buffer) or self.eof:
                return self.buffer[self.at : self.at + 1]
            self._more()

    def take(self, expected: str) -> str:
        found = self.peek()
        if not found or found not in expected:
            shown = repr(found) if found else "the end of the file"
            raise Broken(f"expected {' or '.join(map(repr, expected))}, found {shown}")
        self.at += 1
        return found

    def value(self) -> object:
        """The next JSON value, whole."""
        self.peek()
        while True:
            try:
                found, end = _DECODER.raw_decode(self.buffer, self.at)
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise Broken(exc.msg) from None
                if len(self.buffer) - self.at > MAX_ROW_CHARS:
                    raise Broken(
                        f"a value longer than {MAX_ROW_CHARS:,} characters, or broken ({exc.msg})"
                    ) from None
                self._more()
                continue
            except RecursionError:
                raise Broken("values nested too deep") from None
            except ValueError as exc:  # NaN, Infinity, an integer of thousands of digits
                raise Broken(str(exc)) from None
            if end == len(self.buffer) and not self.eof:
                self._more()  # a number may go on in the next piece
                continue
            self.at = end
            return found

    def end(self) -> None:
        if self.peek():
            raise Broken("more after the end of the dump")


# ---------------------------------------------------------------------------------------
# Checking: what a row may hold, by the app's own rules.


def _storable(value: str) -> str:
    # A lone surrogate cannot be written as UTF-8; PostgreSQL refuses NUL in text.
    if "\x00" in value:
        raise ValueError("holds a NUL character")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate, which is not text") from None
    return value


def _on_the_calendar(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must lie between {FIRST_DAY} and {LAST_DAY}")
    return value


# Columns the table models keep as plain numbers or text but the app only ever sets within
# limits (the facilitator's buttons, the services' checks).
LIMITS: dict[tuple[str, str], Any] = {
    ("event", "projector_view"): ProjectorView,
    ("event", "pitch_seconds"): Annotated[int, Ge(PITCH_SECONDS[0]), Le(PITCH_SECONDS[1])],
    ("event", "dots_per_person"): Annotated[int, Ge(DOTS_RANGE[0]), Le(DOTS_RANGE[1])],
    ("event", "projector_version"): Annotated[int, Ge(1), Le(MAX_INT)],
    ("event", "agenda_version"): Annotated[int, Ge(1), Le(MAX_INT)],
    ("participant", "link_version"): Annotated[int, Ge(1), Le(MAX_INT)],
    ("action", "link_version"): Annotated[int, Ge(1), Le(MAX_INT)],
    ("contribution", "version"): Annotated[int, Ge(1), Le(MAX_INT)],
    ("contributionrevision", "version"): Annotated[int, Ge(1), Le(MAX_INT)],
    ("pitch", "paused_left"): Annotated[int, Ge(0), Le(PITCH_SECONDS[1])],
    ("checkout", "usefulness"): Annotated[int, Ge(USEFULNESS[0]), Le(USEFULNESS[-1])],
}

# What a person types into each kind of row, checked by the very form they type it in
# (form field → column, where the names differ).
FORMS: dict[str, tuple[type[BaseModel], dict[str, str]]] = {
    "event": (EventCreate, {}),
    "space": (SpaceCreate, {}),
    "slot": (SlotCreate, {}),
    "theme": (ThemeCreate, {}),
    "participant": (ParticipantJoin, {}),
    "topic": (TopicCreate, {}),
    "announcement": (AnnouncementCreate, {}),
    "contribution": (ContributionCreate, {}),
    "actiongroup": (GroupForm, {}),
    "action": (ActionForm, {}),
    "actionupdate": (ProgressForm, {"by": "written_by"}),
    "pledge": (PledgeForm, {}),
}


class AccountForm(Form):
    """An account as an event's team section takes it: an e-mail address and a name."""

    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=NAME_MAX)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value, required=True).lower()


FORMS["organiser"] = (AccountForm, {})


def _model_of(table: Table) -> type[SQLModel]:
    for mapper in SQLModel._sa_registry.mappers:
        if mapper.local_table is table:
            model: type[SQLModel] = mapper.class_
            return model
    raise LookupError(table.name)


def _kind(table: Table, name: str, info: FieldInfo) -> Any:
    """What a column of the table may hold, as a pydantic type with its limits."""
    if (table.name, name) in LIMITS:
        return LIMITS[(table.name, name)]
    column = table.c[name]
    stored = column.type
    stored = stored.impl_instance if isinstance(stored, TypeDecorator) else stored
    limits = [m for m in info.metadata if type(m).__module__.startswith("annotated_types")]
    annotation = info.annotation
    enum = next(
        (a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)),
        None,
    )
    if enum is not None and issubclass(enum, Enum):
        return enum
    if isinstance(stored, Boolean):
        return bool
    if isinstance(stored, Integer):
        return Annotated[int, Ge(MIN_INT), Le(MAX_INT), *limits]
    if isinstance(stored, Date):
        return Annotated[date, AfterValidator(_on_the_calendar)]
    if stored.python_type is datetime:
        return Annotated[AwareDatetime, AfterValidator(_on_the_calendar)]
    if isinstance(stored, String):  # Text too
        return Annotated[str, *limits, AfterValidator(_storable)]
    raise TypeError(f"no import rule for {table.name}.{name} ({stored})")


def _row_model(table: Table, columns: list[str]) -> type[BaseModel]:
    """A pydantic model of the table's own values (its ids are checked apart)."""
    model = _model_of(table)
    fields: dict[str, Any] = {}
    for name in columns:
        info = model.model_fields[name]
        kind = _kind(table, name, info)
        if table.c[name].nullable:
            kind = kind | None
        default: Any = (
            FieldInfo(default_factory=info.default_factory)
            if info.default_factory is not None
            else FieldInfo(default=info.default)
        )
        fields[name] = (kind, default)
    return create_model(f"Imported{model.__name__}", **fields)


@dataclass
class TableRules:
    """How the rows of one table are checked and given their new ids."""

    table: Table
    values: type[BaseModel]
    columns: list[str]
    references: dict[str, str]  # column → the table it points at
    form: tuple[type[BaseModel], dict[str, str]] | None

    @classmethod
    def of(cls, table: Table) -> "TableRules":
        references = {
            c.name: next(iter(c.foreign_keys)).column.table.name for c in table.c if c.foreign_keys
        }
        columns = [
            c.name
            for c in table.c
            if c.name != "id"
            and c.name not in references
            and (table.name != "organiser" or c.name in ORGANISER_CARRIED)
        ]
        return cls(table, _row_model(table, columns), columns, references, FORMS.get(table.name))

    def check(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's own values as the app would store them; ValidationError if not allowed."""
        values = dict(self.values.model_validate(row).__dict__)
        if self.form is not None:
            form, renamed = self.form
            typed = {
                name: values[renamed.get(name, name)]
                for name in form.model_fields
                if renamed.get(name, name) in values
            }
            checked = form.model_validate(typed)
            for name in typed:
                values[renamed.get(name, name)] = getattr(checked, name)
        return {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}


@dataclass
class Place:
    """Where in the archive the import is, for a message that names it."""

    file: str
    table: str = ""
    row: int = 0
    row_id: object = None

    def refuse(self, message: str, column: str = "") -> ImportRefused:
        where = [self.file]
        if self.table:
            where.append(f"table {self.table}")
        if self.row:
            shown = f" (id {self.row_id})" if isinstance(self.row_id, int) else ""
            where.append(f"row {self.row}{shown}")
        if column:
            where.append(f"field {column}")
        return ImportRefused(f"{', '.join(where)}: {message}")


def _validation_message(error: ValidationError) -> tuple[str, str]:
    """The first problem pydantic found: (field, message)."""
    first = error.errors(include_url=False)[0]
    column = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "missing"
    return column, message


# ---------------------------------------------------------------------------------------
# Loading.


@dataclass
class Loading:
    """One import under way: the new ids so far and what to tell the operator."""

    session: Session
    place: Place
    link_accounts: set[str]
    event_id: int = 0  # the archive's
    new_ids: dict[str, dict[int, int]] = field(default_factory=dict)
    # archive id → e-mail, name and since when
    accounts: dict[int, tuple[str, str, datetime]] = field(default_factory=dict)
    linked: set[str] = field(default_factory=set)
    organisers: int = 0
    notes: list[str] = field(default_factory=list)
    event: Event | None = None
    _next_id: dict[str, int] = field(default_factory=dict)

    def fresh_ids(self, table: Table, count: int) -> list[int]:
        """`count` ids no row of the table has, nor will be given by anyone else."""
        if self.session.get_bind().dialect.name == "postgresql":
            found = self.session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:name, 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"name": table.name, "count": count},
            ).scalars()
            return [int(i) for i in found]
        # SQLite: the write transaction holds the database's lock, so nobody else adds rows.
        if table.name not in self._next_id:
            highest = self.session.execute(select(func.max(table.c.id))).scalar()
            self._next_id[table.name] = int(highest or 0) + 1
        first = self._next_id[table.name]
        self._next_id[table.name] = first + count
        if first + count - 1 > MAX_ID:
            raise self.place.refuse("no ids are left in this database's table")
        return list(range(first, first + count))


def load(
    session: Session,
    stream: IO[bytes],
    name: str,
    link_accounts: set[str] | None = None,
) -> tuple[Event, list[str]]:
    """Load event.json (a stream) as a new event; the event, and what the operator should
    know. Raises ImportRefused naming the place at fault; the caller rolls back."""
    place = Place(name)
    loading = Loading(session, place, {e.strip().lower() for e in link_accounts or ()})
    json_in = JsonStream(stream)
    try:
        _load(loading, json_in)
    except ImportRefused:
        raise
    except Broken as broken:
        raise place.refuse(f"not valid JSON here: {broken}") from None
    except (SQLAlchemyError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise place.refuse(f"cannot be stored: {_said(exc)}") from None
    if loading.event is None:
        raise place.refuse("holds no event")
    unused = loading.link_accounts - loading.linked
    if unused:
        raise ImportRefused(
            f"{name}: --link-account {', '.join(sorted(unused))}: the archive gives no such "
            "account a role, or it has no account on this server yet (a new one is made "
            "without --link-account)."
        )
    erased = privacy.erase_again(session, loading.event)
    if erased:
        loading.notes.append(
            f"{erased} people erased since the archive was made were erased again."
        )
    if loading.organisers == 0:
        raise ImportRefused(
            f"{name}: nobody could organise the imported event: none of its organisers would "
            "have an account with the organiser role. Name an existing account that may with "
            "--link-account EMAIL."
        )
    return loading.event, loading.notes


def _load(loading: Loading, json_in: JsonStream) -> None:
    header: dict[str, Any] = {}
    json_in.take("{")
    if json_in.peek() == "}":
        raise loading.place.refuse("not an OpenSpace event dump (event.json of an archive)")
    while True:
        key = json_in.value()
        json_in.take(":")
        if key == "tables":
            _check_header(loading, header)
            _load_tables(loading, json_in)
        elif not isinstance(key, str) or key in header:
            raise loading.place.refuse(f"the dump's key {key!r} is not one it may have")
        else:
            header[key] = json_in.value()
        if json_in.take(",}") == "}":
            break
    if "tables" not in header:
        raise loading.place.refuse("the dump has no tables")
    json_in.end()


def _check_header(loading: Loading, header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise loading.place.refuse(
            "not an OpenSpace event dump (event.json of an archive), or one this version does "
            "not read"
        )
    event = header.get("event")
    event_id = event.get("id") if isinstance(event, dict) else None
    if not isinstance(event_id, int) or isinstance(event_id, bool) or not 0 < event_id <= MAX_ID:
        raise loading.place.refuse("the dump does not say which event it holds (event.id)")
    loading.event_id = event_id
    header["tables"] = True


def _load_tables(loading: Loading, json_in: JsonStream) -> None:
    rules = {t.name: TableRules.of(t) for t in _tables()}
    referenced = {target for r in rules.values() for target in r.references.values()}
    done: set[str] = set()
    json_in.take("{")
    if json_in.peek() == "}":
        json_in.take("}")
        return
    while True:
        loading.place.row, loading.place.row_id = 0, None
        name = json_in.value()
        if not isinstance(name, str) or name not in rules:
            shown = name if isinstance(name, str) else repr(name)
            raise loading.place.refuse(
                f"the dump has a table this version does not know: {shown[:80]}. Import it with "
                "the version of OpenSpace that made it, or a newer one."
            )
        if name in done:
            raise loading.place.refuse(f"the table {name} comes twice")
        done.add(name)
        loading.place.table = name
        json_in.take(":")
        json_in.take("[")
        _load_rows(loading, rules[name], name in referenced, json_in)
        loading.place.table = ""
        if json_in.take(",}") == "}":
            return


def _load_rows(loading: Loading, rules: TableRules, referenced: bool, json_in: JsonStream) -> None:
    name = rules.table.name
    new_ids = loading.new_ids.setdefault(name, {}) if referenced else None
    pending: list[dict[str, Any]] = []
    later: list[tuple[int, str, int]] = []  # (new id, column, archive id it points at)
    number = 0
    if json_in.peek() == "]":
        json_in.take("]")
        return
    while True:
        number += 1
        loading.place.row, loading.place.row_id = number, None
        row = json_in.value()
        if not isinstance(row, dict):
            raise loading.place.refuse("a row must be a JSON object")
        loading.place.row_id = row.get("id")
        pending.append(_checked_row(loading, rules, row))
        if len(pending) == CHUNK:
            _insert(loading, rules, pending, new_ids, number - len(pending), later)
            pending = []
        if json_in.take(",]") == "]":
            break
    _insert(loading, rules, pending, new_ids, number - len(pending), later)
    if later:
        _point_forward(loading, rules, later)


def _checked_row(loading: Loading, rules: TableRules, row: dict[str, Any]) -> dict[str, Any]:
    place = loading.place
    table = rules.table
    known = set(table.c.keys())
    for column in row:
        if column not in known:
            raise place.refuse("not a column of this table", column[:80])
    archive_id = row.get("id")
    if not _is_id(archive_id):
        raise place.refuse(f"must be a whole number from 1 to {MAX_ID}", "id")
    try:
        values = rules.check(row)
    except ValidationError as error:
        column, message = _validation_message(error)
        raise place.refuse(message, column) from None
    values["_archive_id"] = archive_id
    for column, target in rules.references.items():
        pointed = row.get(column)
        if pointed is None:
            if not table.c[column].nullable or target == "event":
                raise place.refuse(f"must name a row of {target}", column)
            values[column] = None
            continue
        if not _is_id(pointed):
            raise place.refuse(f"must be the id of a row of {target}", column)
        if target == "event":
            if pointed != loading.event_id:
                raise place.refuse(
                    f"names event {pointed}, not this archive's event {loading.event_id}", column
                )
            if table.name != "event" and loading.event is None:
                raise place.refuse("comes before the event's own row", column)
            values[column] = loading.event.id if loading.event else None
        elif target == "organiser":
            values[column] = pointed  # the account is found or made when the row goes in
            if pointed not in loading.accounts:
                raise place.refuse(f"names organiser {pointed}, whom the archive does not hold")
        else:
            new = loading.new_ids.get(target, {}).get(pointed)
            if new is None and target == table.name:
                # A row further on: pointed at once both rows are in.
                values.setdefault("_later", []).append((column, pointed))
                values[column] = None
            elif new is None:
                raise place.refuse(
                    f"names {target} {pointed}, which the archive does not hold (before this row)",
                    column,
                )
            else:
                values[column] = new
    if table.name == "event":
        _check_event_row(loading, values)
    return values


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _check_event_row(loading: Loading, values: dict[str, Any]) -> None:
    if loading.event is not None or values["_archive_id"] != loading.event_id:
        raise loading.place.refuse(
            f"the dump holds one event, {loading.event_id}; this row is another", "id"
        )
    code = values.get("join_code") or ""
    if normalise_join_code(code) != code or not 4 <= len(code) <= 12:
        values["join_code"] = free_join_code(loading.session)
        loading.notes.append(
            f"The join code was not one OpenSpace makes; it is now {values['join_code']}."
        )
    elif event_by_code(loading.session, code) is not None:
        values["join_code"] = free_join_code(loading.session)
        loading.notes.append(
            f"The join code {code} is taken here; the event now has {values['join_code']}."
        )


def _insert(
    loading: Loading,
    rules: TableRules,
    rows: list[dict[str, Any]],
    new_ids: dict[int, int] | None,
    first_number: int,
    later: list[tuple[int, str, int]],
) -> None:
    """Give the rows their new ids and write them; a row the database refuses is named."""
    if not rows:
        return
    name = rules.table.name
    if name == "organiser":
        for row in rows:
            loading.accounts[row["_archive_id"]] = (row["email"], row["name"], row["created_at"])
        return
    if name == "eventstaff":
        rows = _staff_rows(loading, rows)
        if not rows:
            return
    ids = loading.fresh_ids(rules.table, len(rows))
    for row, new in zip(rows, ids, strict=True):
        archive_id = row.pop("_archive_id")
        row["id"] = new
        later.extend((new, column, pointed) for column, pointed in row.pop("_later", ()))
        if new_ids is not None:
            if archive_id in new_ids:
                loading.place.row, loading.place.row_id = 0, None
                raise loading.place.refuse(f"the id {archive_id} comes twice", "id")
            new_ids[archive_id] = new
    try:
        with loading.session.begin_nested():
            loading.session.execute(insert(rules.table), rows)
    except SQLAlchemyError:
        _find_refused_row(loading, rules, rows, first_number)
        raise
    if name == "event":
        loading.event = loading.session.get_one(Event, rows[0]["id"])


def _find_refused_row(
    loading: Loading, rules: TableRules, rows: list[dict[str, Any]], first_number: int
) -> None:
    """Which row of a refused chunk the database would not take, and why (raises)."""
    for offset, row in enumerate(rows):
        try:
            with loading.session.begin_nested():
                loading.session.execute(insert(rules.table), [row])
        except SQLAlchemyError as exc:
            loading.place.row, loading.place.row_id = first_number + offset + 1, None
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
            raise loading.place.refuse(
                f"the database refuses it, most likely as a repeat of another row ({reason})"
            ) from None


def _staff_rows(loading: Loading, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The team's rows, for accounts found or made here: an existing account only when the
    operator named it."""
    kept = []
    for row in rows:
        email, name, since = loading.accounts[row["organiser_id"]]
        existing = loading.session.execute(
            select(col(Organiser.id)).where(func.lower(Organiser.email) == email)
        ).scalar()
        if existing is not None and email not in loading.link_accounts:
            loading.notes.append(
                f"{email} has an account here already; it was not given its role "
                f"({row['role']}) on this event. To give it, an organiser of the event adds "
                f"them on the Team section (or import with --link-account {email})."
            )
            continue
        if existing is None:
            account = Organiser(email=email, name=name, password_hash=NO_PASSWORD, created_at=since)
            loading.session.add(account)
            loading.session.flush()
            existing = account.id
            loading.notes.append(
                f"{email} has an account here now: set its password with "
                f"openspace create-organiser --email {email}"
            )
        else:
            loading.linked.add(email)
        row["organiser_id"] = existing
        loading.organisers += row["role"] == Role.organiser
        kept.append(row)
    return kept


def _point_forward(loading: Loading, rules: TableRules, later: list[tuple[int, str, int]]) -> None:
    """Fill in the references to rows of the same table that came later in the archive (or in
    the same chunk): a topic merged into a topic proposed after it."""
    new_ids = loading.new_ids[rules.table.name]
    changes: dict[str, list[dict[str, int]]] = {}
    for new, column, pointed in later:
        if pointed not in new_ids:
            loading.place.row, loading.place.row_id = 0, None
            raise loading.place.refuse(
                f"names {rules.table.name} {pointed}, which the archive does not hold", column
            )
        changes.setdefault(column, []).append({"row": new, "target": new_ids[pointed]})
    for column, values in changes.items():
        loading.session.execute(
            update(rules.table)
            .where(rules.table.c.id == bindparam("row"))
            .values({column: bindparam("target")}),
            values,
        )
