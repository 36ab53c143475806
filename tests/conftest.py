"""Fixtures: a real database (SQLite file, or PostgreSQL from TEST_DATABASE_URL), the app."""

import os
import re
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from app.cli import migrate
from app.config import Settings
from app.db import Database, normalise_url
from app.main import create_app
from app.models import Event, Organiser, Topic, metadata
from tests import factories
from tests.postgres import pgbouncer


def _database_url(tmp_dir: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return normalise_url(url) if url else f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The database the app uses, and PostgreSQL's own address when that is a PgBouncer in
    front of it (TEST_PGBOUNCER=1 with a PostgreSQL TEST_DATABASE_URL), else ""."""
    url = _database_url(tmp_path_factory.mktemp("db"))
    if not os.environ.get("TEST_PGBOUNCER") or url.startswith("sqlite"):
        yield url, ""
        return
    with pgbouncer(url) as through:
        yield through, url


@pytest.fixture(scope="session")
def settings(database_urls: tuple[str, str]) -> Settings:
    return Settings(
        environment="test",
        database_url=database_urls[0],
        database_direct_url=database_urls[1],
        secret_key="test-secret-key-that-is-long-enough-for-anything",
        base_url="http://testserver",
        sqlite_busy_timeout_ms=30_000,
        # The whole suite comes from one address within minutes; test_limits.py tests the
        # limits as they are.
        rate_limit_scale=10,
    )


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings)
    if not settings.is_sqlite:
        # The test database belongs to the tests: start from an empty schema every run.
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(settings)
    yield db
    db.dispose()


# Every engine a test's code opened a connection with (apps the tests make, databases of their
# own): their idle connections are closed after each test, so a suite of hundreds of apps stays
# within PostgreSQL's 100 connections (an app frozen by its start-up gc.freeze is never
# collected, nor are its pool's connections). An engine still in use just opens new ones.
_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@event.listens_for(Engine, "engine_connect")
def _seen(connection: Connection) -> None:
    _ENGINES.add(connection.engine)


@pytest.fixture(autouse=True)
def _close_idle_connections() -> Iterator[None]:
    yield
    for engine in list(_ENGINES):
        if engine.dialect.name == "postgresql":  # a SQLite file costs no server connection
            engine.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "database" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("database")
    with db.write() as session:
        for table in reversed(metadata.sorted_tables):
            session.execute(table.delete())


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database) -> Iterator[FastAPI]:
    made = create_app(settings)
    yield made
    made.state.database.dispose()  # its connections, also when its lifespan never ran


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def served(settings: Settings, database: Database) -> Iterator[tuple[str, FastAPI]]:
    """The app served by uvicorn in a thread of this process: its address and the app."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"base_url": base}))
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield base, app
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(served: tuple[str, FastAPI]) -> str:
    return served[0]


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def make(database: Database) -> factories.Factory:
    return factories.Factory(database)


def csrf_token(client: TestClient) -> str:
    """This test browser's CSRF token (fetching a page first if it has none)."""
    if "openspace_csrf" not in client.cookies:
        client.get("/")
    return client.cookies["openspace_csrf"]


def post_form(client: TestClient, url: str, data: dict[str, str], **kwargs: object) -> object:
    """Post a form as a browser would, with the CSRF token in it."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client)}, **kwargs)  # type: ignore[arg-type]


def claim(client: TestClient | httpx.Client, path: str) -> httpx.Response:
    """Open a link that signs this browser in (a facilitator or personal link) and press its
    button, as a person does: the link itself only asks."""
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": client.cookies["openspace_csrf"]})


@pytest.fixture
def phones(app: FastAPI) -> Iterator[list[TestClient]]:
    """Participants' browsers, each with its own cookies, closed at the end."""
    opened: list[TestClient] = []
    yield opened
    for browser in opened:
        browser.close()


def phone_in(app: FastAPI, phones: list[TestClient], event: Event, name: str) -> TestClient:
    """A participant's browser on the app in this process, joined to the event."""
    browser = TestClient(app, follow_redirects=False)
    browser.__enter__()
    phones.append(browser)
    joined = post_form(browser, f"/e/{event.join_code}/join", {"display_name": name})
    assert joined.status_code == 303  # type: ignore[attr-defined]
    return browser


def log_in(client: TestClient, email: str, password: str = factories.PASSWORD) -> None:
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303, response.text


def text_of(html: str) -> str:
    """The visible text of a page, roughly, for asserting what a person reads."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?bdi[^>]*>", "", html)  # it isolates typed text, adding no space
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def phone(base: str, event: Event, name: str, timeout: float = 10) -> httpx.Client:
    """A participant's browser on the served app, joined to the event."""
    browser = httpx.Client(base_url=base, timeout=timeout)
    browser.get(f"/e/{event.join_code}/join")
    joined = browser.post(
        f"/e/{event.join_code}/join",
        data={"display_name": name, "csrf_token": browser.cookies["openspace_csrf"]},
    )
    assert joined.status_code == 303
    return browser


@pytest.fixture
def exported(make: factories.Factory) -> tuple[Organiser, Event, Topic, Topic]:
    """An event with reports and actions to export (see `factories.outcomes_event`)."""
    return factories.outcomes_event(make)
