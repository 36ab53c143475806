"""Error pages look like the app; the command line sets up and fills a database."""

import os
import subprocess
import sys
from datetime import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import SQLModel, col, select

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models import (
    Action,
    ActionUpdate,
    Attendance,
    AuditEntry,
    Contribution,
    Event,
    Message,
    Participant,
    Pledge,
    Report,
    Slot,
    Space,
    Theme,
    Topic,
)
from app.services import accounts
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory, count, placed_topic


def test_unknown_page_is_the_apps_404(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "We could not find that page" in response.text
    assert 'class="site-header"' in response.text


def test_opening_a_forms_address_says_what_to_do(client: TestClient, make: Factory) -> None:
    event = make.event()
    response = client.get(f"/e/{event.join_code}/topics/1/sign-up")
    assert response.status_code == 405
    assert "it is not a page to open. Go back to the page and use its button." in text_of(
        response.text
    )


def test_unknown_event_code_in_address_is_friendly(client: TestClient) -> None:
    response = client.get("/e/QQQQQQ/join")
    assert response.status_code == 404
    assert "There is no event with this code." in text_of(response.text)
    assert 'href="/"' in response.text


def test_numbers_no_row_can_have_are_refused_not_a_server_error(
    client: TestClient, make: Factory
) -> None:
    """Ids past what an id column holds, and digits int() cannot read, in an address, a query
    or a form (the fuzzer found each of them answered with a 500)."""
    organiser = make.organiser()
    event = make.event(organiser)
    with make.database.write() as session:
        _token, secret = accounts.create_api_token(session, organiser, "")
    log_in(client, organiser.email)
    too_big = str(2**31)  # one past PostgreSQL's INTEGER
    # An address no page can have is a 404, as any unknown address.
    assert client.get(f"/organiser/events/{too_big}").status_code == 404
    not_a_topic = client.get(f"/e/{event.join_code}/topics/abc")
    assert not_a_topic.status_code == 404
    assert "The address may be mistyped" in not_a_topic.text
    person = client.get(f"/events/{event.id}/print/person", params={"participant": too_big})
    assert person.status_code == 422
    api = client.get(f"/api/v1/events/{too_big}", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["path", "event_id"]
    base = f"/facilitate/{event.id}"
    pitch: Any = post_form(client, f"{base}/pitches/length", {"seconds": "¹"})
    assert pitch.status_code == 409
    desk: Any = post_form(client, f"{base}/desk/sign-up", {"participant": too_big, "topic": "¹"})
    assert desk.status_code == 422  # no such person chosen, and no name typed: bad input


def test_days_off_the_calendar_are_refused_not_a_server_error(
    client: TestClient, make: Factory
) -> None:
    """A slot at the end of year 9999 west of UTC, or a deadline in year 1, has no moment in UTC
    or no next day for a calendar (the fuzzer found a 500)."""
    organiser = make.organiser()
    event = make.event(organiser)
    with make.database.write() as session:
        _token, secret = accounts.create_api_token(session, organiser, "")
    late = {"starts_at": "9999-12-31T22:00:00-05:00", "ends_at": "9999-12-31T23:00:00-05:00"}
    slot = client.post(
        f"/api/v1/events/{event.id}/slots", json=late, headers={"Authorization": f"Bearer {secret}"}
    )
    assert slot.status_code == 422
    log_in(client, organiser.email)
    details: Any = post_form(
        client, f"/organiser/events/{event.id}", {"name": "Later", "starts_on": "0001-01-01"}
    )
    assert details.status_code == 422
    assert "Please enter a date like 2026-06-21." in text_of(details.text)


def test_a_change_to_an_event_that_does_not_exist_is_a_404(
    client: TestClient, make: Factory
) -> None:
    """Nothing to log it on: the audit log stays out of the way (it answered 500)."""
    organiser = make.organiser()
    log_in(client, organiser.email)
    posted: Any = post_form(client, "/organiser/events/987654/spaces", {"name": "Hall"})
    assert posted.status_code == 404
    assert count(make.database, AuditEntry) == 0


def test_the_audit_log_keeps_no_control_characters(client: TestClient, make: Factory) -> None:
    """A form field named with a NUL is logged without it (PostgreSQL refused the entry)."""
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    added: Any = post_form(
        client, f"/organiser/events/{event.id}/themes", {"name": "Food", "odd\x00name": "x"}
    )
    assert added.status_code == 303
    with make.database.read() as session:
        [entry] = session.exec(select(AuditEntry)).all()
    assert "oddname='x'" in entry.target and "\x00" not in entry.target


def test_logging_in_with_a_nul_in_the_address_is_refused_not_a_server_error(
    client: TestClient,
) -> None:
    """PostgreSQL cannot compare a text holding a NUL (the fuzzer found a 500)."""
    refused: Any = post_form(
        client, "/login", {"email": "olu\x00@example.org", "password": "correct horse"}
    )
    assert refused.status_code == 400
    assert "That e-mail address and password do not match." in text_of(refused.text)


def test_a_nul_typed_anywhere_is_left_out_not_a_server_error(
    client: TestClient, make: Factory
) -> None:
    """PostgreSQL refuses a NUL in a text: the keys that make a second tap act once, a name
    added to a session's list and an edited contribution each answered 500 there."""
    event = make.event()
    topic = placed_topic(
        make, event, make.slot(event, time(10), time(11)), make.space(event, "Hall", 5)
    )
    code, report = event.join_code, f"/e/{event.join_code}/reports/{topic.id}"
    sent: list[Any] = [
        post_form(client, f"/e/{code}/join", {"display_name": "Amy", "join_key": "k\x00"}),
        post_form(
            client, f"{report}/contributions", {"kind": "note", "body": "Hi", "write_key": "\x00"}
        ),
        post_form(client, f"{report}/people", {"name": "Guest\x00 from the bus"}),
    ]
    with make.database.read() as session:
        contribution = session.exec(select(Contribution)).one()
    sent.append(
        post_form(
            client,
            f"/e/{code}/contributions/{contribution.id}/edit",
            {"body": "Hi\x00 there", "version": str(contribution.version)},
        )
    )
    assert [response.status_code for response in sent] == [303, 303, 303, 303]
    with make.database.read() as session:
        assert session.get_one(Contribution, contribution.id).body == "Hi there"
        guest = session.exec(select(Attendance).where(col(Attendance.participant_id).is_(None)))
        assert guest.one().name == "Guest from the bus"


def test_a_space_named_twice_with_letters_beyond_a_to_z_is_refused_not_a_server_error(
    client: TestClient, make: Factory
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    log_in(client, organiser.email)
    url = f"/organiser/events/{event.id}/spaces"
    first = post_form(client, url, {"name": "Ùnder the Æsh", "capacity": "8"})
    assert first.status_code == 303  # type: ignore[attr-defined]
    again = post_form(client, url, {"name": "Ùnder the Æsh", "capacity": "8"})
    assert again.status_code in (409, 422)  # type: ignore[attr-defined]
    assert "already a space with this name" in text_of(again.text)  # type: ignore[attr-defined]


def test_device_qr_code_before_joining_is_the_apps_404(client: TestClient, make: Factory) -> None:
    event = make.event()
    response = client.get(f"/e/{event.join_code}/device/qr.svg")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


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
    env = {
        **os.environ,
        "OPENSPACE_DATABASE_URL": settings.database_url,
        "OPENSPACE_DATABASE_DIRECT_URL": settings.database_direct_url,
    }
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
        event = session.exec(
            select(Event).where(Event.name == "Reducing inequalities together")
        ).one()
        # Beside it, last year's (tests/integration/test_demo_last_year.py tells its story).
        assert session.exec(select(func.count()).select_from(Event)).one() == 2
        assert f"/j/{event.join_code}" in result.stdout

        def of(model: type[SQLModel]) -> int:
            in_event = model.event_id == event.id  # type: ignore[attr-defined]
            return session.exec(select(func.count()).select_from(model).where(in_event)).one()

        kinds = [
            slot.kind
            for slot in session.exec(
                select(Slot).where(Slot.event_id == event.id).order_by(Slot.starts_at)
            )
        ]
        names = session.exec(
            select(Participant.display_name).where(Participant.event_id == event.id)
        ).all()
        with_notes = session.exec(
            select(func.count())
            .select_from(Space)
            .where(Space.access_notes != "", Space.event_id == event.id)
        ).one()
        assert kinds == ["plenary", "breakout", "breakout", "breakout"]
        assert of(Space) == 6 and with_notes == 6
        assert of(Theme) == 3
        assert of(Topic) == 20
        assert len(names) == 60
        assert any("\u0600" <= ch <= "\u06ff" for name in names for ch in name)  # Arabic script
        assert any("Ł" in name or "ł" in name for name in names)
        # The afternoon has begun: one report is complete, with actions; another is being written.
        assert of(Report) == 2 and of(Action) == 2
        complete = session.exec(
            select(Report).where(col(Report.completed_at).is_not(None), Report.event_id == event.id)
        ).all()
        # The months after, without waiting for them: the outbox holds postcards and an
        # owner's link, a pledge has its answer, an owner answered a reminder by e-mail.
        messages = sorted(
            (m.kind, m.state)
            for m in session.exec(select(Message).where(Message.event_id == event.id))
        )
        answered = session.exec(
            select(Pledge).where(Pledge.answer != "", Pledge.event_id == event.id)
        ).all()
        replies = session.exec(select(ActionUpdate).where(col(ActionUpdate.via_mail))).all()
    assert len(complete) == 1
    assert messages == [
        ("action_owner", "waiting"),
        ("pledge_postcard", "waiting"),
        ("pledge_postcard", "waiting"),
        ("reminder", "sent"),
    ]
    assert len(answered) == 1
    assert [r.note for r in replies] == ["The libraries sent their list; two wards still to reply."]


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
