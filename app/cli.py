"""The `openspace` command: serve, migrate, demo, create-organiser, export, import."""

import argparse
import getpass
import os
import signal
import smtplib
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import func, make_url
from sqlmodel import Session, select

from app import keys, rates
from app.config import ROOT, Settings, get_settings
from app.db import Database, connection_budget, normalise_url
from app.models import Event
from app.models.base import set_clock
from app.models.mail import MessageState
from app.models.people import OrganiserCreate
from app.security import LinkSigner, shown_join_code
from app.services import (
    accounts,
    archive,
    backup,
    demo,
    mail_receiver,
    mail_sender,
    outbox,
    privacy,
    proceedings,
)
from app.services import events as event_service
from app.web.kit.forms import validate
from app.web.mail_links import mail_links
from app.web.organiser.exports import EVENT_FORMATS, event_file


def migrate(settings: Settings) -> None:
    """Bring the database schema up to date."""
    config = Config(str(ROOT / "alembic.ini"))
    # Straight to PostgreSQL, past any pooler: a migration is one long session.
    database = Database(settings.model_copy(update={"database_url": settings.direct_url}))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    database.dispose()


def _print_demo(settings: Settings, join_code: str, password: str | None) -> None:
    base = settings.base_url.rstrip("/")
    print("\nThe demo event is ready.")
    print(f"  Organiser log-in:  {base}/login")
    print(f"    e-mail:          {demo.DEMO_EMAIL}")
    if password:
        print(f"    password:        {password}")
    else:
        print(
            "    password:        as printed when the demo was made "
            f"(new one: openspace create-organiser --email {demo.DEMO_EMAIL})"
        )
    typed = shown_join_code(join_code)
    print(f"  Participants join: {base}/j/{join_code}   (or type the code {typed} at {base})\n")


def create_demo(settings: Settings, *, only_if_empty: bool) -> None:
    """Make the demo event (with `only_if_empty`, only on a database with no events)."""
    database = Database(settings)
    with database.write() as session:
        existing = demo.demo_event(session)
        has_events = session.exec(select(func.count()).select_from(Event)).one() > 0
        if only_if_empty and has_events:
            if existing is not None:
                _print_demo(settings, existing.join_code, None)
            return
        event, _organiser, password = demo.create_demo(session)
        code = event.join_code
    database.dispose()
    _print_demo(settings, code, password)


def create_organiser(settings: Settings, email: str, name: str, password: str | None) -> int:
    """Create an organiser account, or set the password of an existing one."""
    if password is None:
        if not sys.stdin.isatty():
            print("Give --password when there is no terminal to type it in.", file=sys.stderr)
            return 2
        password = getpass.getpass("Password (at least 10 characters): ")
    data, errors = validate(
        OrganiserCreate, {"email": email, "name": name or email.split("@")[0], "password": password}
    )
    if data is None:
        for field, message in errors.items():
            print(f"{field}: {message}", file=sys.stderr)
        return 2
    database = Database(settings)
    with database.write() as session:
        existing = accounts.organiser_by_email(session, data.email)
        if existing is not None:
            accounts.set_password(session, existing, data.password)
            print(f"Password changed for {data.email}.")
        else:
            accounts.create_organiser(session, data)
            print(f"Organiser {data.email} created. Log in at {settings.base_url}/login")
    database.dispose()
    return 0


def log_config(level: str) -> dict[str, Any]:
    """Structured logs: one JSON object per line on stderr, with the request's id."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    quiet = {"handlers": [], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # A module that imports nothing of the app: every worker loads it before it answers
        # its supervisor's health check (app/serving.py).
        "formatters": {"json": {"()": "app.logs.JsonLogFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.access": quiet,
            "openspace": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        },
    }


def serve(settings: Settings, host: str, port: int, workers: int, with_demo: bool) -> int:
    """Migrate, optionally make the demo event, then serve with uvicorn (app/serving.py);
    refused (status 2) when the workers cannot share PostgreSQL's connections."""
    from app import serving

    # Each worker sizes its pool for this many processes sharing the server (app/budget.py).
    settings = settings.model_copy(update={"workers": workers})
    os.environ["OPENSPACE_WORKERS"] = str(workers)
    budget = connection_budget(settings)
    if budget is not None and not budget.fits:
        print(budget.refusal(), file=sys.stderr)
        return 2
    if "base_url" not in settings.model_fields_set:
        # Links and QR codes point at where we serve, unless a public address is configured;
        # the variable carries it to the worker processes too.
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
        settings = settings.model_copy(update={"base_url": f"http://{shown}:{port}"})
        os.environ["OPENSPACE_BASE_URL"] = settings.base_url
        get_settings.cache_clear()
    migrate(settings)
    if with_demo:
        create_demo(settings, only_if_empty=True)
    options = {
        "app": "app.main:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        # X-Forwarded-For and -Proto are believed from the configured proxies only: from
        # anyone else they would let a client pose as another address.
        "proxy_headers": bool(settings.proxies),
        "forwarded_allow_ips": settings.proxies,
        "log_level": settings.log_level,
        "log_config": log_config(settings.log_level),
        "access_log": False,  # our own request log has the request id, status and time
        "timeout_keep_alive": settings.keep_alive_seconds,
        # Live pages hold their streams open: on shutdown they are ended after this long
        # (browsers reconnect to the next server by themselves) instead of holding it up.
        "timeout_graceful_shutdown": 3,
        # A worker answers its supervisor within a second of starting; importing the app
        # after that may take several on a busy machine, and a restarted worker must have
        # started serving within this long or the restart is given up.
        "timeout_worker_healthcheck": 30,
    }
    serving.hand_over(options, header_timeout=settings.header_timeout_seconds)


def _event(session: Session, event_ref: str) -> Event | None:
    return (
        session.get(Event, int(event_ref))
        if event_ref.isdigit()
        else event_service.event_by_code(session, event_ref)
    )


def export(settings: Settings, event_ref: str, fmt: str, output: str, personal: bool) -> int:
    """Write one of an event's exports to a file (the same file as the download)."""
    database = Database(settings)
    with database.read() as session:
        event = _event(session, event_ref)
        if event is None:
            print(
                f"There is no event {event_ref!r} (give its number or join code).", file=sys.stderr
            )
            return 2
        try:
            content = event_file(session, settings, event, fmt, personal=personal)
        except proceedings.NoReportYet as missing:
            print(f"{event.name}: {missing.message}", file=sys.stderr)
            return 2
    Path(output).write_bytes(content)
    print(f"Wrote {fmt} of {event.name} to {output} ({len(content)} bytes).")
    return 0


def import_event(settings: Settings, path: str, link_accounts: Sequence[str] = ()) -> int:
    """Load an event from an archive (.zip) or its event.json into this database, as a new
    event; refused (status 2, nothing written) with one message naming what is wrong."""
    database = Database(settings)
    try:
        with archive.opened(Path(path)) as (stream, label), database.write() as session:
            event, notes = archive.load(session, stream, label, set(link_accounts))
            name, code = event.name, event.join_code
    except archive.ImportRefused as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:  # whatever the file holds, a message, never a traceback
        print(f"{path}: cannot be imported ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(f"Imported {name} (join code {code}).")
    for note in notes:
        print("  " + note)
    return 0


def backup_database(settings: Settings, path: str) -> int:
    """A consistent copy of the whole database, made while the app keeps running."""
    try:
        copied = backup.backup(settings, Path(path))
    except backup.BackupFailed as exc:
        print(str(exc), file=sys.stderr)
        return 2
    what = f", {copied.rows} rows, schema {copied.revision}" if copied.rows is not None else ""
    print(f"Backed up to {copied.path} ({copied.size} bytes{what}).")
    return 0


def restore_database(settings: Settings, path: str, confirmed: bool) -> int:
    """Put a backup in place of the database's contents, then bring its schema up to date."""
    if not confirmed:
        print(
            f"This replaces everything in the database with {path}. Stop the app first, "
            "then run again with --yes.",
            file=sys.stderr,
        )
        return 2
    try:
        copied = backup.restore(settings, Path(path))
    except backup.BackupFailed as exc:
        print(str(exc), file=sys.stderr)
        return 2
    migrate(settings)
    what = f" ({copied.rows} rows)" if copied.rows is not None else ""
    print(f"Restored {path}{what}; the schema is up to date. Start the app again.")
    return 0


def doctor(settings: Settings) -> int:
    """Print how this installation is set up: database, schema, where its key comes from, and
    how the server processes share PostgreSQL's connections."""
    database = Database(settings)
    url = make_url(normalise_url(settings.database_url)).render_as_string(hide_password=True)
    print(f"environment:  {settings.environment}")
    print(f"database:     {url}")
    try:
        database.ping()
    except Exception as exc:
        print(f"              does not answer: {type(exc).__name__}: {exc}")
        return 1
    migrate(settings)
    print("schema:       up to date")
    print(f"signing key:  {keys.load_key(settings, database).source}")
    print(f"public URL:   {settings.base_url}")
    print(f"rate limits:  {rates.where_counted(settings)}")
    budget = database.budget
    database.dispose()
    if settings.pooled:
        direct = make_url(normalise_url(settings.direct_url)).render_as_string(hide_password=True)
        print(f"direct:       {direct} (live updates, backups)")
    if budget is None:
        if settings.is_sqlite:
            print("connections:  SQLite, one writer at a time")
        return 0
    print(f"connections:  {budget.describe()}")
    if not budget.fits:
        print(f"              {budget.refusal()}")
        return 1
    return 0


def rotate_key(settings: Settings, confirmed: bool) -> int:
    """Replace the installation's signing key, after saying what stops working."""
    if not confirmed:
        print(
            "A new key ends, at once and for good: every signed-in browser (organisers log in "
            "again; participants join again under a new name unless they kept nothing), every "
            "personal 'continue on another device' link and printed agenda QR code, every "
            "action owner's private update link, every facilitator link and projector link. "
            "Hand out new links afterwards. Run again with --yes to do it.",
            file=sys.stderr,
        )
        return 2
    database = Database(settings)
    migrate(settings)
    try:
        key = keys.rotate_key(settings, database)
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(f"A new signing key is kept in {key.source}. Restart every worker to use it.")
    return 0


def show_outbox(settings: Settings, event_ref: str | None, states: Sequence[str]) -> int:
    """Print what the outbox holds: how many in each state, then the messages, newest first."""
    database = Database(settings)
    with database.read() as session:
        event = _event(session, event_ref) if event_ref else None
        if event_ref and event is None:
            print(
                f"There is no event {event_ref!r} (give its number or join code).", file=sys.stderr
            )
            return 2
        event_id = event.id if event else None
        counts = outbox.counts(session, event_id)
        rows = outbox.messages(
            session, event_id=event_id, states=[MessageState(state) for state in states]
        )
    database.dispose()
    print(", ".join(f"{state.value}: {counts.get(state, 0)}" for state in MessageState))
    if not settings.smtp_url:
        print("No mail server is set (OPENSPACE_SMTP_URL): messages wait here.")
    for message in rows:
        print(
            f"{message.id:>6}  {message.state:<9} {message.due_at:%Y-%m-%d %H:%M}Z  "
            f"{message.to_address}  {message.subject}"
            + (f"  [{message.attempts} tries: {message.last_error}]" if message.last_error else "")
        )
    return 0


def _clock_at(now: str) -> bool:
    """Set the app's clock to `now` (ISO time; UTC unless a zone is given); False if unreadable."""
    try:
        moment = datetime.fromisoformat(now)
    except ValueError:
        print(f"--now {now!r}: give a time such as 2027-11-04T09:30+00:00.", file=sys.stderr)
        return False
    set_clock(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return True


def send_due(settings: Settings, now: str | None) -> int:
    """Plan the reminders due and send every message due (at `now`, if given), then exit."""
    if now and not _clock_at(now):
        return 2
    database = Database(settings)
    key = keys.load_key(settings, database).value
    links = mail_links(settings, LinkSigner(key))
    done = mail_sender.send_due(database, settings, links)
    with database.read() as session:
        waiting = outbox.counts(session).get(MessageState.waiting, 0)
    database.dispose()
    if not settings.smtp_url:
        print(f"No mail server is set (OPENSPACE_SMTP_URL): {waiting} messages wait.")
        return 0
    print(
        f"Sent {len(done.sent)}, failed {len(done.failed)}, to try again {len(done.retried)}, "
        f"no longer needed {len(done.cancelled)}; {waiting} waiting."
    )
    return 0


def purge_due(settings: Settings, now: str | None, dry_run: bool) -> int:
    """Take the names off every event whose retention is due (at `now`, if given), then exit."""
    if now and not _clock_at(now):
        return 2
    database = Database(settings)
    done = privacy.purge_due(database, dry_run=dry_run)
    database.dispose()
    for purged in done:
        if dry_run:
            print(f"Due: event {purged.event_id} ({purged.name}).")
        else:
            print(f"Names taken off event {purged.event_id} ({purged.name}): {purged.people}.")
    if not done:
        print("No event's retention is due.")
    return 0


def mail_test(settings: Settings, address: str) -> int:
    """Send one test message straight to `address` and print what the server answered."""
    if not settings.smtp_url:
        print("No mail server is set: set OPENSPACE_SMTP_URL first.", file=sys.stderr)
        return 2
    try:
        answer = mail_sender.send_test(settings, address)
    except mail_sender.Refusal as refusal:
        print(f"The mail server refused it: {refusal}", file=sys.stderr)
        return 1
    except (OSError, mail_sender.ServerFault, smtplib.SMTPException, ValueError) as exc:
        print(f"Could not hand it to the mail server: {exc}", file=sys.stderr)
        return 1
    print(f"The mail server answered: {answer}")
    return 0


def receive_mail(settings: Settings, host: str, port: int, lmtp: bool) -> int:
    """Take replies to our messages by SMTP (or LMTP) until stopped; each becomes an update,
    or waits for the organiser on the Outbox page."""
    database = Database(settings)
    signer = LinkSigner(keys.load_key(settings, database).value)
    try:
        server = mail_receiver.start(database, signer, host, port, lmtp=lmtp)
    except (OSError, RuntimeError) as exc:
        print(f"Cannot take mail on {host}:{port}: {exc}", file=sys.stderr)
        database.dispose()
        return 1
    stopped = threading.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stopped.set())
    print(f"Taking replies by {'LMTP' if lmtp else 'SMTP'} on {host}:{port}.", flush=True)
    if not settings.reply_domain:
        print("OPENSPACE_REPLY_DOMAIN is not set: messages carry no reply address yet.")
    stopped.wait()
    server.stop()
    database.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `openspace` console script."""
    parser = argparse.ArgumentParser(prog="openspace", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="apply migrations and serve the app")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--workers", type=int, default=1)
    p_serve.add_argument(
        "--demo", action="store_true", help="on an empty database, create the demo event first"
    )
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("demo", help="create the demo event and print how to log in")
    p_org = sub.add_parser("create-organiser", help="create an organiser (or reset a password)")
    p_org.add_argument("--email", required=True)
    p_org.add_argument("--name", default="")
    p_org.add_argument("--password", help="asked for when omitted")

    p_export = sub.add_parser(
        "export",
        help="write an event's action list (csv, xlsx, json), book of proceedings (md, docx, "
        "html), sessions calendar (ics) or whole archive (zip) to a file",
    )
    p_export.add_argument("event", help="the event's number or join code")
    p_export.add_argument("--format", choices=EVENT_FORMATS, required=True)
    p_export.add_argument("--output", required=True, help="the file to write")
    p_export.add_argument(
        "--no-personal-data", action="store_true", help="leave out participants' names"
    )
    p_import = sub.add_parser(
        "import",
        help="load an event from its archive (.zip) or event.json into this database, as a new "
        "event",
    )
    p_import.add_argument("file")
    p_import.add_argument(
        "--link-account",
        action="append",
        default=[],
        metavar="EMAIL",
        help="give this existing account its role from the archive on the imported event "
        "(once per account; without it an existing account gets no role)",
    )
    p_backup = sub.add_parser(
        "backup",
        help="copy the whole database to a new file while the app runs (SQLite: its online "
        "backup; PostgreSQL: pg_dump's custom format)",
    )
    p_backup.add_argument("file")
    p_restore = sub.add_parser(
        "restore", help="replace the database's contents with a backup (stop the app first)"
    )
    p_restore.add_argument("file")
    p_restore.add_argument("--yes", action="store_true", help="yes, replace everything")

    p_outbox = sub.add_parser("outbox", help="list the messages waiting, failed and sent")
    p_outbox.add_argument("--event", help="only this event's (its number or join code)")
    p_outbox.add_argument(
        "--state", action="append", default=[], choices=[state.value for state in MessageState]
    )
    p_send = sub.add_parser(
        "send-due", help="send the messages that are due once, then exit (for cron)"
    )
    p_send.add_argument(
        "--now", help="act as if it were this moment (ISO time; UTC unless a zone is given)"
    )
    p_purge = sub.add_parser(
        "purge-due",
        aliases=["retention"],
        help="take the names off every event whose retention is due, then exit (for cron)",
    )
    p_purge.add_argument(
        "--now", help="act as if it were this moment (ISO time; UTC unless a zone is given)"
    )
    p_purge.add_argument("--dry-run", action="store_true", help="only say which events are due")
    p_mail_test = sub.add_parser(
        "mail-test", help="send one test message and print the mail server's answer"
    )
    p_mail_test.add_argument("address")
    p_receive = sub.add_parser(
        "receive-mail",
        help="take owners' replies by SMTP (or LMTP) and post them as updates, until stopped",
    )
    p_receive.add_argument("--host", default="127.0.0.1")
    p_receive.add_argument("--port", type=int, required=True)
    p_receive.add_argument(
        "--lmtp", action="store_true", help="speak LMTP (a mail server's local delivery)"
    )
    p_doctor = sub.add_parser(
        "doctor",
        help="check the set-up: database, schema, where the key comes from, connections",
    )
    p_doctor.add_argument(
        "--workers", type=int, help="count this many workers per host (as serve --workers)"
    )
    p_rotate = sub.add_parser(
        "rotate-key", help="replace the signing key (ends every sign-in and private link)"
    )
    p_rotate.add_argument("--yes", action="store_true", help="yes, end them all")

    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "serve":
        return serve(settings, args.host, args.port, args.workers, args.demo)
    elif args.command == "migrate":
        migrate(settings)
        print("Database is up to date.")
    elif args.command == "demo":
        migrate(settings)
        create_demo(settings, only_if_empty=False)
    elif args.command == "create-organiser":
        migrate(settings)
        return create_organiser(settings, args.email, args.name, args.password)
    elif args.command == "export":
        migrate(settings)
        return export(settings, args.event, args.format, args.output, not args.no_personal_data)
    elif args.command == "import":
        migrate(settings)
        return import_event(settings, args.file, args.link_account)
    elif args.command == "backup":
        return backup_database(settings, args.file)
    elif args.command == "restore":
        return restore_database(settings, args.file, args.yes)
    elif args.command == "doctor":
        if args.workers is not None:
            settings = settings.model_copy(update={"workers": args.workers})
        return doctor(settings)
    elif args.command == "rotate-key":
        return rotate_key(settings, args.yes)
    elif args.command == "outbox":
        migrate(settings)
        return show_outbox(settings, args.event, args.state)
    elif args.command == "send-due":
        migrate(settings)
        return send_due(settings, args.now)
    elif args.command in ("purge-due", "retention"):
        migrate(settings)
        return purge_due(settings, args.now, args.dry_run)
    elif args.command == "mail-test":
        return mail_test(settings, args.address)
    elif args.command == "receive-mail":
        migrate(settings)
        return receive_mail(settings, args.host, args.port, args.lmtp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
