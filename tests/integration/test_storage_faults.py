"""A database that cannot store — its disk full, or read-only — gives a clear page, keeps what
the person sent so that it can be sent again, and loses nothing already stored.

The full disk is real: a small tmpfs filled to the last byte, holding the SQLite file, or on
PostgreSQL a tablespace holding the topics. Read-only is SQLite opened read-only (what it falls
back to when its file is not writable), or PostgreSQL with read-only transactions (a standby
after a failover)."""

import errno
import os
import pwd
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import make_url, text
from sqlmodel import select

from app.cli import migrate
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models import Topic
from app.services import marketplace
from tests.conftest import post_form, text_of
from tests.factories import Factory

LONG = "What we would do differently next year, written at length. " * 30


@contextmanager
def small_disk(owner: str | None = None) -> Iterator[Path]:
    """A 4 MB filesystem of our own (needs root, as on the development and CI machines), where
    PostgreSQL's server may reach it."""
    path = Path(tempfile.mkdtemp(prefix="openspace-small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"mounting a small disk needs root: {mounted.stderr.strip()}")
    try:
        if owner:
            user = pwd.getpwnam(owner)
            os.chown(path, user.pw_uid, user.pw_gid)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
        path.rmdir()


def fill(disk: Path) -> Path:
    """Write to the disk until it has no byte left."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def joined(app_settings: Settings, make: Factory) -> tuple[TestClient, str]:
    event = make.event(name="Stored before the fault")
    with make.database.write() as session:
        marketplace.open_marketplace(session, event, True)
    phone = TestClient(create_app(app_settings))
    post_form(phone, f"/e/{event.join_code}/join", {"display_name": "Ada"})
    kept = post_form(phone, f"/e/{event.join_code}/topics", {"title": "Kept before"})
    assert kept.status_code == 200  # type: ignore[attr-defined]
    return phone, event.join_code


def propose(phone: TestClient, code: str, title: str, **headers: str) -> Response:
    answer = post_form(
        phone,
        f"/e/{code}/topics",
        {"title": title, "description": LONG, "propose_key": f"key-{title}"},
        follow_redirects=False,
        headers=headers,
    )
    assert isinstance(answer, Response)
    return answer


def send_again(phone: TestClient, page: Response) -> Response:
    """Press "Send it again" on the error page, with what it kept."""
    form = re.search(r'<form method="post" action="([^"]+)".*?</form>', page.text, re.S)
    assert form, "the error page gives the text back in a form"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[0]))
    fields |= dict(
        re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', form[0], re.S)
    )
    fields = {name: unescape(value) for name, value in fields.items()}
    return phone.post(form[1], data=fields, follow_redirects=False)


def assert_kept_and_explained(refused: Response, title: str, words: str) -> None:
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) >= 1
    page = text_of(refused.text)
    assert words in page and "Everything saved before is safe" in page
    assert "Traceback" not in refused.text
    assert title in page and LONG.strip() in unescape(refused.text)
    # What was typed is shown under the form's own words, to copy; the form's key is not.
    assert re.search(r'<label for="kept-\d+">Your topic, in a few words</label>', refused.text)
    assert re.search(r'<input type="hidden" name="propose_key" value="key-', refused.text)
    assert "propose_key" not in re.findall(r'<textarea[^>]*name="([^"]+)"', refused.text)
    assert 'href="/e/' in refused.text and "Back to the event" in page


def stored_titles(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.exec(select(Topic.title)))


@pytest.fixture
def fault_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit_scale": 0})


def test_a_full_disk_refuses_clearly_keeps_the_text_and_loses_nothing(
    fault_settings: Settings, make: Factory
) -> None:
    if fault_settings.is_sqlite:
        with small_disk() as disk:
            own = fault_settings.model_copy(update={"database_url": f"sqlite:///{disk}/full.db"})
            migrate(own)
            database = Database(own)
            try:
                _full_disk(own, Factory(database), database, disk)
                with database.read() as session:
                    assert session.exec(text("PRAGMA integrity_check")).one()[0] == "ok"
            finally:
                database.dispose()
    else:
        with small_disk(owner="postgres") as disk, make.database.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f"CREATE TABLESPACE small_disk LOCATION '{disk}'"))
            conn.execute(text("ALTER TABLE topic SET TABLESPACE small_disk"))
            try:
                _full_disk(fault_settings, make, make.database, disk)
            finally:
                conn.execute(text("ALTER TABLE topic SET TABLESPACE pg_default"))
                conn.execute(text("DROP TABLESPACE small_disk"))


def _full_disk(own: Settings, make: Factory, database: Database, disk: Path) -> None:
    phone, code = joined(own, make)
    filler = fill(disk)
    # Space freed inside the database's own files is used first; then a write is refused.
    acknowledged: list[str] = []
    for n in range(2000):
        answer = propose(phone, code, f"Idea {n}")
        if answer.status_code != 303:
            break
        acknowledged.append(f"Idea {n}")
    else:
        pytest.fail("the disk never filled")
    refused, title = answer, f"Idea {n}"
    assert_kept_and_explained(refused, title, "storage is full")
    # With htmx the message goes in the status line and the form stays as it is.
    fragment = propose(phone, code, title, **{"HX-Request": "true"})
    assert fragment.status_code == 503 and fragment.headers["hx-retarget"] == "#connection"
    assert "storage is full" in fragment.text and "<html" not in fragment.text
    # What was stored can still be read while the disk is full.
    assert phone.get(f"/e/{code}/topics").status_code == 200
    assert set(stored_titles(database)) == {"Kept before", *acknowledged}
    # Space is made; the kept text is sent again from the error page and stored, once.
    filler.unlink()
    assert send_again(phone, refused).status_code == 303
    assert sorted(stored_titles(database)) == sorted(["Kept before", *acknowledged, title])


def test_a_read_only_database_still_shows_what_is_stored_and_refuses_writes_clearly(
    fault_settings: Settings, make: Factory
) -> None:
    phone, code = joined(fault_settings, make)
    if fault_settings.is_sqlite:
        path = make_url(fault_settings.database_url).database
        read_only = fault_settings.model_copy(
            update={"database_url": f"sqlite:///file:{path}?mode=ro&uri=true"}
        )
        _read_only(read_only, phone, code, make)
    else:
        name = make_url(fault_settings.database_url).database
        with make.database.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
            try:
                _read_only(fault_settings, phone, code, make)
            finally:
                conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))


def _read_only(read_only: Settings, phone: TestClient, code: str, make: Factory) -> None:
    same_phone = TestClient(create_app(read_only), cookies=phone.cookies)
    try:
        home = same_phone.get(f"/e/{code}")
        assert home.status_code == 200 and "Kept before" in text_of(home.text)
        assert "Kept before" in text_of(same_phone.get(f"/e/{code}/topics").text)
        refused = propose(same_phone, code, "Written while read-only")
        assert_kept_and_explained(refused, "Written while read-only", "read-only")
    finally:
        same_phone.app.state.database.dispose()  # type: ignore[attr-defined]
    assert stored_titles(make.database) == ["Kept before"]
    # Writable again: the kept text is sent again and stored.
    assert send_again(phone, refused).status_code == 303
    assert sorted(stored_titles(make.database)) == ["Kept before", "Written while read-only"]
