"""create_app(): settings, database, middleware, static files, routers and error pages."""

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.broker import make_broker
from app.config import ROOT, Settings, get_settings
from app.db import Database, StorageFault
from app.i18n import _, lazy
from app.keys import load_key
from app.memory import leave_startup_objects_out_of_collections, release_free_memory_forever
from app.rates import counts_for
from app.security import LinkSigner
from app.services import mail_sender
from app.services.errors import DomainError
from app.templating import follow_template_edits, wants_fragment
from app.web.api import docs as api_docs
from app.web.api import routes as api
from app.web.api.schema import allowed_methods, document_api
from app.web.facilitator import day as facilitator
from app.web.facilitator import outcomes as facilitator_outcomes
from app.web.kit.assets import HashedStaticFiles
from app.web.kit.cache import VersionedParts
from app.web.kit.common import absolute, see_other
from app.web.kit.csrf import TokenRefused, token_refused
from app.web.kit.deps import LoginRequired, PasswordChangeRequired
from app.web.kit.errors import (
    api_validation_error,
    busy_page,
    domain_error,
    error_page,
    given_back,
    is_api,
    sent_form,
    storage_fault_page,
)
from app.web.kit.identity import IdentityRefreshMiddleware
from app.web.kit.middleware import (
    BodyLimitMiddleware,
    CsrfCookieMiddleware,
    LanguageMiddleware,
    RequestLogMiddleware,
    SecurityHeadersMiddleware,
    SendableHeadersMiddleware,
    TransactionMiddleware,
)
from app.web.mail_links import mail_links
from app.web.organiser import carry, dashboard, exports, how_it_went, one_year_on, people, tracker
from app.web.organiser import events as organiser
from app.web.organiser import later_mail as organiser_later_mail
from app.web.organiser import outbox as organiser_outbox
from app.web.participant import check_out as participant_check_out
from app.web.participant import followup, marketplace, my_data, outcomes, pledge_answer
from app.web.participant import join as participant
from app.web.participant import mail_choices as participant_mail
from app.web.participant.attendee import NotJoined
from app.web.public import accounts as public_accounts
from app.web.public import home as public
from app.web.public import projector
from app.web.public.live import Live

log = logging.getLogger("openspace")

# What a 404 for an address no page has says.
UNKNOWN_ADDRESS = lazy("The address may be mistyped, or the page may have moved.")


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        url = f"/login?next={quote(exc.next_url)}"
        if wants_fragment(request):
            # htmx would swap the log-in page into a section; send the whole page there.
            return Response(status_code=204, headers={"HX-Redirect": url})
        return see_other(url)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change_required(request: Request, exc: PasswordChangeRequired) -> Response:
        url = "/organiser/account?first=1"
        if wants_fragment(request):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return see_other(url)

    @app.exception_handler(NotJoined)
    async def not_joined(request: Request, exc: NotJoined) -> Response:
        # After joining, the person lands where they were going (a room sign's QR code);
        # the event's home is where joining leads anyway.
        home = f"/e/{request.path_params.get('code', '')}"
        going = request.url.path
        return see_other(
            f"{home}/join?{urlencode({'next': going})}" if going != home else f"{home}/join"
        )

    @app.exception_handler(PoolTimeout)
    async def no_connection_came_free(request: Request, exc: PoolTimeout) -> Response:
        return await busy_page(request)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        fault = StorageFault.of(exc)
        if fault is None:
            raise exc
        return storage_fault_page(request, fault)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 405:
            exc.headers = {**(exc.headers or {}), "Allow": allowed_methods(request)}
        if exc.status_code == 404 and message == "Not Found":
            message = str(UNKNOWN_ADDRESS)
        if exc.status_code == 405 and message == "Method Not Allowed":
            # Typically a form's address opened again (reloaded, bookmarked, shared).
            message = _(
                "This address only takes what a form sends: it is not a page to open. "
                "Go back to the page and use its button."
            )
        if is_api(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        if exc.status_code == 429:  # paused: what was sent is given back
            return given_back(request, 429, message, exc.headers or {}, await sent_form(request))
        response = error_page(request, exc.status_code, message)
        response.headers.update(exc.headers or {})
        return response

    app.add_exception_handler(TokenRefused, token_refused)

    app.add_exception_handler(DomainError, domain_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if is_api(request):
            return api_validation_error(exc)
        if all(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            # /topics/abc: no page has that address.
            return error_page(request, 404, str(UNKNOWN_ADDRESS))
        return error_page(
            request, 422, _("Part of the address or form was not in the expected form.")
        )

    @app.exception_handler(ValidationError)
    async def invalid_value(request: Request, exc: ValidationError) -> Response:
        # A value a form let through and a model refused: a limit written in one place only.
        fields = ", ".join(str(error["loc"][0]) for error in exc.errors() if error["loc"])
        log.warning("a model refused what a form let through: %s", fields)
        if is_api(request):
            return JSONResponse(
                {"detail": exc.errors(include_url=False, include_input=False)}, status_code=422
            )
        return error_page(
            request, 422, _("This is not in the expected form: %(fields)s.", fields=fields)
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_page(
            request,
            500,
            _("We have noted the problem. Please go back and try again in a moment."),
        )


async def checkpoint_forever(database: Database, every_seconds: float = 1.0) -> None:
    """Copy SQLite's write-ahead log into the database file now and then, in a thread, so
    that no request's commit does it (nor waits for the disk while it does)."""
    if not database.settings.is_sqlite:
        return
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await run_in_threadpool(database.checkpoint)
        except (DBAPIError, sqlite3.Error):  # a full or vanished disk: requests report it
            log.warning("could not checkpoint the database", exc_info=True)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The OpenSpace web application."""
    settings = settings or get_settings()
    # Commits leave SQLite's log for `checkpoint_forever` to copy into the database file.
    database = Database(settings, autocheckpoint=False)
    if database.budget is not None and not database.budget.fits:
        raise RuntimeError(database.budget.refusal())
    # No key in the source: the configured one, else the one this installation made.
    settings = settings.model_copy(update={"secret_key": load_key(settings, database).value})
    follow_template_edits(settings.environment == "development")
    broker = make_broker(database)
    live = Live(database, broker, lambda event: absolute(settings, f"/j/{event.join_code}"))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        live.end_streams_on_exit()
        leave_startup_objects_out_of_collections()
        housekeeping = [
            asyncio.create_task(release_free_memory_forever()),
            asyncio.create_task(checkpoint_forever(database)),
            asyncio.create_task(
                mail_sender.send_forever(
                    database, settings, mail_links(settings, _app.state.signer)
                )
            ),
        ]
        try:
            yield
        finally:
            for task in housekeeping:
                task.cancel()
            await live.stop()
            await broker.stop()
            # The pool's connections close with the app (the collector never sees them after
            # the freeze above, so nothing else would close them).
            database.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="OpenSpace",
        version="0.1.0",
        description="Run an open space event and follow up what it agreed.",
        docs_url=None,  # app/web/api/docs.py serves it from our own files
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.database = database
    app.state.signer = LinkSigner(settings.secret_key)
    app.state.wall_parts = VersionedParts[str]()
    # The event's topic cards, slots, spaces and announcements, per agenda version
    # (app.web.kit.cache, app.web.agenda).
    app.state.shared_rows = VersionedParts[list[Any]](max_entries_per_event=4)
    app.state.broker = broker
    app.state.limiter = counts_for(database, settings.secret_key)
    app.state.live = live

    app.add_middleware(TransactionMiddleware, database=database)
    # Outside the transaction (a refused body waits for no database turn) and inside the
    # language and CSRF cookie (the refusal is an error page in the visitor's language).
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(
        CsrfCookieMiddleware,
        secure=settings.secure_cookies,
        max_age=settings.session_max_age_days * 86400,
    )
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(IdentityRefreshMiddleware, settings=settings)
    # Outermost: pages, fragments and static files travel compressed (event streams do not:
    # GZipMiddleware leaves text/event-stream alone, so updates are not held back).
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(SendableHeadersMiddleware)
    app.mount("/static", HashedStaticFiles(directory=ROOT / "static"), name="static")

    # The probes first: a load balancer asks them all day, and each router asked before them
    # costs a failed match.
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """The process answers (for a liveness probe: restart it if this fails)."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        """It can serve: the database answers, and on PostgreSQL the live updates' listening
        connection is up (for a load balancer: send no one here while this fails)."""
        problems = []
        try:
            await run_in_threadpool(database.ping)
        except Exception as exc:
            problems.append(f"database: {type(exc).__name__}")
        if not broker.connected:
            problems.append("live updates: not listening")
        status = 503 if problems else 200
        return JSONResponse(
            {"status": "not ready" if problems else "ready", "problems": problems},
            status_code=status,
            headers={"Cache-Control": "no-store"},
        )

    for module in (
        public,
        public_accounts,
        participant,
        outcomes,
        marketplace,
        organiser,
        tracker,
        dashboard,
        how_it_went,
        carry,
        one_year_on,
        organiser_outbox,
        organiser_later_mail,
        facilitator,
        facilitator_outcomes,
        projector,
        followup,
        participant_mail,
        pledge_answer,
        my_data,
        participant_check_out,
        people,
        exports,
    ):
        app.include_router(module.router)
    app.include_router(api.router)
    app.include_router(api_docs.router)
    document_api(app, api.router)

    install_error_pages(app)
    return app
