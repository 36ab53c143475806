"""ASGI middleware: the request owns its transaction; every browser gets a CSRF token."""

import functools
import logging
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Mapping
from contextvars import ContextVar
from http.cookies import SimpleCookie
from types import MappingProxyType

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n
from app.db import NO_WAIT_OPTION, Database, StorageFault

# Re-exported: the audit log and older log configurations look for them here.
from app.logs import JsonLogFormatter as JsonLogFormatter
from app.logs import request_id as request_id
from app.web.kit.errors import BodyTooLarge, busy_page, storage_fault_page, too_large_page
from app.web.kit.writer import OneWriter

log = logging.getLogger("openspace")

NO_DATABASE = ("/static/", "/healthz", "/readyz")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Forms that only check who is asking and set the identity cookie: they read the database and
# need no write turn. A login's password check (tens of ms of argon2) would otherwise hold
# every sign-up on SQLite up while it ran.
READS_ONLY = frozenset({"/login", "/logout"})
CSRF_COOKIE = "openspace_csrf"


class RequestSession:
    """The request's database session, opened on first use.

    On SQLite a request that writes has its turn at `gate` (one writer at a time in this
    process) while its route runs and commits; see OneTripRoute."""

    def __init__(self, database: Database, write: bool, gate: OneWriter | None = None) -> None:
        self._database = database
        self._write = write
        self.gate = gate
        # The route runs whole in the writer's thread (OneTripRoute.writes_in_one_trip).
        self.in_one_trip = False
        self.session: Session | None = None

    def get(self) -> Session:
        if self.session is None:
            self.session = self._database.session(write=self._write)
        return self.session

    def begin_now(self) -> bool:
        """Open the write transaction if the database is free this instant; False, with
        nothing open, if another connection (another process, say) holds the write lock."""
        session = self.get()
        try:
            session.connection(execution_options={NO_WAIT_OPTION: True})
        except OperationalError as exc:
            if getattr(exc.orig, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
            # The same session goes on (the route's dependencies hold it): its next
            # transaction starts the usual way, waiting for the lock.
            session.rollback()
            return False
        return True

    def finish(self, commit: bool) -> None:
        if self.session is None:
            return
        try:
            if commit:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    async def finish_soon(self, commit: bool) -> None:
        """finish() from the event loop, in a thread kept for it."""
        if self.session is not None:
            await anyio.to_thread.run_sync(self.finish, commit, limiter=loop_gates().finishers)


class _Gates:
    def __init__(self, sessions: int) -> None:
        # Commits get threads of their own: if they queued behind request handlers that
        # wait for the write lock, the lock holder could never commit and release it.
        self.finishers = anyio.CapacityLimiter(64)
        # SQLite has one writer at a time. Writers queue for their turn here, without a
        # worker thread blocked on the database lock: a lock holder that needs one more
        # thread to finish would otherwise wait behind them.
        self.sqlite_writers = OneWriter()
        # No more requests hold a database session at once than the pool has connections.
        # Beyond that they wait here, holding nothing, instead of in worker threads blocked
        # on the pool while the requests that hold connections wait for a thread. On SQLite
        # one connection is kept for the one writer, so that it never waits behind readers
        # while holding the write lock (every other writer waits behind it).
        self.sessions = anyio.Semaphore(max(1, sessions - 1))
        # PostgreSQL: writes of one session queue for its slot's row lock anyway; more of
        # them at once than a few per core only add threads that wait for Python's lock
        # between round trips, and take connections the pages need.
        self.writers = anyio.Semaphore(2 * (os.cpu_count() or 1) + 2)


_gates: RunVar[_Gates] = RunVar("openspace_gates")
# The request's session, for the worker thread that answers it (threads get a copy of the
# request's context).
request_session: ContextVar["RequestSession | None"] = ContextVar(
    "openspace_request_session", default=None
)


def loop_gates(sessions: int = 1) -> _Gates:
    """The gates of the running event loop (each loop has its own worker threads)."""
    try:
        return _gates.get()
    except LookupError:
        gates = _Gates(sessions)
        _gates.set(gates)
        return gates


class TransactionMiddleware:
    """Commits the request's writes before its response starts, or rolls them back.

    A 2xx/3xx answer therefore means the write is stored; a 4xx/5xx leaves nothing behind.
    Requests with an unsafe method open their transaction with the write lock.
    """

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database
        self.sqlite = database.settings.is_sqlite
        # SQLite answers in this process, so its readers only need the CPU: more of them at
        # once than there are cores to run them only share the cores (and Python's lock)
        # with the writer. On PostgreSQL, reads also wait for the network.
        self.max_sessions = (
            min(database.max_connections, 2 * (os.cpu_count() or 1) + 1)
            if self.sqlite
            else database.max_connections
        )
        self.wait = database.settings.db_pool_timeout_seconds

    async def _take_turn(self, *gates: anyio.Semaphore | None) -> bool:
        """Wait for each gate in turn, for at most the pool's timeout in all: a burst larger
        than the pool waits instead of failing. False, holding none, when time ran out."""
        taken: list[anyio.Semaphore] = []
        try:
            with anyio.move_on_after(self.wait):
                for gate in gates:
                    if gate is not None:
                        await gate.acquire()
                        taken.append(gate)
                return True
        except BaseException:
            for gate in taken:
                gate.release()
            raise
        for gate in taken:
            gate.release()
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NO_DATABASE):
            await self.app(scope, receive, send)
            return
        write = scope["method"] in UNSAFE_METHODS and scope["path"] not in READS_ONLY
        gate = loop_gates(self.max_sessions).sqlite_writers if write and self.sqlite else None
        holder = RequestSession(self.database, write=write, gate=gate)
        scope.setdefault("state", {})["db"] = holder
        request_session.set(holder)
        # The one SQLite writer, inside the write gate, has its own connection.
        gates = loop_gates(self.max_sessions)
        sessions = None if write and self.sqlite else gates.sessions
        writers = gates.writers if write and not self.sqlite else None
        if not await self._take_turn(writers, sessions):
            page = await busy_page(Request(scope, receive))
            await page(scope, receive, send)
            return
        held = True

        async def done(commit: bool) -> None:
            nonlocal held
            await holder.finish_soon(commit)
            if held:
                held = False
                if sessions is not None:
                    sessions.release()
                if writers is not None:
                    writers.release()

        replaced = False

        async def send_after_commit(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the answer was replaced: the route's own never leaves
            if message["type"] == "http.response.start":
                try:
                    await done(message["status"] < 400)
                except DBAPIError as exc:
                    # The commit itself failed: a full disk shows up here on SQLite.
                    if (fault := StorageFault.of(exc)) is None:
                        raise
                    replaced = True
                    await storage_fault_page(Request(scope), fault)(scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_after_commit)
        finally:
            await done(False)


class BodyLimitMiddleware:
    """Refuses a request that sends more than `limit` bytes with 413, without reading it: at
    once when its Content-Length says so, else (a chunked body) as soon as what has arrived
    passes the limit.

    It must sit outside anything that reads the body; no middleware of ours does."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared:
            # The server never passes on more than a Content-Length says.
            if declared.isdecimal() and int(declared) > self.limit:
                await too_large_page(Request(scope), self.limit)(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if not _header(scope, b"transfer-encoding"):  # no body at all
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # An HTTPException: whoever reads the body (a form, FastAPI's JSON)
                    # lets it through to the app's error page.
                    raise BodyTooLarge(self.limit)
            return message

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, send_noting_start)
        except BodyTooLarge:
            if started:
                raise
            await too_large_page(Request(scope), self.limit)(scope, receive, send)


class CsrfCookieMiddleware:
    """Gives each browser a random token, sent back in every form and htmx request. It lasts
    as long as a sign-in (`max_age`), not the browser session: a phone closed at lunch still
    sends the afternoon's forms."""

    def __init__(self, app: ASGIApp, secure: bool, max_age: int = 120 * 86400) -> None:
        self.app = app
        self.secure = secure
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie(scope, CSRF_COOKIE)
        fresh = not token or len(token) < 32
        if fresh:
            token = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                secure = "; Secure" if self.secure else ""
                headers.append(
                    "set-cookie",
                    f"{CSRF_COOKIE}={token}; Max-Age={self.max_age}; Path=/; HttpOnly; "
                    f"SameSite=Lax{secure}",
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            return (_jar(value) if len(value) <= _CACHED_JAR_BYTES else _read_jar(value)).get(name)
    return None


# A browser sends the same Cookie header with every request, and reading it took a tenth of
# the processor time of a phone's home page (twice: the CSRF token and the language). Read
# ones are kept; only headers of an ordinary size, so that odd ones cannot fill the memory.
_CACHED_JAR_BYTES = 4096


@functools.lru_cache(maxsize=2048)
def _jar(raw: bytes) -> Mapping[str, str]:
    return _read_jar(raw)


def _read_jar(raw: bytes) -> Mapping[str, str]:
    """The cookies of a Cookie header, by name (none if it cannot be read)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:
        return MappingProxyType({})
    return MappingProxyType({key: morsel.value for key, morsel in jar.items()})


class LanguageMiddleware:
    """Answers each request in the visitor's language: their choice, else their browser's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NO_DATABASE):
            await self.app(scope, receive, send)
            return
        chosen = _cookie(scope, i18n.COOKIE)
        if chosen not in i18n.LANGUAGES:
            accept = _header(scope, b"accept-language")
            chosen = i18n.negotiate(accept) or i18n.DEFAULT
        speaking = i18n.begin(chosen)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["content-language"] = speaking.code
                headers.add_vary_header("Accept-Language")
            await send(message)

        await self.app(scope, receive, send_with_language)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLogMiddleware:
    """Gives every request an id (the proxy's X-Request-ID if it sent a sane one), returns it
    in X-Request-ID, and logs one structured line per request when its answer starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("openspace.request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _header(scope, b"x-request-id")
        rid = sent if _REQUEST_ID.match(sent) else secrets.token_hex(8)
        request_id.set(rid)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["x-request-id"] = rid
                if not scope["path"].startswith(NO_DATABASE):
                    self.log.info(
                        "request",
                        extra={
                            "request_id": rid,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": message["status"],
                            "ms": round((time.perf_counter() - started) * 1000, 1),
                        },
                    )
            await send(message)

        await self.app(scope, receive, send_with_id)


# What HTTP/1.1 cannot carry in a header (uvicorn refuses the same).
_BAD_HEADER_NAME = re.compile(rb"[\x00-\x20\x7f()<>@,;:\"/\[\]?={}\\]")
_BAD_HEADER_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class UnsendableHeader(RuntimeError):
    """An answer's header that HTTP cannot carry."""


class SendableHeadersMiddleware:
    """An answer with a header HTTP cannot carry (a control character from an address, say)
    becomes the 500 page instead of a dropped connection.

    The server finds such a header only once it has begun the answer, too late for any
    error page: it drops the connection. Checked here, outermost, the error is raised before
    anything is sent, and Starlette's outermost handler answers with the 500 page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_checked(message: Message) -> None:
            if message["type"] == "http.response.start":
                for name, value in message.get("headers", []):
                    if _BAD_HEADER_NAME.search(name) or _BAD_HEADER_VALUE.search(value):
                        raise UnsendableHeader(f"the {name!r} header cannot be sent")
            await send(message)

        await self.app(scope, receive, send_checked)


# No script but our own files: no inline script, no handler attributes, no eval. Inline style
# attributes stay allowed (a fill bar's width), they cannot run anything.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


_CSP = CSP.encode()


class SecurityHeadersMiddleware:
    """Security headers on every response; HSTS too when served over HTTPS in production."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts
        fixed = {
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
            "x-frame-options": "DENY",
            "cross-origin-opener-policy": "same-origin",
            "permissions-policy": "camera=(), microphone=(), geolocation=()",
        }
        if hsts:
            fixed["strict-transport-security"] = "max-age=31536000"
        self.fixed = fixed
        # Added as they are, in one go, to an answer that has none of them (nearly every one).
        self.raw = [(name.encode(), value.encode()) for name, value in fixed.items()]
        self.names = {name.encode() for name in fixed} | {b"content-security-policy"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message["headers"] = list(message.get("headers", []))
                if any(name.lower() in self.names for name, _ in raw):
                    headers = MutableHeaders(raw=raw)
                    headers.setdefault("content-security-policy", CSP)
                    for name, value in self.fixed.items():
                        headers[name] = value
                    message["headers"] = headers.raw
                else:
                    raw.append((b"content-security-policy", _CSP))
                    raw.extend(self.raw)
            await send(message)

        await self.app(scope, receive, send_with_headers)
