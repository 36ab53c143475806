"""Organisers' sign-ins: the key nobody else knows, guessing, and sign-ins that end."""

import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlmodel import select

from app.cli import create_organiser
from app.config import Settings
from app.db import Database
from app.keys import load_key
from app.main import create_app
from app.models import AuditEntry, Organiser
from app.models.event import Role
from app.security import LinkSigner
from app.services import events as event_service
from tests.conftest import claim, csrf_token, log_in, post_form, text_of
from tests.factories import PASSWORD, Factory

# The key every install signed with before this issue: it must sign nothing any more.
PUBLISHED_KEY = "dev-only-insecure-secret-key-change-me"


def _forged_organiser_cookie(key: str, organiser_id: int) -> str:
    return URLSafeTimedSerializer(key, salt="openspace.identity").dumps(
        {"o": organiser_id, "g": 1, "p": {}, "f": {}}
    )


def test_fresh_install_signs_with_a_key_of_its_own(tmp_path: Path, make: Factory) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="development",
        database_url=f"sqlite:///{tmp_path / 'fresh.db'}",
    )
    key = load_key(settings, Database(settings))
    assert key.value != PUBLISHED_KEY and len(key.value) >= 32
    kept = tmp_path / "fresh.db.key"
    assert kept.read_text().strip() == key.value
    # Readable by the owner only.
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    # The next start (another worker, a restart) signs with the same key.
    assert load_key(settings, Database(settings)).value == key.value


def test_fresh_install_refuses_a_cookie_signed_with_the_published_key(
    tmp_path: Path, database: Database, make: Factory
) -> None:
    organiser = make.organiser()
    assert organiser.id is not None
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="development",
        database_url=database.settings.database_url,
        base_url="http://testserver",
    )
    with TestClient(create_app(settings), follow_redirects=False) as browser:
        browser.cookies.set("openspace", _forged_organiser_cookie(PUBLISHED_KEY, organiser.id))
        assert browser.get("/organiser").status_code == 303  # sent to log in


def test_key_rotation_says_what_stops_working_and_then_replaces_the_key(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPENSPACE_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "OPENSPACE_SECRET_KEY": "",
    }
    openspace = [sys.executable, "-m", "app.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*openspace, *args], env=env, capture_output=True, text=True, timeout=120
        )

    doctor = run("doctor")
    assert doctor.returncode == 0, doctor.stderr
    assert f"{tmp_path / 'r.db.key'}" in doctor.stdout
    before = (tmp_path / "r.db.key").read_text()
    asked = run("rotate-key")
    assert asked.returncode == 2
    assert "update link" in asked.stderr and "--yes" in asked.stderr
    assert (tmp_path / "r.db.key").read_text() == before
    done = run("rotate-key", "--yes")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.db.key").read_text() != before


def test_key_kept_in_postgresql_is_shared_by_every_worker(database: Database) -> None:
    if database.settings.is_sqlite:
        return  # the SQLite case is a file: test_fresh_install_signs_with_a_key_of_its_own
    settings = database.settings.model_copy(update={"secret_key": ""})
    first = load_key(settings, Database(settings))
    second = load_key(settings, Database(settings))
    assert first.value == second.value and "database" in first.source


def test_log_out_ends_a_copied_cookie_too(app: FastAPI, make: Factory) -> None:
    organiser = make.organiser()
    with (
        TestClient(app, follow_redirects=False) as laptop,
        TestClient(app, follow_redirects=False) as thief,
    ):
        log_in(laptop, organiser.email)
        thief.cookies.set("openspace", laptop.cookies["openspace"])
        assert thief.get("/organiser", follow_redirects=False).status_code == 200
        post_form(laptop, "/logout", {})
        assert thief.get("/organiser", follow_redirects=False).status_code == 303


@pytest.fixture
def two_laptops(app: FastAPI, make: Factory) -> Iterator[tuple[TestClient, TestClient]]:
    """One organiser signed in on two laptops."""
    organiser = make.organiser()
    with (
        TestClient(app, follow_redirects=False) as mine,
        TestClient(app, follow_redirects=False) as other,
    ):
        log_in(mine, organiser.email)
        log_in(other, organiser.email)
        yield mine, other


def test_password_change_signs_out_every_other_browser(
    two_laptops: tuple[TestClient, TestClient],
) -> None:
    mine, other = two_laptops
    changed = post_form(
        mine,
        "/organiser/account/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 200  # type: ignore[attr-defined]
    assert "signed out" in text_of(changed.text)  # type: ignore[attr-defined]
    assert mine.get("/organiser").status_code == 200
    assert other.get("/organiser", follow_redirects=False).status_code == 303


def test_sign_out_everywhere_keeps_only_this_browser(
    two_laptops: tuple[TestClient, TestClient],
) -> None:
    mine, other = two_laptops
    page = mine.get("/organiser/account")
    assert "Sign out everywhere else" in page.text
    post_form(mine, "/organiser/account/sign-out-everywhere", {})
    assert mine.get("/organiser").status_code == 200
    assert other.get("/organiser", follow_redirects=False).status_code == 303


def test_organiser_sign_in_ends_after_the_idle_time(
    app: FastAPI, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    organiser = make.organiser()
    settings: Settings = app.state.settings
    serializer = URLSafeTimedSerializer(settings.secret_key, salt="openspace.identity")
    idle = settings.organiser_idle_hours * 3600

    def signed_ago(seconds: float) -> str:
        with monkeypatch.context() as past:
            past.setattr(TimestampSigner, "get_timestamp", lambda _self: int(time.time() - seconds))
            return serializer.dumps({"o": organiser.id, "g": 1, "p": {}, "f": {}})

    with TestClient(app, follow_redirects=False) as laptop:
        laptop.cookies.set("openspace", signed_ago(idle - 120))
        assert laptop.get("/organiser").status_code == 200
    with TestClient(app, follow_redirects=False) as laptop:
        laptop.cookies.set("openspace", signed_ago(idle + 120))
        assert laptop.get("/organiser").status_code == 303


def test_active_organiser_sign_in_is_signed_again(
    app: FastAPI, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    organiser = make.organiser()
    assert organiser.id is not None
    settings: Settings = app.state.settings
    serializer = URLSafeTimedSerializer(settings.secret_key, salt="openspace.identity")
    # A cookie signed ten minutes ago is renewed by the next page.
    with monkeypatch.context() as past:
        past.setattr(TimestampSigner, "get_timestamp", lambda _self: int(time.time()) - 600)
        old = serializer.dumps({"o": organiser.id, "g": 1, "p": {}, "f": {}})
    with TestClient(app, follow_redirects=False) as laptop:
        laptop.cookies.set("openspace", old)
        page = laptop.get("/organiser")
        assert page.status_code == 200
        assert page.cookies.get("openspace") not in (None, old)


def test_wrong_passwords_pause_the_account_not_the_address(app: FastAPI, make: Factory) -> None:
    target = make.organiser()
    colleague = make.organiser()
    with TestClient(app, follow_redirects=False) as guesser:
        token = csrf_token(guesser)
        answers = [
            guesser.post(
                "/login",
                data={"email": target.email, "password": f"guess {n}", "csrf_token": token},
            )
            for n in range(8)
        ]
        assert [a.status_code for a in answers[:4]] == [400] * 4
        assert all(a.status_code == 429 for a in answers[4:])
        assert "Try again in" in text_of(answers[-1].text)
        assert int(answers[-1].headers["retry-after"]) > 0
        # The right password is refused too while the account is paused...
        right = guesser.post(
            "/login", data={"email": target.email, "password": PASSWORD, "csrf_token": token}
        )
        assert right.status_code == 429
        # ...and the e-mail and password the form had are kept (the password is not).
        assert target.email in right.text
        # Someone else at the same venue address logs in at once.
        log_in(guesser, colleague.email)
    with make.database.read() as session:
        paused = session.get(Organiser, target.id)
        assert paused is not None and paused.failed_logins >= 5
        lines = session.exec(select(AuditEntry).where(AuditEntry.actor == target.email)).all()
    assert len(lines) >= 5 and "wrong password" in lines[0].action


def test_a_pause_does_not_tell_which_addresses_have_an_account(app: FastAPI, make: Factory) -> None:
    """Guessing at an address with no account is paused exactly as at one with: the answers
    alone cannot tell a guesser who has an account here."""
    target = make.organiser()

    def guesses(email: str) -> list[tuple[int, str]]:
        with TestClient(app, follow_redirects=False) as guesser:
            token = csrf_token(guesser)
            answers = [
                guesser.post(
                    "/login", data={"email": email, "password": f"guess {n}", "csrf_token": token}
                )
                for n in range(7)
            ]
        said = [text_of(a.text).replace(email, "ADDRESS") for a in answers]
        return [
            (a.status_code, re.sub(r"\d+ seconds?", "N seconds", t))
            for a, t in zip(answers, said, strict=True)
        ]

    assert guesses(target.email) == guesses("nobody-" + target.email)


def test_new_password_opens_a_paused_account(app: FastAPI, make: Factory) -> None:
    target = make.organiser()
    with TestClient(app, follow_redirects=False) as guesser:
        token = csrf_token(guesser)
        for n in range(7):
            guesser.post(
                "/login", data={"email": target.email, "password": f"x{n}", "csrf_token": token}
            )
    assert create_organiser(make.database.settings, target.email, "", "the owner's new one") == 0
    with TestClient(app, follow_redirects=False) as owner:
        log_in(owner, target.email, "the owner's new one")


def test_team_member_changes_the_first_password_before_anything_else(
    app: FastAPI, make: Factory
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    with make.database.write() as session:
        _member, first = event_service.add_team_member(
            session, event, "new@example.org", "New Member", Role.facilitator
        )
    assert first is not None
    with TestClient(app, follow_redirects=False) as laptop:
        answer = post_form(
            laptop, "/login", {"email": "new@example.org", "password": first, "next": "/organiser"}
        )
        assert answer.headers["location"] == "/organiser/account?first=1"  # type: ignore[attr-defined]
        assert laptop.get("/organiser").headers["location"] == "/organiser/account?first=1"
        assert "Choose your own password" in text_of(laptop.get("/organiser/account").text)
        # No API token either: it would outlive the first password.
        token = post_form(laptop, "/organiser/account/tokens", {"name": "script"})
        assert token.status_code == 422  # type: ignore[attr-defined]
        assert "Choose your own password first" in text_of(token.text)  # type: ignore[attr-defined]
        post_form(
            laptop,
            "/organiser/account/password",
            {"current_password": first, "new_password": "my very own password"},
        )
        assert laptop.get("/organiser").status_code == 200


def test_links_that_sign_in_only_ask_until_their_button_is_pressed(
    app: FastAPI, make: Factory, settings: Settings
) -> None:
    event = make.event()
    person = make.participant(event, "Ahmed Raza")
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Desk")
    signer = LinkSigner(settings.secret_key)
    device = f"/e/{event.join_code}/continue/{signer.sign('device', person.id or 0, 1)}"
    facilitate = f"/f/{signer.sign('facilitator', link.id or 0)}"
    with TestClient(app, follow_redirects=False) as visitor:
        # Another site can make a browser open these links: that changes nothing.
        assert "Continue as Ahmed Raza" in text_of(visitor.get(device).text)
        assert visitor.get(f"/e/{event.join_code}").status_code == 303  # still not joined
        assert "Facilitate on this browser" in visitor.get(facilitate).text
        assert visitor.get(f"/facilitate/{event.id}").status_code == 303
        # Nor can another site post the button for it (no CSRF token).
        assert visitor.post(device, data={}).status_code == 403
        assert claim(visitor, device).headers["location"] == f"/e/{event.join_code}"
        assert visitor.get(f"/e/{event.join_code}").status_code == 200


def test_agenda_printed_through_a_facilitator_link_stops_working_with_it(
    app: FastAPI, make: Factory, settings: Settings
) -> None:
    event = make.event()
    person = make.participant(event, "Ahmed Raza")
    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Desk")
    signer = LinkSigner(settings.secret_key)
    with TestClient(app, follow_redirects=False) as desk:
        claim(desk, f"/f/{signer.sign('facilitator', link.id or 0)}")
        sheet = desk.get(f"/events/{event.id}/print/person?participant={person.id}")
        assert sheet.status_code == 200
        printed = re.search(r"/e/\w+/continue/[\w.\-]+", sheet.text)
        assert printed is not None
    with TestClient(app, follow_redirects=False) as borrowed:
        assert "Continue as Ahmed Raza" in text_of(borrowed.get(printed.group(0)).text)
    with make.database.write() as session:
        event_service.revoke_facilitator_link(session, event, link.id or 0)
    with TestClient(app, follow_redirects=False) as borrowed:
        assert borrowed.get(printed.group(0)).status_code == 404
        assert claim(borrowed, printed.group(0)).status_code == 404
