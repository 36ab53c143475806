"""The facilitator's wall at 40 spaces × 8 slots, and the desk's search at 500 people.

An event with 40 spaces (5 to 40 seats) and 8 breakout slots, 500 participants, 300 topics on
the wall (of 320 places), about 1,900 sign-ups and people waiting for the full sessions, is
written through the app's own services into a fresh database (the set-up is not measured).
Then `openspace serve` runs it, and a bare FastAPI app — one route sending a fixed HTML body of
the wall page's size through the same gzip middleware — is served by the same launcher with
the same uvicorn options (as bench/startup.py does), in the same run. A facilitator (the
event's organiser, logged in) asks, one request at a time and in turn with the bare app:

- the wall (`/facilitate/<event>/wall`): its size raw and gzipped, and its time;
- one card's move page (`/facilitate/<event>/topics/<id>/move`), where every place is listed;
- the desk's search as the type-ahead asks it (htmx, only the matches) and without
  JavaScript (the whole desk with the matches), for a few letters of a name.

Times are from sending the request to the last byte (gzip accepted, as a browser does);
medians and p95 of `--runs` rounds of `--requests` each, and each median's ratio to the bare
app's median in the same rounds.

    .venv/bin/python bench/facilitator_wall.py
    .venv/bin/python bench/facilitator_wall.py --database-url postgresql://postgres@127.0.0.1:5432/openspace_bench
"""

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from datetime import date, datetime, timedelta
from datetime import time as clock

import httpx
from common import ROOT, environment, free_port, fresh_database, percentiles, start_server
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse

from app.cli import migrate
from app.config import Settings
from app.db import Database
from app.models import Topic
from app.models.agenda import TopicCreate
from app.models.event import EventCreate, SlotCreate, SpaceCreate
from app.models.people import OrganiserCreate, ParticipantJoin
from app.services import accounts, events, marketplace, participants, signups, wall
from app.services.errors import Refused

SPACES, SLOTS, TOPICS, PEOPLE = 40, 8, 300, 500
EMAIL, PASSWORD = "wall-bench@example.org", "correct horse battery"
FIRST = ["Amira", "Zoë", "Łukasz", "عائشہ", "Tendai", "Joy", "Ahmed", "Grace", "Σοφία", "Mrs"]
LAST = ["Hussain", "Ødegaard", "Żółć", "خان", "Moyo", "Thompson", "Raza", "Achieng", "Begum"]


def bare_app() -> FastAPI:
    """The baseline: FastAPI sending a fixed page of the wall's size, gzipped as ours is."""
    body = ("<p>" + "x" * 60 + "</p>\n") * (int(os.environ["BENCH_BARE_BYTES"]) // 68 + 1)
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/page")
    def page() -> HTMLResponse:
        return HTMLResponse(body)

    return app


def build(database: Database) -> tuple[int, list[int]]:
    """The event, through the services: returns its id and its placed topics' ids."""
    rng = random.Random(32)
    with database.write() as session:
        organiser = accounts.create_organiser(
            session, OrganiserCreate(email=EMAIL, name="Wall bench", password=PASSWORD)
        )
        event = events.create_event(
            session,
            organiser,
            EventCreate(name="A wall of 320 places", starts_on=date.today() + timedelta(days=30)),
        )
        start = datetime.combine(event.starts_on, clock(9, 0))
        slots = [
            events.add_slot(
                session,
                event,
                SlotCreate(
                    starts_at=start + timedelta(minutes=70 * n),
                    ends_at=start + timedelta(minutes=70 * n + 60),
                ),
            )
            for n in range(SLOTS)
        ]
        spaces = [
            events.add_space(
                session, event, SpaceCreate(name=f"Room {n + 1}", capacity=5 + (n * 7) % 36)
            )
            for n in range(SPACES)
        ]
        people = [
            participants.join_event(
                session,
                event,
                ParticipantJoin(display_name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {n + 1}"),
            )
            for n in range(PEOPLE)
        ]
        cells = [(slot, space) for slot in slots for space in spaces]
        rng.shuffle(cells)
        placed: list[Topic] = []
        for n, (slot, space) in enumerate(cells[:TOPICS]):
            convener = people[n % PEOPLE]
            topic = marketplace.propose_topic(
                session,
                event,
                convener,
                TopicCreate(title=f"Topic {n + 1}: {rng.choice(LAST)} and the town"),
                at_the_desk=True,
            )
            wall.move_by_facilitator(session, event, topic, slot.id, space.id)
            placed.append(topic)
        by_slot: dict[int, list[Topic]] = {}
        for topic in placed:
            by_slot.setdefault(topic.slot_id or 0, []).append(topic)
        # Everyone picks a session in four slots; a few popular ones fill and keep a queue.
        for person in people:
            for slot in rng.sample(slots, 4):
                choices = by_slot.get(slot.id or 0, [])
                if not choices:
                    continue
                topic = choices[0] if rng.random() < 0.3 else rng.choice(choices)
                # A seat if one is free, else a place in its queue (refused in their own
                # session: they sit in it already).
                with suppress(Refused):
                    signups.join_waitlist(session, event, topic, person)
        return event.id or 0, [topic.id or 0 for topic in placed]


def _bare_command(port: int) -> list[str]:
    """The launcher's command for the bare app, with `openspace serve`'s own options."""
    from app.cli import log_config

    settings = Settings()
    options = {
        "app": "facilitator_wall:bare_app",
        "factory": True,
        "host": "127.0.0.1",
        "port": port,
        "workers": 1,
        "proxy_headers": False,
        "forwarded_allow_ips": [],
        "log_level": "warning",
        "log_config": log_config("warning"),
        "access_log": False,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "timeout_graceful_shutdown": 3,
        "timeout_worker_healthcheck": 30,
    }
    arguments = {"uvicorn": options, "header_timeout": settings.header_timeout_seconds}
    return [sys.executable, "-m", "app.serving", json.dumps(arguments)]


def start_bare(database_url: str, body_bytes: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **environment(database_url, port),
        "PYTHONPATH": str(ROOT / "bench"),
        "BENCH_BARE_BYTES": str(body_bytes),
    }
    process = subprocess.Popen(
        _bare_command(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the bare app did not start")


def log_in(base: str) -> httpx.Client:
    """The event's organiser, logged in, on a client that accepts gzip as a browser does."""
    client = httpx.Client(base_url=base, timeout=60, headers={"Accept-Encoding": "gzip"})
    client.get("/login")
    answer = client.post(
        "/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": client.cookies["openspace_csrf"]},
    )
    if answer.status_code != 303:
        raise SystemExit(f"log-in failed: {answer.status_code}")
    return client


def timed(client: httpx.Client, url: str, **kwargs: object) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = client.get(url, **kwargs)  # type: ignore[arg-type]
    answer.read()
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"{url}: {answer.status_code}")
    return elapsed, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()
    url = fresh_database(args.database_url)
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789-abcdefghijklmnop")
    migrate(settings)
    database = Database(settings)
    started = time.perf_counter()
    event_id, topic_ids = build(database)
    database.dispose()
    print(
        f"facilitator wall and desk, {date.today()}, {os.cpu_count()} cores, "
        f"database {url.split(':')[0]}; {SPACES} spaces × {SLOTS} slots, {len(topic_ids)} topics "
        f"placed, {PEOPLE} participants (set-up {time.perf_counter() - started:.0f} s, "
        "not measured)"
    )
    served = start_server(url)
    ours = log_in(served.base)
    wall_url = f"/facilitate/{event_id}/wall"
    page = ours.get(wall_url, headers={"Accept-Encoding": "identity"})
    raw = len(page.content)
    zipped = ours.get(wall_url)
    assert zipped.headers.get("content-encoding") == "gzip"
    bare, bare_base = start_bare(url, raw)
    plain = httpx.Client(base_url=bare_base, timeout=60, headers={"Accept-Encoding": "gzip"})
    try:
        cards = page.text.count('class="wall-card')
        print(
            f"wall page: {raw / 1024:.0f} KiB raw, {zipped.num_bytes_downloaded / 1024:.0f} KiB "
            f"gzipped ({len(gzip.compress(page.content, 6)) / 1024:.0f} KiB by gzip -6 here); "
            f"{cards} cards ({page.text.count('Full: ')} full with people waiting), "
            f"{page.text.count('<option')} <option> elements "
            f"(the move page of one card: "
            f"{ours.get(f'/facilitate/{event_id}/topics/{topic_ids[0]}/move').text.count('<option')})"
        )
        searches = ["am", "gra", "ødeg", "zoe 4", "خان 1"]
        desk = f"/facilitate/{event_id}/desk"
        cases: dict[str, tuple[httpx.Client, str, dict[str, object]]] = {
            "bare app, same-size page": (plain, "/page", {}),
            "wall": (ours, wall_url, {}),
            "move page of a card": (ours, f"/facilitate/{event_id}/topics/{topic_ids[0]}/move", {}),
            "desk search, type-ahead (htmx)": (ours, desk, {"headers": {"HX-Request": "true"}}),
            "desk search, no JavaScript": (ours, desk, {}),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for client, path, kwargs in cases.values():  # warm up each once
            timed(client, path, **kwargs)
        for _round in range(args.runs):
            for n in range(args.requests):
                # In turn, so that each sees the machine as busy as the others do.
                for name, (client, path, kwargs) in cases.items():
                    params = {"q": searches[n % len(searches)]} if "desk" in name else None
                    samples[name].append(timed(client, path, params=params, **kwargs)[0])
        found = ours.get(desk, params={"q": "am"}, headers={"HX-Request": "true"})
        print(
            f"desk search at {PEOPLE} people, e.g. “am”: "
            f"{found.text.count('<li>')} listed, fragment {len(found.content)} bytes; "
            f"searches {', '.join(searches)}"
        )
        base_median = statistics.median(samples["bare app, same-size page"])
        print(
            f"{'request':<32}{'median':>10}{'p95':>10}{'× bare':>8}   "
            f"({args.runs} rounds × {args.requests}, one at a time)"
        )
        for name, times in samples.items():
            figures = percentiles(times)
            print(
                f"{name:<32}{figures['p50']:>7.1f} ms{figures['p95']:>7.1f} ms"
                f"{statistics.median(times) / base_median:>7.1f}×"
            )
    finally:
        ours.close()
        plain.close()
        bare.terminate()
        bare.wait(timeout=30)
        served.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
