"""Error pages look like the app; the command line sets up and fills a database."""

import os
import subprocess
import sys

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models import Action, Event, Participant, Report, Slot, Space, Theme, Topic
from tests.conftest import text_of
from tests.factories import count


def test_unknown_page_is_the_apps_404(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "We could not find that page" in response.text
    assert 'class="site-header"' in response.text


def test_unknown_event_code_in_address_is_friendly(client: TestClient) -> None:
    response = client.get("/e/QQQQQQ/join")
    assert response.status_code == 404
    assert "There is no event with this code." in text_of(response.text)
    assert 'href="/"' in response.text


def test_server_error_shows_the_apps_page_without_a_trace(
    settings: Settings, database: Database
) -> None:
    app = create_app(settings)

    @app.get("/explode")
    def explode() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENSPACE_DATABASE_URL": settings.database_url}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_command_makes_a_realistic_event(settings: Settings, database: Database) -> None:
    result = _cli(settings, "demo")
    assert result.returncode == 0, result.stderr
    assert "organiser@example.org" in result.stdout
    assert "password:" in result.stdout
    with database.read() as session:
        event = session.exec(select(Event)).one()
        assert event.name == "Reducing inequalities together"
        assert f"/j/{event.join_code}" in result.stdout
        kinds = [slot.kind for slot in session.exec(select(Slot).order_by(Slot.starts_at))]
        names = session.exec(select(Participant.display_name)).all()
        with_notes = session.exec(
            select(func.count()).select_from(Space).where(Space.access_notes != "")
        ).one()
    assert kinds == ["plenary", "breakout", "breakout", "breakout"]
    assert count(database, Space) == 6 and with_notes == 6
    assert count(database, Theme) == 3
    assert count(database, Topic) == 20
    assert len(names) == 60
    assert any("\u0600" <= ch <= "\u06ff" for name in names for ch in name)  # Arabic script
    assert any("Ł" in name or "ł" in name for name in names)
    # The afternoon has begun: one report is complete, with actions; another is being written.
    assert count(database, Report) == 2 and count(database, Action) == 2
    with database.read() as session:
        complete = session.exec(select(Report).where(col(Report.completed_at).is_not(None))).all()
    assert len(complete) == 1


def test_create_organiser_command_then_log_in(settings: Settings, database: Database) -> None:
    result = _cli(
        settings,
        "create-organiser",
        "--email",
        "Nadia@Example.org",
        "--name",
        "Nadia",
        "--password",
        "a long enough password",
    )
    assert result.returncode == 0, result.stderr
    short = _cli(settings, "create-organiser", "--email", "x@example.org", "--password", "short")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as client:
        client.get("/login")
        response = client.post(
            "/login",
            data={
                "email": "nadia@example.org",
                "password": "a long enough password",
                "csrf_token": client.cookies["openspace_csrf"],
            },
        )
        assert response.status_code == 303
        assert client.get("/organiser").status_code == 200
