"""What one host keeps in memory holds across hosts: rate limits count in one store (PostgreSQL,
or Redis), and a change made through one process is what the next page through another shows.
"""

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import httpx
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import ROOT, Settings
from app.main import create_app
from app.models import Event
from app.models.base import set_clock
from app.services import marketplace
from app.web.kit.limits import LIMITS
from tests.conftest import phone, post_form
from tests.factories import Factory, placed_topic
from tests.postgres import free_port
from tests.processes import serving

PER_PERSON = LIMITS["propose"][0]


def _hosts(settings: Settings, make: Factory, **changes: object) -> tuple[Event, FastAPI, FastAPI]:
    """An event with its marketplace open, and two app instances on the one database (two
    hosts behind a load balancer), with the limits as they are shipped."""
    event = make.event()
    with make.database.write() as session:
        marketplace.open_marketplace(session, event, True)
    shipped = settings.model_copy(update={"rate_limit_scale": 1.0, **changes})
    return event, create_app(shipped), create_app(shipped)


class OneBrowser:
    """One person's browser behind a load balancer: each request goes through the other host
    (its cookies carried over)."""

    def __init__(self, event: Event, one: FastAPI, other: FastAPI) -> None:
        self.event = event
        self.hosts = TestClient(one), TestClient(other)
        self.sent = 0
        post_form(self.hosts[0], f"/e/{event.join_code}/join", {"display_name": "Quick"})

    def propose(self, n: int) -> list[int]:
        """Propose `n` ideas: the statuses."""
        statuses = []
        for _ in range(n):
            host, elsewhere = self.hosts[self.sent % 2], self.hosts[(self.sent + 1) % 2]
            self.sent += 1
            answer = post_form(host, f"/e/{self.event.join_code}/topics", {"title": "Idea"})
            statuses.append(answer.status_code)  # type: ignore[attr-defined]
            elsewhere.cookies.update(host.cookies)
        return statuses


@pytest.fixture
def mid_minute() -> Iterator[datetime]:
    """The clock held half a minute into the current minute: the shared stores count whole
    minutes (and weigh the one before), so a test that crossed a minute's edge would count
    in two."""
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    set_clock(now)
    try:
        yield now
    finally:
        set_clock(None)


def test_two_hosts_on_one_postgresql_share_a_persons_limit(
    settings: Settings, make: Factory, mid_minute: datetime
) -> None:
    if settings.is_sqlite:
        pytest.skip("on PostgreSQL: the limits count in the database every host shares")
    event, one, other = _hosts(settings, make)
    browser = OneBrowser(event, one, other)
    statuses = browser.propose(PER_PERSON + 1)
    # Counted per process, each host would have let half through and said yes to the last.
    assert 429 not in statuses[:PER_PERSON] and statuses[-1] == 429
    # A minute on, the minute before still weighs half: half the limit again, not all of it.
    set_clock(mid_minute + timedelta(minutes=1))
    later = browser.propose(PER_PERSON // 2 + 1)
    assert 429 not in later[:-1] and later[-1] == 429


def test_on_sqlite_each_process_counts_its_own(settings: Settings, make: Factory) -> None:
    if not settings.is_sqlite:
        pytest.skip("on SQLite (one machine) the limits count in each process's memory")
    event, one, other = _hosts(settings, make)
    assert 429 not in OneBrowser(event, one, other).propose(PER_PERSON + 1)


@pytest.fixture
def own_redis(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of the test's own on a free port: its URL and process."""
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    home = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(home)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    try:
        yield url, process
    finally:
        client.close()
        process.kill()
        process.wait()


def test_with_redis_two_hosts_share_a_limit_and_a_redis_gone_stops_no_one(
    settings: Settings,
    make: Factory,
    own_redis: tuple[str, subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
    mid_minute: datetime,
) -> None:
    url, server = own_redis
    event, one, other = _hosts(settings, make, redis_url=url)
    statuses = OneBrowser(event, one, other).propose(PER_PERSON + 1)
    assert 429 not in statuses[:PER_PERSON] and statuses[-1] == 429
    assert redis.Redis.from_url(url).keys("openspace:rate:propose:*")

    server.kill()
    server.wait()
    browser = TestClient(one)
    with caplog.at_level(logging.WARNING, logger="openspace.limits"):
        post_form(browser, f"/e/{event.join_code}/join", {"display_name": "Later"})
        answers = [
            post_form(browser, f"/e/{event.join_code}/topics", {"title": f"After {i}"})
            for i in range(3)
        ]
    assert all(a.status_code in (200, 303) for a in answers)  # type: ignore[attr-defined]
    warned = [r.getMessage() for r in caplog.records if "did not answer" in r.getMessage()]
    assert len(warned) == 1, warned  # said once, not at every request
    elsewhere = "PostgreSQL" if not settings.is_sqlite else "this process's memory"
    assert elsewhere in warned[0]


def test_a_change_through_one_process_is_on_the_next_page_through_another(
    settings: Settings, make: Factory
) -> None:
    """Drawn parts are kept per agenda version, which every page reads from the database:
    a process that drew the wall before a change made elsewhere draws it anew."""
    event = make.event()
    slot = make.slot(event, clock(10, 0), clock(11, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Garden", 3), "Care work")
    with serving(settings) as host_a, serving(settings) as host_b:
        reader = phone(host_b.base, event, "Reader")
        before = reader.get(f"/e/{event.join_code}/wall")
        assert "0 of 3 seats taken" in before.text
        signer = phone(host_a.base, event, "Signer")
        signed = signer.post(
            f"/e/{event.join_code}/topics/{topic.id}/sign-up",
            data={"csrf_token": signer.cookies["openspace_csrf"]},
        )
        assert signed.status_code == 303
        after = reader.get(f"/e/{event.join_code}/wall")
        assert after.status_code == 200 and "1 of 3 seats taken" in after.text
        # The page a phone has is no longer current: no 304 for it.
        etag = before.headers.get("etag")
        if etag:
            again = httpx.get(
                f"{host_b.base}/e/{event.join_code}/wall",
                headers={"If-None-Match": etag},
                cookies=reader.cookies,
            )
            assert again.status_code == 200


def test_doctor_says_where_the_limits_count_and_whether_redis_answers(
    settings: Settings, own_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, server = own_redis

    def doctor(redis_url: str) -> str:
        env = {
            **os.environ,
            "OPENSPACE_DATABASE_URL": settings.database_url,
            "OPENSPACE_DATABASE_DIRECT_URL": settings.database_direct_url,
            "OPENSPACE_SECRET_KEY": settings.secret_key,
            "OPENSPACE_REDIS_URL": redis_url,
        }
        said = subprocess.run(
            [sys.executable, "-m", "app.cli", "doctor"],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        return said.stdout

    assert f"rate limits:  in Redis at {url.split('/')[2]}, shared" in doctor(url)
    otherwise = "each process's memory" if settings.is_sqlite else "PostgreSQL, shared"
    assert f"rate limits:  in {otherwise}" in doctor("")
    server.kill()
    server.wait()
    gone = doctor(url)
    assert "does not answer" in gone and f"in {otherwise.split(',')[0]} until it does" in gone
