"""Many events at once on two hosts: 20 events × 200 phones through nginx → two app hosts →
PgBouncer → PostgreSQL (bench/cluster.py starts it all on this machine, and stops it).

1. Each phone has the cookies its personal link gives (signed here by the app's own code).
2. Sign-ups: every phone signs up for a session of the first slot, starting at a random
   moment within --spread seconds (a full session: it picks another, as a person does).
   Meanwhile --listeners phones per event hold their live stream open on host B, and one
   phone per event signs up and leaves again every second in a session of its own through
   host A: the time from that phone sending its change to each stream on host B having it
   is "change on A → stream on B" (it includes host A's answer).
3. One host killed: every phone signs up for a session of the second slot, the same way,
   and a third of the way through host A is SIGKILLed (its server and workers at once). A
   phone whose sign-up failed taps again after the Retry-After it was given (else 1 s), ten
   times at most; for a phone whose request was lost with the host (502, 504 or a dropped
   connection), "carry on" is the time from the kill to its next stored sign-up.
4. The database after: sessions over capacity, and sign-ups answered 303 that are not stored.
5. The baseline: the bare FastAPI app (bench/bare_app.py), started with `openspace serve`'s
   options and the same workers, sent form POSTs at the rate of the phones' first taps.

The machine is shared and small (2 cores for nginx, PgBouncer, PostgreSQL, 2 × 2 workers and
this load generator): `uptime` is printed before and after.
"""

import argparse
import asyncio
import math
import random
import re
import secrets
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

from cluster import SECRET, Cluster, cluster
from common import RawPhone, bare_baseline, percentiles, rooms_and_slots
from sqlalchemy import func
from sqlmodel import col, select
from starlette.responses import Response

from app.config import Settings
from app.db import Database
from app.models import SignUp, Space, Topic
from app.models.agenda import TopicCreate
from app.models.event import EventCreate
from app.models.people import OrganiserCreate, ParticipantJoin
from app.services import accounts, marketplace, participants, signups, wall
from app.services import events as event_service
from app.web.kit.identity import Visitor, remember

ROOMS = 5


@dataclass
class Plan:
    """One event as set up: its code, its phones' participant ids, its sessions per slot,
    and the probe's own session and participant."""

    code: str
    event_id: int
    people: list[int]
    slots: list[list[int]]
    probe_topic: int
    probe_person: int


def set_up(database: Database, events: int, phones: int) -> list[Plan]:
    """The events: 5 rooms holding 90 % of the phones in each of two slots, and a room of its
    own for the probe in a third."""
    capacity = math.ceil(0.9 * phones / ROOMS)
    day = date.today() + timedelta(days=1)
    plans = []
    with database.write() as session:
        organiser = accounts.create_organiser(
            session, OrganiserCreate(email="bench@example.org", name="Bench", password="x" * 12)
        )
    for e in range(events):
        with database.write() as session:
            event = event_service.create_event(
                session, organiser, EventCreate(name=f"Event {e}", starts_on=day)
            )
            rooms, slots = rooms_and_slots(session, event, [capacity] * ROOMS + [1000], 3)
            marketplace.open_marketplace(session, event, True)
            people = [
                participants.join_event(session, event, ParticipantJoin(display_name=f"P{n}"))
                for n in range(phones + 1)
            ]
            placed: list[list[int]] = []
            for s, slot in enumerate(slots):
                here = []
                for r, room in enumerate(rooms[:ROOMS] if s < 2 else rooms[ROOMS:]):
                    convener = people[s * ROOMS + r]
                    topic = marketplace.propose_topic(
                        session,
                        event,
                        convener,
                        TopicCreate(title=f"Topic {s}-{r}"),
                        at_the_desk=True,
                    )
                    assert convener.id is not None and topic.id is not None
                    signups.convener_elsewhere(session, topic, convener.id, True)
                    wall.move_by_facilitator(session, event, topic, slot.id, room.id)
                    here.append(topic.id)
                placed.append(here)
            ids = [p.id or 0 for p in people]
            assert all(p.link_version == 1 for p in people) and event.id is not None
            plans.append(
                Plan(event.join_code, event.id, ids[:-1], placed[:2], placed[2][0], ids[-1])
            )
    return plans


def cookies_for(settings: Settings, plan: Plan) -> list[str]:
    """Each phone's cookies, as its personal link would set them: signed by the app's own
    code (app.web.kit.identity), so that 4,000 phones need not open their links first."""
    jar = []
    for pid in [*plan.people, plan.probe_person]:
        visitor = Visitor()
        visitor.participants[str(plan.event_id)] = [pid, 1]
        carrier = Response()
        remember(carrier, visitor, settings)
        identity = carrier.headers["set-cookie"].split(";", 1)[0]
        jar.append(f"{identity}; openspace_csrf={secrets.token_urlsafe(32)}")
    return jar


def csrf_of(cookie: str) -> str:
    return re.search(r"openspace_csrf=([^;]+)", cookie).group(1)  # type: ignore[union-attr]


@dataclass
class Tally:
    """What the phones saw in one phase."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    stored: list[tuple[int, int]] = field(default_factory=list)  # (participant, topic) = 303
    killed_at: float = 0.0
    failed_after_kill: dict[int, float] = field(default_factory=dict)  # phone → its 1st failure
    carried_on: dict[int, float] = field(default_factory=dict)  # phone → its next 303

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 or status == 0)


async def sign_up_once(
    phone: RawPhone, pid: int, code: str, topics: list[int], tally: Tally
) -> None:
    """One person signs up for a session of a slot: another if it is full; if it fails, again
    after the Retry-After the answer gave (1 s if none), ten times at most."""
    choices = random.sample(topics, len(topics))
    csrf = csrf_of(phone.cookie)
    tries = 0
    while choices and tries < 10:
        tries += 1
        topic = choices[0]
        started = time.perf_counter()
        wait = 1.0
        try:
            answer = await phone.post(f"/e/{code}/topics/{topic}/sign-up", {"csrf_token": csrf})
            status = answer.status_code
            tally.latencies.append(time.perf_counter() - started)
            wait = float(answer.headers.get("retry-after") or wait)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status = 0
        tally.statuses[status] += 1
        if status == 303:
            tally.stored.append((pid, topic))
            if pid in tally.failed_after_kill:
                tally.carried_on[pid] = time.perf_counter()
            return
        if status == 409:  # full: another session
            choices.pop(0)
            continue
        # What losing a host does: a request lost with it (502, 504, or the connection).
        if tally.killed_at and status in (0, 502, 504) and pid not in tally.failed_after_kill:
            tally.failed_after_kill[pid] = time.perf_counter()
        await asyncio.sleep(wait)  # the person taps again


async def phase(
    nginx: tuple[str, int],
    plans: list[Plan],
    cookies: list[list[str]],
    slot: int,
    spread: float,
    kill: "Kill | None" = None,
) -> Tally:
    """Every phone signs up for a session of `slot`, each at a random moment of `spread` s."""
    tally = Tally()
    began = time.perf_counter()

    async def person(plan: Plan, pid: int, cookie: str) -> None:
        await asyncio.sleep(random.uniform(0, spread))
        phone = RawPhone(nginx[0], nginx[1], cookie)
        try:
            await sign_up_once(phone, pid, plan.code, plan.slots[slot], tally)
        finally:
            phone.close()

    tasks = [
        asyncio.create_task(person(plan, pid, cookie))
        for plan, jar in zip(plans, cookies, strict=True)
        for pid, cookie in zip(plan.people, jar, strict=True)
    ]
    if kill is not None:
        await asyncio.sleep(spread / 3)
        await kill(tally)
    await asyncio.gather(*tasks)
    print(f"    {len(tasks)} phones in {time.perf_counter() - began:.1f} s")
    return tally


class Kill:
    def __init__(self, running: Cluster) -> None:
        self.running = running

    async def __call__(self, tally: Tally) -> None:
        tally.killed_at = time.perf_counter()
        await asyncio.to_thread(self.running.kill, self.running.hosts[0])
        print("    host A killed (SIGKILL, server and workers)")


class Listener:
    """A phone's live stream on one host, read raw (chunked HTTP/1.1, Server-Sent Events):
    when it saw each count of the probe's session."""

    def __init__(self, host: str, port: int, code: str, cookie: str, probe_topic: int) -> None:
        self.host, self.port, self.code, self.cookie = host, port, code, cookie
        self.pattern = re.compile(
            rf'id="fill-{probe_topic}".*?(\d+) of \d+ seats taken'.encode(), re.DOTALL
        )
        self.seen: list[tuple[float, int]] = []  # (when, seats taken in the probe's session)
        self.opened = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(
            f"GET /e/{self.code}/live HTTP/1.1\r\nHost: {self.host}\r\nCookie: {self.cookie}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        try:
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            self.opened.set()
            pending = b""
            while True:
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    return
                pending += await reader.readexactly(size + 2)
                pending = pending[:-2]
                *frames, pending = pending.split(b"\n\n")
                now = time.perf_counter()
                for frame in frames:
                    found = self.pattern.search(frame)
                    if found:
                        self.seen.append((now, int(found.group(1))))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self.opened.set()
            writer.close()


async def probe(
    host: tuple[str, int], plan: Plan, cookie: str, until: float, sent: list[tuple[float, int]]
) -> None:
    """The probe's phone, on host A: sign up, leave, sign up… once a second."""
    phone = RawPhone(host[0], host[1], cookie)
    csrf = csrf_of(cookie)
    await asyncio.sleep(random.uniform(0, 1))
    taken = 0
    try:
        while time.perf_counter() < until:
            action = "leave" if taken else "sign-up"
            started = time.perf_counter()
            answer = await phone.post(
                f"/e/{plan.code}/topics/{plan.probe_topic}/{action}", {"csrf_token": csrf}
            )
            if answer.status_code == 303:
                taken = 1 - taken
                sent.append((started, taken))
            await asyncio.sleep(max(0.0, 1 - (time.perf_counter() - started)))
    finally:
        phone.close()


def fan_out(sent: list[tuple[float, int]], listeners: list[Listener]) -> tuple[list[float], int]:
    """For each change sent, the time until each listener saw its count: the delays, and how
    many (change, listener) pairs never showed it as such (frames are coalesced: a later
    change came before the next frame, which showed that one instead)."""
    delays, missed = [], 0
    for started, taken in sent:
        for listener in listeners:
            when = next((t for t, n in listener.seen if t >= started and n == taken), None)
            if when is None:
                missed += 1
            else:
                delays.append(when - started)
    return delays, missed


def check(database: Database, acknowledged: list[tuple[int, int]]) -> tuple[int, int, int]:
    """Sessions over capacity, sign-ups answered 303 but not stored, sign-ups stored."""
    with database.read() as session:
        rows = session.exec(
            select(SignUp.topic_id, func.count(), Space.capacity)
            .join(Topic, col(Topic.id) == SignUp.topic_id)
            .join(Space, col(Space.id) == Topic.space_id)
            .group_by(SignUp.topic_id, Space.capacity)
        ).all()
        stored = set(session.exec(select(SignUp.participant_id, SignUp.topic_id)).all())
    over = sum(1 for _topic, taken, capacity in rows if taken > capacity)
    lost = len(set(acknowledged) - stored)
    return over, lost, len(stored)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def line(name: str, latencies: list[float]) -> str:
    if not latencies:
        return f"none ({name})"
    p = percentiles(latencies)
    return f"p50 {p['p50']:.0f} ms, p99 {p['p99']:.0f} ms, max {p['max']:.0f} ms ({name})"


async def main_async(args: argparse.Namespace) -> None:
    print(f"uptime before: {uptime()}  (a shared 2-core machine: others' work runs too)")
    # Every phone here comes from one address: the limits are raised, not removed (their
    # counting in PostgreSQL is measured), unless --no-limits.
    scale = 0.0 if args.no_limits else 1000.0
    with cluster(workers=args.workers, rate_limit_scale=scale) as running:
        nginx = urlsplit(running.base)
        front = (nginx.hostname or "", nginx.port or 80)
        host_a, host_b = running.hosts
        database = Database(Settings(database_url=running.database_url))
        started = time.perf_counter()
        plans = set_up(database, args.events, args.phones)
        print(
            f"{args.events} events × {args.phones} phones, 2 hosts × {args.workers} workers "
            f"behind nginx, PgBouncer, PostgreSQL, rate limits {'off' if scale == 0 else 'on'} "
            f"(set up in {time.perf_counter() - started:.0f} s)"
        )

        signing = Settings(secret_key=SECRET, base_url=running.base)
        cookies = [cookies_for(signing, plan) for plan in plans]
        probes = [jar.pop() for jar in cookies]

        listeners = [
            Listener(host_b.address, host_b.port, plan.code, jar[n], plan.probe_topic)
            for plan, jar in zip(plans, cookies, strict=True)
            for n in range(args.listeners)
        ]
        for listener in listeners:
            listener.task = asyncio.create_task(listener.run())
        await asyncio.gather(*(asyncio.wait_for(li.opened.wait(), 60) for li in listeners))

        print(f"  1. sign-ups, both hosts, spread over {args.spread:.0f} s:")
        sent: list[tuple[float, int]] = []
        until = time.perf_counter() + args.spread
        probing = [
            asyncio.create_task(probe((host_a.address, host_a.port), plan, cookie, until, sent))
            for plan, cookie in zip(plans, probes, strict=True)
        ]
        first = await phase(front, plans, cookies, 0, args.spread)
        await asyncio.gather(*probing)
        await asyncio.sleep(2)  # the last changes reach the streams
        delays, missed = fan_out(sent, listeners)
        for listener in listeners:
            if listener.task is not None:
                listener.task.cancel()
        attempts = first.statuses.total()
        print(f"    statuses {dict(sorted(first.statuses.items()))}")
        print(f"    5xx (and dropped connections): {first.server_errors}")
        print(f"    sign-up {line(f'{attempts} answers, 5xx included', first.latencies)}")
        seen_by = f"{len(sent)} changes × {args.listeners} streams per event"
        print(f"    change on A → stream on B {line(seen_by, delays)}")
        print(f"    changes a stream never showed as such (a later one came first): {missed}")

        print(f"  2. one host killed, a third into {args.spread:.0f} s of sign-ups:")
        second = await phase(front, plans, cookies, 1, args.spread, Kill(running))
        print(f"    statuses {dict(sorted(second.statuses.items()))}")
        print(f"    5xx (and dropped connections): {second.server_errors}")
        carry = [when - second.killed_at for when in second.carried_on.values()]
        print(
            f"    phones whose sign-up was lost with the host (502, 504, dropped): "
            f"{len(second.failed_after_kill)}, "
            f"carried on: {len(carry)}; from the kill to their stored sign-up: "
            + (line("tapping again after Retry-After, else 1 s", carry) if carry else "none failed")
        )
        print(f"    sign-up {line('with one host', second.latencies)}")

        over, lost, stored = check(database, first.stored + second.stored)
        print(f"  3. after: {stored} sign-ups stored; sessions over capacity: {over}; ")
        print(f"     sign-ups answered 303 and not stored (acknowledged writes lost): {lost}")
        database.dispose()
        rate = args.events * args.phones / args.spread  # first taps per second

    print(f"  4. baseline, bare FastAPI, {args.workers} workers, form POSTs at {rate:.0f}/s")
    print("     (the rate of the phones' first taps; one host, no nginx):")
    bare = await bare_baseline(args.workers, min(400, args.phones), rate=rate, seconds=10)
    print(bare.line())
    print(bare.ratio("sign-up (2 hosts behind nginx)", rate, first.latencies))
    print(f"uptime after: {uptime()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--phones", type=int, default=200, help="per event")
    parser.add_argument("--listeners", type=int, default=20, help="streams per event on host B")
    parser.add_argument("--workers", type=int, default=2, help="per host")
    parser.add_argument("--spread", type=float, default=60, help="seconds each phase lasts")
    parser.add_argument("--no-limits", action="store_true", help="rate limits off")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
