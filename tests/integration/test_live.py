"""Live pages over a real server: what reaches an open phone or projector, and when."""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import time as clock
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.broker import InProcessBroker
from app.config import Settings
from app.db import Database
from app.models import Event, Participant, Slot, Space, Topic
from app.models.agenda import TopicCreate
from app.models.live import AnnouncementCreate
from app.security import LinkSigner
from app.services import live as live_service
from app.services import marketplace
from app.web.public import live as live_module
from app.web.public.live import Live, phone_messages
from tests.conftest import claim, phone
from tests.factories import Factory, placed_topic
from tests.processes import serving, start
from tests.sse import EventStream

SECRET = "test-secret-key-that-is-long-enough-for-anything"


def post(browser: httpx.Client, path: str, **data: str) -> httpx.Response:
    return browser.post(path, data={**data, "csrf_token": browser.cookies["openspace_csrf"]})


def listen(base: str, browser: httpx.Client, event: Event, **kwargs: str) -> EventStream:
    return EventStream(f"{base}/e/{event.join_code}/live", cookies=dict(browser.cookies), **kwargs)


@pytest.fixture
def day(make: Factory) -> tuple[Event, Slot, Space]:
    event = make.event()
    return event, make.slot(event, clock(10, 0), clock(11, 0)), make.space(event, "Garden", 3)


def test_a_sign_up_reaches_an_open_phone_as_the_new_fill(
    live_server: str, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    event, slot, garden = day
    topic = placed_topic(make, event, slot, garden, "Care work")
    watcher, signer = phone(live_server, event, "Watcher"), phone(live_server, event, "Signer")
    with listen(live_server, watcher, event) as stream:
        assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
        first = stream.next("counts")  # no version given: the page is brought up to date
        assert "0 of 3 seats taken" in first.data
        assert stream.retry is not None and 1000 <= stream.retry <= 6000
        started = time.monotonic()
        assert post(signer, f"/e/{event.join_code}/topics/{topic.id}/sign-up").status_code == 303
        update = stream.next("counts", timeout=2, where=lambda m: "1 of 3" in m.data)
        assert time.monotonic() - started < 2
        assert f'id="fill-{topic.id}"' in update.data and 'hx-swap-oob="true"' in update.data
        assert update.id is not None and int(update.id) > int(first.id or 0)


def test_a_burst_of_sign_ups_is_coalesced_and_the_last_count_arrives(
    live_server: str, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    event, slot, _garden = day
    hall = make.space(event, "Hall", 100)
    topic = placed_topic(make, event, slot, hall, "Housing")
    watcher = phone(live_server, event, "Watcher")
    people = [phone(live_server, event, f"Person {n}") for n in range(24)]
    with listen(live_server, watcher, event) as stream:
        stream.next("counts")
        started = time.monotonic()
        for person in people:
            post(person, f"/e/{event.join_code}/topics/{topic.id}/sign-up")
        burst = time.monotonic() - started
        stream.next("counts", timeout=3, where=lambda m: "24 of 100 seats taken" in m.data)
        updates = [m for m in stream.drain(0.2) if m.name == "counts"]
        # 24 changes, but never more than one update per 0.3 s (plus the first and last).
        assert len(updates) <= burst / 0.3 + 2


def test_whose_seat_changed_hear_it_and_nobody_else(
    live_server: str, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    event, slot, _garden = day
    booth = make.space(event, "Booth", 1)
    topic = placed_topic(make, event, slot, booth, "One seat")
    seated, waiting, bystander = (phone(live_server, event, n) for n in ("A", "B", "C"))
    assert post(seated, f"/e/{event.join_code}/topics/{topic.id}/sign-up").status_code == 303
    assert post(waiting, f"/e/{event.join_code}/topics/{topic.id}/waitlist").status_code == 303
    version = str(_version(make.database, event))
    with (
        listen(live_server, waiting, event, last_id=version) as promoted,
        listen(live_server, bystander, event, last_id=version) as other,
    ):
        # On PostgreSQL the server hears of the last change by NOTIFY, which may come after
        # the streams open: a stream ahead of the server is resynced, "mine" included. Let
        # that pass before the change whose listeners are checked.
        promoted.drain(1.0)
        other.drain(1.0)
        assert post(seated, f"/e/{event.join_code}/topics/{topic.id}/leave").status_code == 303
        promoted.next("mine", timeout=8)  # timing is the benchmarks' business
        assert all(m.name != "mine" for m in other.drain(1.0))


def test_a_reconnect_resyncs_only_what_was_missed(
    live_server: str, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    event, slot, garden = day
    placed_topic(make, event, slot, garden, "Transport")
    browser = phone(live_server, event, "Returning")
    current = str(_version(make.database, event))
    with listen(live_server, browser, event, last_id=current) as stream:
        assert stream.drain(0.8) == []  # up to date: nothing to send
        assert stream.last_id == current
    with listen(live_server, browser, event, last_id=str(int(current) - 1)) as stream:
        names = {m.name for m in stream.drain(0.8)}
        assert {"wall", "topics", "counts", "announce", "mine"} <= names


def test_an_announcement_reaches_phones_and_the_projector(
    live_server: str, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    event, _slot, _garden = day
    facilitator = httpx.Client(base_url=live_server, timeout=10)
    _log_in(facilitator, make, event)
    browser = phone(live_server, event, "Reader")
    token = LinkSigner(SECRET).sign("projector", event.id or 0, event.projector_version)
    with (
        listen(live_server, browser, event) as on_phone,
        EventStream(f"{live_server}/display/{token}/live") as on_projector,
    ):
        on_phone.next("announce")
        assert "principles" in on_projector.next("screen").data  # the opening circle
        said = post(
            facilitator,
            f"/facilitate/{event.id}/announcements",
            text="Room 3 has moved to the garden",
        )
        assert said.status_code == 303
        assert "Room 3 has moved to the garden" in on_phone.next("announce", timeout=2).data
        on_projector.next("screen", timeout=2, where=lambda m: "Room 3 has moved" in m.data)
        switched = post(facilitator, f"/facilitate/{event.id}/projector", view="now")
        assert switched.status_code == 303
        on_projector.next("screen", timeout=2, where=lambda m: "now-next" in m.data)


def test_a_bad_or_replaced_projector_link_gets_no_stream(live_server: str, make: Factory) -> None:
    event = make.event()
    stale = LinkSigner(SECRET).sign("projector", event.id or 0, event.projector_version + 1)
    assert httpx.get(f"{live_server}/display/{stale}/live").status_code == 404
    assert httpx.get(f"{live_server}/e/{event.join_code}/live").status_code == 204


def test_dropped_clients_leave_nothing_behind(
    served: tuple[str, FastAPI], make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    base, app = served
    event, _slot, _garden = day
    browser = phone(base, event, "Many tabs")
    streams = [listen(base, browser, event) for _ in range(40)]
    for stream in streams:
        stream.next("wall", timeout=5)
    assert app.state.live.watchers >= 40
    for stream in streams:
        stream.close()
    deadline = time.monotonic() + 5
    while app.state.live.watchers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.state.live.watchers == 0
    assert app.state.live.hubs == {}


def _version(database: Database, event: Event) -> int:
    with database.read() as session:
        stored = session.get(Event, event.id)
        assert stored is not None
        return stored.agenda_version


def _log_in(browser: httpx.Client, make: Factory, event: Event) -> None:
    from app.services import events as event_service

    with make.database.write() as session:
        link = event_service.create_facilitator_link(session, event, "Front desk")
    token = LinkSigner(SECRET).sign("facilitator", link.id or 0)
    assert claim(browser, f"/f/{token}").status_code == 303


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="several processes need PostgreSQL"
)
def test_a_change_made_through_one_process_reaches_a_client_of_another(
    settings: Settings, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    """Two server processes on one PostgreSQL database, as two workers or two hosts are."""
    event, slot, garden = day
    topic = placed_topic(make, event, slot, garden, "Childcare")
    with _process(settings) as first, _process(settings) as second:
        watcher, signer = phone(first, event, "Watcher"), phone(second, event, "Signer")
        with listen(first, watcher, event) as stream:
            assert "0 of 3 seats taken" in stream.next("counts").data
            signed = post(signer, f"/e/{event.join_code}/topics/{topic.id}/sign-up")
            assert signed.status_code == 303
            stream.next("counts", timeout=2, where=lambda m: "1 of 3 seats taken" in m.data)


def test_a_stopping_server_ends_its_streams_at_once(
    settings: Settings, make: Factory, day: tuple[Event, Slot, Space], tmp_path: Path
) -> None:
    """Phones come back to the next server after the delay each was given: the stop is not
    held up until open streams are cut off (a restart under 2,000 phones waited for that)."""
    event, slot, garden = day
    placed_topic(make, event, slot, garden, "Childcare")
    log = tmp_path / "server.log"
    server = start(settings, log=log)
    try:
        streams = [listen(server.base, phone(server.base, event, f"P{n}"), event) for n in range(3)]
        for stream in streams:
            stream.next("counts")
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=15)  # (uvicorn ends by raising the signal again)
    finally:
        if server.process.poll() is None:
            server.process.kill()
    printed = log.read_text()
    assert "Shutting down" in printed
    # uvicorn cancels what is still running when its graceful time is up, and says so.
    assert "timeout graceful shutdown exceeded" not in printed
    for stream in streams:
        stream.close()


@contextmanager
def _process(settings: Settings) -> Iterator[str]:
    """`uvicorn` serving the app in a process of its own."""
    with serving(settings) as server:
        yield server.base


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="LISTEN is PostgreSQL's")
def test_a_dropped_listening_connection_comes_back_and_pages_resync(
    served: tuple[str, FastAPI], make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    base, app = served
    event, slot, garden = day
    topic = placed_topic(make, event, slot, garden, "Food banks")
    watcher, signer = phone(base, event, "Watcher"), phone(base, event, "Signer")
    with listen(base, watcher, event, last_id=str(_version(make.database, event))) as stream:
        with make.database.write() as session:  # what a database restart does to it
            session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN openspace_changes%'"
                )
            )
        stream.next("mine", timeout=5)  # back, and every page told to resynchronise
        assert app.state.broker.connected
        assert post(signer, f"/e/{event.join_code}/topics/{topic.id}/sign-up").status_code == 303
        stream.next("counts", timeout=2, where=lambda m: "1 of 3 seats taken" in m.data)


def test_a_completed_report_and_the_dots_reach_the_projector_and_phones(
    live_server: str, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    event, slot, garden = day
    topic = placed_topic(make, event, slot, garden, "Care work")
    facilitator = httpx.Client(base_url=live_server, timeout=10)
    _log_in(facilitator, make, event)
    assert post(facilitator, f"/facilitate/{event.id}/projector", view="news").status_code == 303
    convener = httpx.Client(base_url=live_server, timeout=10)
    convener.get("/")
    with make.database.read() as session:
        who = session.get_one(Participant, session.get_one(Topic, topic.id).convener_id)
    device = LinkSigner(SECRET).sign("device", who.id or 0, who.link_version)
    assert claim(convener, f"/e/{event.join_code}/continue/{device}").status_code == 303
    reader = phone(live_server, event, "Reader")
    token = LinkSigner(SECRET).sign("projector", event.id or 0, event.projector_version)
    report = f"/e/{event.join_code}/reports/{topic.id}"
    with (
        listen(live_server, reader, event) as on_phone,
        EventStream(f"{live_server}/display/{token}/live") as on_projector,
    ):
        on_phone.next("news")
        assert "News wall" in on_projector.next("screen").data
        post(convener, f"{report}/contributions", kind="key_point", body="Pay carers to rest")
        on_phone.next(f"report-{topic.id}", timeout=2)  # its report page fetches its notes
        assert post(convener, f"{report}/complete", done="1").status_code == 303
        on_projector.next("screen", timeout=2, where=lambda m: "Pay carers to rest" in m.data)
        on_phone.next("news", timeout=2)

        added = post(
            convener,
            f"{report}/actions",
            title="Respite fund",
            owner_name="Council",
            status="agreed",
        )
        # Back on the report, which names the new action (?added=<id>).
        action_id = added.headers["location"].split("added=")[1].split("#")[0]
        post(facilitator, f"/facilitate/{event.id}/vote", open="1", dots="3")
        post(facilitator, f"/facilitate/{event.id}/projector", view="converge")
        for _ in range(2):
            post(reader, f"/e/{event.join_code}/vote/action/{action_id}/place")
        on_projector.next(
            "screen",
            timeout=2,
            where=lambda m: (
                "Respite fund" in m.data and '<span class="top-dots">2</span>' in m.data
            ),
        )
    for browser in (facilitator, convener, reader):
        browser.close()


def test_each_phone_hears_the_live_counts_in_its_own_language(
    live_server: str, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    event, slot, garden = day
    topic = placed_topic(make, event, slot, garden, "Care work")
    polish, english = phone(live_server, event, "Zofia"), phone(live_server, event, "Sam")
    polish.cookies.set("openspace_lang", "pl")
    signer = phone(live_server, event, "Signer")
    with (
        listen(live_server, polish, event) as heard_pl,
        listen(live_server, english, event) as heard_en,
    ):
        assert "Zajęte miejsca: 0 z 3" in heard_pl.next("counts").data
        assert "0 of 3 seats taken" in heard_en.next("counts").data
        assert post(signer, f"/e/{event.join_code}/topics/{topic.id}/sign-up").status_code == 303
        assert (
            "Zajęte miejsca: 1 z 3"
            in heard_pl.next("counts", timeout=3, where=lambda m: "1 z 3" in m.data).data
        )
        assert (
            "1 of 3 seats taken"
            in heard_en.next("counts", timeout=3, where=lambda m: "1 of 3" in m.data).data
        )


def test_a_page_that_leaves_while_the_first_frame_is_drawn_leaves_no_hub(
    database: Database, make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    """Phones on bad Wi-Fi drop at any moment, also while their event's hub is opening
    (the hub drew its first frame for nobody and stayed, with its checker, for ever)."""
    event, _slot, _garden = day
    assert event.id is not None

    async def leave_early() -> tuple[dict[int, object], int]:
        live = Live(database, InProcessBroker(database), lambda e: f"/j/{e.join_code}")
        stream = live.watch(event.id or 0, None, phone_messages(1, "en"))
        page = asyncio.ensure_future(anext(stream))
        while event.id not in live._starting:  # the first frame is being drawn
            await asyncio.sleep(0)
        page.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await page
        for _ in range(200):  # the drawing finishes in its worker thread
            if event.id not in live._starting and not live.hubs:
                break
            await asyncio.sleep(0.01)
        left = (dict(live.hubs), live.watchers)
        await live.stop()
        return left

    # A loop of its own, in a thread: the browser tests' driver may hold this thread's.
    with ThreadPoolExecutor(1) as thread:
        hubs, watchers = thread.submit(asyncio.run, leave_early()).result()
    assert hubs == {} and watchers == 0


def test_a_change_heard_while_the_first_frame_is_drawn_reaches_the_page(
    database: Database,
    make: Factory,
    day: tuple[Event, Slot, Space],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two people write at once and both pages reload: the hub opens for the first, and the
    second's change, committed after the first frame was read, was heard before the hub was
    ready and lost until the check five seconds later (a report page showed one of the two)."""
    monkeypatch.setattr(live_module, "CHECK_EVERY", 600.0)  # only the change itself may tell
    event, _slot, _garden = day
    assert event.id is not None
    convener = make.participant(event, "Convener")
    with database.write() as session:  # a full marketplace: the first frame takes a while
        for n in range(150):
            marketplace.propose_topic(
                session, event, convener, TopicCreate(title=f"Topic {n}"), at_the_desk=True
            )

    def change() -> int:
        with database.write() as session:
            live_service.announce(session, event, AnnouncementCreate(text="Lunch is served"))
        return _version(database, event)

    async def open_while_it_changes() -> tuple[int, str]:
        broker = InProcessBroker(database)
        live = Live(database, broker, lambda e: f"/j/{e.join_code}")
        await broker.start()
        stream = live.watch(event.id or 0, None, phone_messages(1, "en"))
        heard = [asyncio.ensure_future(anext(stream))]
        while event.id not in live._starting:  # the first frame is being drawn
            await asyncio.sleep(0)
        await asyncio.sleep(0.02)  # and its read has begun
        version = await asyncio.to_thread(change)
        text = ""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                while f"id: {version}\n" not in text:
                    text += await heard[-1]
                    heard.append(asyncio.ensure_future(anext(stream)))
        heard[-1].cancel()
        await stream.aclose()
        await live.stop()
        await broker.stop()
        return version, text

    with ThreadPoolExecutor(1) as thread:  # a loop of its own (see above)
        version, text = thread.submit(asyncio.run, open_while_it_changes()).result()
    assert f"id: {version}\n" in text and "Lunch is served" in text


def test_frames_are_drawn_only_in_the_languages_pages_watch_in(
    served: tuple[str, FastAPI], make: Factory, day: tuple[Event, Slot, Space]
) -> None:
    """The event offers three languages; a frame costs one drawing per language, so only
    those someone here is watching in are drawn — and a newcomer hears its own at once."""
    base, app = served
    event, slot, garden = day
    topic = placed_topic(make, event, slot, garden, "Care work")
    english, polish = phone(base, event, "Sam"), phone(base, event, "Zofia")
    polish.cookies.set("openspace_lang", "pl")
    signer = phone(base, event, "Signer")
    hub = lambda: app.state.live.hubs[event.id]  # noqa: E731
    with listen(base, english, event) as heard_en:
        assert "0 of 3 seats taken" in heard_en.next("counts").data
        assert set(hub().frame.counts) == {"en"}
        with listen(base, polish, event) as heard_pl:
            assert "Zajęte miejsca: 0 z 3" in heard_pl.next("counts", timeout=3).data
            assert set(hub().frame.counts) == {"en", "pl"}
        deadline = time.monotonic() + 5  # the server notices the Polish page has gone
        while "pl" in app.state.live.languages.get(event.id, {}) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert post(signer, f"/e/{event.join_code}/topics/{topic.id}/sign-up").status_code == 303
        heard_en.next("counts", timeout=3, where=lambda m: "1 of 3" in m.data)
        assert set(hub().frame.counts) == {"en"}  # nobody here reads Polish any more
        # Frames kept for slow pages share what did not change: memory does not grow with
        # every frame by the size of the whole wall.
        new, old = hub().frame.counts["en"], hub().frame.previous.counts["en"]
        assert new[f"fill-{topic.id}"] != old[f"fill-{topic.id}"]
        assert new[f"interest-{topic.id}"] is old[f"interest-{topic.id}"]
