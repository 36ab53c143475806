"""Two hosts behind nginx, through PgBouncer, on one PostgreSQL (bench/cluster.py): what a
person sees does not depend on which host answers, and losing a host loses nothing stored.

The cluster has its own PostgreSQL, so it runs once per CI run: with the suite on SQLite.
"""

import os
import threading
import time
from collections.abc import Iterator
from datetime import time as clock

import httpx
import pytest
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Event, Participant, SignUp
from bench.cluster import Cluster, cluster, missing
from tests.factories import Factory, placed_topic
from tests.sse import EventStream


@pytest.fixture(scope="module")
def running() -> Iterator[Cluster]:
    if os.environ.get("TEST_DATABASE_URL", "sqlite").split(":")[0] != "sqlite":
        pytest.skip("the cluster brings its own PostgreSQL: it runs with the suite on SQLite")
    lacking = missing()
    if lacking:
        pytest.skip("two hosts behind nginx need " + ", ".join(lacking))
    # The limits as they are shipped: the test's phones come from addresses of their own.
    with cluster(workers=2, rate_limit_scale=1.0) as started:
        yield started


@pytest.fixture(scope="module")
def make(running: Cluster) -> Iterator[Factory]:
    database = Database(Settings(database_url=running.database_url))
    yield Factory(database)
    database.dispose()


def phone(base: str, event: Event, name: str, address: str) -> httpx.Client:
    """A participant's browser at `address` (a phone's own), joined to the event."""
    browser = httpx.Client(
        base_url=base, timeout=10, transport=httpx.HTTPTransport(local_address=address)
    )
    browser.get(f"/e/{event.join_code}/join")
    joined = browser.post(
        f"/e/{event.join_code}/join",
        data={"display_name": name, "csrf_token": browser.cookies["openspace_csrf"]},
    )
    assert joined.status_code == 303, joined.text[:500]
    return browser


def sign_up(browser: httpx.Client, event: Event, topic_id: int) -> httpx.Response:
    return browser.post(
        f"/e/{event.join_code}/topics/{topic_id}/sign-up",
        data={"csrf_token": browser.cookies["openspace_csrf"]},
    )


def test_a_sign_up_on_host_a_reaches_streams_on_host_b_and_through_nginx(
    running: Cluster, make: Factory
) -> None:
    event = make.event()
    slot = make.slot(event, clock(10, 0), clock(11, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Garden", 3), "Care work")
    host_a, host_b = running.hosts
    watcher = phone(running.base, event, "Watcher", "127.0.1.10")
    cookies = dict(watcher.cookies)
    url = f"/e/{event.join_code}/live"
    # Round robin: of four streams opened through nginx, two are on each host.
    streams = [EventStream(f"{host_b.base}{url}", cookies=cookies)] + [
        EventStream(f"{running.base}{url}", cookies=cookies) for _ in range(4)
    ]
    try:
        for stream in streams:
            assert stream.status == 200
            # Through nginx the first frame arrives at once: nothing holds the stream back.
            assert "0 of 3 seats taken" in stream.next("counts", timeout=5).data
        signer = phone(host_a.base, event, "Signer", "127.0.1.11")
        started = time.monotonic()
        assert sign_up(signer, event, topic.id or 0).status_code == 303
        for stream in streams:
            stream.next("counts", timeout=3, where=lambda m: "1 of 3 seats taken" in m.data)
        assert time.monotonic() - started < 3
    finally:
        for stream in streams:
            stream.close()


def test_a_rate_limit_holds_across_both_hosts_and_counts_each_address(
    running: Cluster, make: Factory
) -> None:
    """Join codes typed wrong are limited per address (30 a minute): counted per process,
    four workers on two hosts would each have seen about a quarter of them."""
    make.event()
    guesser = httpx.Client(
        base_url=running.base, transport=httpx.HTTPTransport(local_address="127.0.1.20")
    )
    statuses = [guesser.get(f"/join?code=QQQQ{n:04d}").status_code for n in range(36)]
    assert set(statuses[:30]) == {404}
    # The minute before weighs a little less as it passes: a minute's edge may let one or
    # two more through, never a quarter's worth per process.
    first_pause = statuses.index(429)
    assert first_pause <= 32 and set(statuses[first_pause:]) == {429}
    # Another phone on another address (nginx says which, in X-Forwarded-For) is not paused.
    neighbour = httpx.Client(
        base_url=running.base, transport=httpx.HTTPTransport(local_address="127.0.1.21")
    )
    assert neighbour.get("/join?code=QQQQ9999").status_code == 404


def test_a_host_killed_its_phones_carry_on_through_the_other_and_nothing_acknowledged_is_lost(
    running: Cluster, make: Factory
) -> None:
    event = make.event()
    topics = []
    for n in range(24):  # a sign-up in each of 24 slots, one after another, by each phone
        slot = make.slot(
            event, clock(8 + n // 4, 15 * (n % 4)), clock(8 + n // 4, 15 * (n % 4) + 10)
        )
        topics.append(placed_topic(make, event, slot, make.space(event, f"Room {n}", 50), f"T{n}"))
    phones = [phone(running.base, event, f"Phone {n}", f"127.0.1.{40 + n}") for n in range(8)]
    acknowledged: dict[str, list[int]] = {f"Phone {n}": [] for n in range(8)}
    first_after_kill: dict[str, float] = {}
    failed: list[int] = []
    killed = threading.Event()
    halfway = threading.Barrier(len(phones) + 1)

    def tap_through(n: int, browser: httpx.Client) -> None:
        name = f"Phone {n}"
        for i, topic in enumerate(topics):
            if i == len(topics) // 3:
                halfway.wait(timeout=60)
            for _ in range(20):  # a refused or lost tap is tapped again
                try:
                    answer = sign_up(browser, event, topic.id or 0)
                except httpx.HTTPError:
                    failed.append(0)
                    continue
                if answer.status_code == 303:
                    acknowledged[name].append(topic.id or 0)
                    if killed.is_set() and name not in first_after_kill:
                        first_after_kill[name] = time.monotonic()
                    break
                failed.append(answer.status_code)
                time.sleep(0.2)

    threads = [
        threading.Thread(target=tap_through, args=(n, browser)) for n, browser in enumerate(phones)
    ]
    for thread in threads:
        thread.start()
    halfway.wait(timeout=120)
    killed_at = time.monotonic()
    running.kill(running.hosts[0])
    killed.set()
    for thread in threads:
        thread.join(timeout=180)
    for browser in phones:
        browser.close()

    assert not running.hosts[0].alive() and running.hosts[1].alive()
    assert all(len(done) == len(topics) for done in acknowledged.values()), failed
    # Every phone carried on, through the other host, within 5 s of losing one.
    assert len(first_after_kill) == len(phones)
    assert max(first_after_kill.values()) - killed_at < 5
    # Every sign-up answered 303 is stored.
    with make.database.read() as session:
        stored = {
            (name, topic_id)
            for name, topic_id in session.exec(
                select(Participant.display_name, SignUp.topic_id)
                .join(SignUp, SignUp.participant_id == Participant.id)
                .where(Participant.event_id == event.id)
            ).all()
        }
    lost = {(name, t) for name, done in acknowledged.items() for t in done} - stored
    assert not lost
