"""PostgreSQL's connections shared by every worker: workers that fit start and serve a burst
with no error, more than fit are refused before they start with what to change, and a
request that finds every connection taken waits, then answers 503 with the form kept.

The servers here are PostgreSQL servers of the tests' own with max_connections=20 (initdb in
a temporary folder); the tests run in the PostgreSQL suite."""

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn

from app.config import Settings
from app.db import libpq_url
from app.main import create_app
from tests.factories import Factory
from tests.postgres import free_port, one_open_session, own_postgres, pgbouncer
from tests.processes import SECRET

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="starts PostgreSQL servers of its own: part of the PostgreSQL suite",
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = 20  # max_connections of the tests' server: 3 kept for superusers, 2 left free


def _env(url: str, base: str) -> dict[str, str]:
    return {
        **os.environ,
        "OPENSPACE_DATABASE_URL": url,
        "OPENSPACE_SECRET_KEY": SECRET,
        "OPENSPACE_ENVIRONMENT": "test",
        "OPENSPACE_BASE_URL": base,
        "OPENSPACE_RATE_LIMIT_SCALE": "0",
    }


def _serve(
    url: str, workers: int, log: Path, direct_url: str = ""
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        cwd=ROOT,
        env={**_env(url, base), "OPENSPACE_DATABASE_DIRECT_URL": direct_url},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return base, process


def _until_started(process: subprocess.Popen[bytes], log: Path, workers: int) -> None:
    deadline = time.monotonic() + 90
    while log.read_text().count("Application startup complete") < workers:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.2)


@contextmanager
def _peak_connections(url: str) -> Iterator[list[int]]:
    """The most client connections PostgreSQL held at once while inside, sampled."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                ).fetchone()
                peak[0] = max(peak[0], int(row[0]) if row else 0)
                time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


def _one_phone(base: str, code: str, topic_id: int, n: int) -> list[int]:
    """A phone joins, opens the wall and signs up: the status of each answer."""
    with httpx.Client(base_url=base, timeout=60) as phone:
        form = phone.get(f"/e/{code}/join")
        key = re.search(r'name="join_key" value="([^"]+)"', form.text)
        token = phone.cookies.get("openspace_csrf", "")
        joined = phone.post(
            f"/e/{code}/join",
            data={"display_name": f"Phone {n}", "csrf_token": token, "join_key": key.group(1)}
            if key
            else {"display_name": f"Phone {n}", "csrf_token": token},
        )
        wall = phone.get(f"/e/{code}/wall")
        signed = phone.post(f"/e/{code}/topics/{topic_id}/sign-up", data={"csrf_token": token})
        return [form.status_code, joined.status_code, wall.status_code, signed.status_code]


def test_workers_that_fit_start_and_serve_a_burst_without_an_error(
    settings: Settings, tmp_path: Path
) -> None:
    with own_postgres(max_connections=SMALL) as (url, _restart):
        _own, event, topic = one_open_session(
            settings, url, "", "A burst on a small server", "Hall", 500
        )
        log = tmp_path / "serve.log"
        base, process = _serve(url, 4, log)
        try:
            _until_started(process, log, 4)
            with _peak_connections(url) as peak, ThreadPoolExecutor(max_workers=60) as pool:
                started = time.monotonic()
                answers = list(
                    pool.map(lambda n: _one_phone(base, event.join_code, topic.id, n), range(120))
                )
                took = time.monotonic() - started
        finally:
            process.terminate()
            process.wait(timeout=20)
    statuses = Counter(status for answer in answers for status in answer)
    print(
        f"4 workers, max_connections={SMALL}: 120 phones × 4 requests in {took:.1f} s, "
        f"answers {dict(statuses)}, at most {peak[0]} connections at once (this test's "
        "sampler included)"
    )
    assert set(statuses) == {200, 303}
    assert peak[0] <= SMALL - 3


def test_through_pgbouncer_more_workers_than_the_server_takes_serve_a_burst(
    settings: Settings, tmp_path: Path
) -> None:
    """Six workers, refused on their own (below), share PgBouncer's eight server connections;
    their listeners go straight to PostgreSQL."""
    with own_postgres(max_connections=SMALL) as (url, _restart), pgbouncer(url, 8) as through:
        _own, event, topic = one_open_session(
            settings, through, url, "A burst through PgBouncer", "Hall", 500
        )
        log = tmp_path / "serve.log"
        base, process = _serve(through, 6, log, direct_url=url)
        try:
            _until_started(process, log, 6)
            with _peak_connections(url) as peak, ThreadPoolExecutor(max_workers=60) as pool:
                answers = list(
                    pool.map(lambda n: _one_phone(base, event.join_code, topic.id, n), range(120))
                )
        finally:
            process.terminate()
            process.wait(timeout=20)
    statuses = Counter(status for answer in answers for status in answer)
    print(
        f"6 workers through PgBouncer (8 server connections), max_connections={SMALL}: "
        f"answers {dict(statuses)}, at most {peak[0]} connections at once"
    )
    assert set(statuses) == {200, 303}
    assert peak[0] <= SMALL - 3


def test_more_workers_than_fit_are_refused_with_what_to_change(
    settings: Settings, tmp_path: Path
) -> None:
    with own_postgres(max_connections=SMALL) as (url, _restart):
        log = tmp_path / "serve.log"
        _base, process = _serve(url, 6, log)
        assert process.wait(timeout=60) == 2
        said = log.read_text()
        doctor = subprocess.run(
            [sys.executable, "-m", "app.cli", "doctor", "--workers", "4"],
            cwd=ROOT,
            env=_env(url, "http://127.0.0.1:8000"),
            capture_output=True,
            text=True,
        )
    assert "6 server processes cannot share PostgreSQL's connections" in said
    assert "Start at most 5 workers" in said
    assert "raise max_connections" in said and "PgBouncer" in said
    assert "Application startup" not in said
    print(doctor.stdout)
    assert doctor.returncode == 0
    assert "4 processes × (pool 2 each + 1 listener) = 12 of PostgreSQL's 20" in doctor.stdout


@contextmanager
def _served_in_thread(settings: Settings) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"base_url": base}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_burst_larger_than_the_pool_waits_and_is_served(
    settings: Settings, make: Factory
) -> None:
    event = make.event(name="Three connections")
    small = settings.model_copy(update={"db_pool_size": 3, "db_pool_overflow": 0})
    with _served_in_thread(small) as base, ThreadPoolExecutor(max_workers=40) as pool:
        pages = list(pool.map(lambda _n: httpx.get(f"{base}/e/{event.join_code}/join"), range(80)))
    assert Counter(page.status_code for page in pages) == {200: 80}


def test_a_request_that_finds_no_connection_in_time_answers_503_and_keeps_the_form(
    settings: Settings, make: Factory
) -> None:
    event = make.event(name="Every connection held")
    small = settings.model_copy(
        update={"db_pool_size": 2, "db_pool_overflow": 0, "db_pool_timeout_seconds": 1}
    )
    with _served_in_thread(small) as base, httpx.Client(base_url=base, timeout=30) as phone:
        key = re.search(
            r'name="join_key" value="([^"]+)"', phone.get(f"/e/{event.join_code}/join").text
        )
        assert key is not None
        form = {
            "display_name": "Ada Lovelace",
            "csrf_token": phone.cookies["openspace_csrf"],
            "join_key": key.group(1),
        }
        # Someone holds the events table: the request that has the connection waits on it.
        with psycopg.connect(libpq_url(settings.database_url)) as holder:
            holder.execute("LOCK TABLE event IN ACCESS EXCLUSIVE MODE")
            with ThreadPoolExecutor(max_workers=1) as first:
                waiting = first.submit(phone.get, f"/e/{event.join_code}/wall")
                time.sleep(0.3)
                started = time.monotonic()
                busy = phone.post(f"/e/{event.join_code}/join", data=form)
                waited = time.monotonic() - started
                holder.rollback()
                assert waiting.result().status_code in {200, 303}
        again = phone.post(f"/e/{event.join_code}/join", data=form)
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "2"
    assert 0.9 <= waited < 5
    assert "Busy just now" in busy.text and "Ada Lovelace" in busy.text
    assert again.status_code == 303
