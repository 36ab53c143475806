"""Overbooking stress: many phones signing up, switching and leaving at once, small rooms.

Sets up an event (2 breakout slots × 10 spaces of 1–8 seats, 400 participants) in a fresh
database, serves it with `openspace serve`, then lets --clients concurrent participants make
--attempts sign-up / switch / waitlist / leave requests in all, the way phones with htmx send
them. Afterwards it checks the database: no session over capacity, seats taken equal to
sign-up rows, nobody waiting for a session with a free seat, nobody with two seats in a slot;
then frees one seat in every session that has a queue and checks the first in line got it.
A bare FastAPI app (bench/bare_app.py), served with the same options and workers and sent the
same number of form POSTs by as many clients, is the baseline the figures are divided by.
Prints the figures; exits non-zero if any check fails or any response was a 5xx.
"""

import argparse
import asyncio
import random
import time
from collections import Counter
from datetime import date, timedelta

import httpx
from common import (
    SECRET,
    TLS,
    bare_baseline,
    continue_as,
    fresh_database,
    percentiles,
    rooms_and_slots,
    server,
)
from sqlalchemy import func
from sqlmodel import col, select

from app.cli import migrate
from app.config import Settings
from app.db import Database
from app.models import Participant, SignUp, Space, Topic, WaitlistEntry
from app.models.agenda import TopicCreate
from app.models.event import EventCreate
from app.models.people import OrganiserCreate, ParticipantJoin
from app.security import LinkSigner
from app.services import accounts, marketplace, participants, signups, wall
from app.services import events as event_service

CAPACITIES = [1, 2, 2, 3, 3, 4, 5, 5, 6, 8]


def set_up(database: Database, people: int) -> tuple[str, list[int], dict[int, list[int]]]:
    """The event; returns its code, participant ids and the topic ids of each slot."""
    with database.write() as session:
        organiser = accounts.create_organiser(
            session, OrganiserCreate(email="bench@example.org", name="Bench", password="x" * 12)
        )
        day = date.today() + timedelta(days=1)
        event = event_service.create_event(
            session, organiser, EventCreate(name="Overbooking stress", starts_on=day)
        )
        spaces, slots = rooms_and_slots(session, event, CAPACITIES, 2)
        marketplace.open_marketplace(session, event, True)
        ids = [
            participants.join_event(session, event, ParticipantJoin(display_name=f"Person {n}")).id
            for n in range(people)
        ]
        topics: dict[int, list[int]] = {}
        for slot in slots:
            for space in spaces:
                convener = session.get(Participant, ids[len(topics.get(slot.id or 0, []))])
                assert convener is not None
                topic = marketplace.propose_topic(
                    session, event, convener, TopicCreate(title=f"Topic {slot.id}-{space.name}")
                )
                wall.move_by_facilitator(session, event, topic, slot.id, space.id)
                topics.setdefault(slot.id or 0, []).append(topic.id or 0)
        return event.join_code, [i for i in ids if i], topics


async def phone(
    base: str, code: str, token: str, plan: list[tuple[str, int]], results: list[tuple[int, float]]
) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=120, verify=TLS)
    await continue_as(client, code, token)
    csrf = client.cookies["openspace_csrf"]
    for action, topic_id in plan:
        started = time.perf_counter()
        response = await client.post(
            f"/e/{code}/topics/{topic_id}/{action}",
            data={
                "csrf_token": csrf,
                "fragment": "status",
                "fragment_id": str(topic_id),
                "next": f"/e/{code}/topics/{topic_id}",
            },
            headers={"HX-Request": "true"},
        )
        results.append((response.status_code, time.perf_counter() - started))
    return client


def check(database: Database) -> dict[str, int]:
    with database.read() as session:
        over = queued_with_free_seat = double = 0
        seats = session.exec(select(func.count()).select_from(SignUp)).one()
        taken_total = 0
        for topic in session.exec(select(Topic).where(col(Topic.space_id).is_not(None))).all():
            space = session.get(Space, topic.space_id)
            assert space is not None
            taken = signups.seats_taken(session, topic.id or 0)
            taken_total += taken
            waiting = session.exec(
                select(func.count())
                .select_from(WaitlistEntry)
                .where(WaitlistEntry.topic_id == topic.id)
            ).one()
            over += taken > space.capacity
            queued_with_free_seat += waiting > 0 and taken < space.capacity
        double = len(
            session.exec(
                select(SignUp.participant_id, SignUp.slot_id)
                .group_by(SignUp.participant_id, SignUp.slot_id)
                .having(func.count() > 1)
            ).all()
        )
        waiting_total = session.exec(select(func.count()).select_from(WaitlistEntry)).one()
    return {
        "sessions over capacity": over,
        "sign-up rows": seats,
        "seats taken (sum over sessions)": taken_total,
        "people with two seats in a slot": double,
        "queues with a free seat": queued_with_free_seat,
        "waitlist places at the end": waiting_total,
    }


async def promotion_order(
    base: str, code: str, database: Database, clients: dict[int, httpx.AsyncClient]
) -> tuple[int, int, int]:
    """Free one seat in each session with a queue; count how often the first in line got it.

    Returns the sessions checked, how often the first in line got the seat, and how many of
    those then moved on at once to another session of the slot they were also waiting for
    (its seat freed further along the same chain of promotions)."""
    checked = in_order = moved_on = 0
    with database.read() as session:
        topic_ids = [t.id for t in session.exec(select(Topic)).all()]
    for topic_id in topic_ids:
        with database.read() as session:
            first = session.exec(
                select(WaitlistEntry)
                .where(WaitlistEntry.topic_id == topic_id)
                .order_by(WaitlistEntry.id)
            ).first()
            seated = session.exec(
                select(SignUp.participant_id).where(SignUp.topic_id == topic_id)
            ).all()
            also_waiting = set(
                session.exec(
                    select(WaitlistEntry.topic_id).where(
                        WaitlistEntry.participant_id == (first.participant_id if first else 0)
                    )
                ).all()
            )
        leaver = next((p for p in seated if p in clients), None)
        if first is None or leaver is None:
            continue
        client = clients[leaver]
        left = await client.post(
            f"/e/{code}/topics/{topic_id}/leave",
            data={"csrf_token": client.cookies["openspace_csrf"]},
        )
        with database.read() as session:
            now = set(
                session.exec(
                    select(SignUp.topic_id).where(SignUp.participant_id == first.participant_id)
                ).all()
            )
        checked += 1
        if topic_id in now:
            in_order += 1
        elif now & (also_waiting - {topic_id}):
            in_order += 1
            moved_on += 1
        else:  # say what happened
            print(
                f"  topic {topic_id}: person {leaver} left (answer {left.status_code}); "
                f"person {first.participant_id}, first in line, now sits in {sorted(now)}"
            )
    return checked, in_order, moved_on


def prepared(
    database_url: str, people: int
) -> tuple[str, Database, str, list[int], dict[int, list[int]]]:
    """A fresh, migrated database with the event set up; returns its URL, the database,
    the join code, the participant ids and the topic ids of each slot."""
    url = fresh_database(database_url)
    settings = Settings(database_url=url, secret_key=SECRET)
    migrate(settings)
    database = Database(settings)
    return (url, database, *set_up(database, people))


async def main_async(args: argparse.Namespace) -> int:
    url, database, code, people, topics = prepared(args.database_url, max(400, args.clients))
    signer = LinkSigner(SECRET)
    rng = random.Random(args.seed)
    slots = list(topics)
    per_client = args.attempts // args.clients
    plans = []
    for _ in range(args.clients):
        plan = []
        for _ in range(per_client):
            action = rng.choices(
                ["sign-up", "waitlist", "leave", "leave-waitlist"], weights=[55, 20, 18, 7]
            )[0]
            plan.append((action, rng.choice(topics[rng.choice(slots)])))
        plans.append(plan)
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    with server(url, workers=args.workers) as (base, _output):
        results: list[tuple[int, float]] = []
        started = time.perf_counter()
        clients = await asyncio.gather(
            *(
                phone(base, code, signer.sign("device", pid, 1), plan, results)
                for pid, plan in zip(people, plans, strict=False)
            )
        )
        elapsed = time.perf_counter() - started
        invariants = check(database)
        by_person = dict(zip(people, clients, strict=False))
        checked, in_order, moved_on = await promotion_order(base, code, database, by_person)
        for client in clients:
            await client.aclose()
    # The baseline: the same clients, each sending as many one-field form POSTs in turn to a
    # bare FastAPI app served with the same options and workers.
    bare = await bare_baseline(args.workers, args.clients, per_client=per_client)
    statuses = Counter(status for status, _ in results)
    figures = percentiles([seconds for _, seconds in results])
    print(f"overbooking stress on {kind}, {args.workers} worker(s), {time.strftime('%Y-%m-%d')}")
    print(
        f"  {len(results)} attempts from {args.clients} concurrent clients in {elapsed:.1f} s "
        f"({len(results) / elapsed:.0f}/s); statuses: "
        + ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items()))
    )
    print(
        f"  latency ms: p50 {figures['p50']:.0f}, p95 {figures['p95']:.0f}, "
        f"p99 {figures['p99']:.0f}, max {figures['max']:.0f}"
    )
    print(bare.line())
    print(bare.ratio("attempts", len(results) / elapsed, [seconds for _, seconds in results]))
    for name, value in invariants.items():
        print(f"  {name}: {value}")
    print(
        f"  waitlists promoted in order: {in_order} of {checked} freed seats"
        f" went to the first in line ({moved_on} of them then moved on to another session"
        " of the slot they were waiting for, whose seat the same chain of promotions freed)"
    )
    failed = (
        invariants["sessions over capacity"]
        or invariants["people with two seats in a slot"]
        or invariants["queues with a free seat"]
        or invariants["sign-up rows"] != invariants["seats taken (sum over sessions)"]
        or in_order != checked
        or any(status >= 500 for status in statuses)
    )
    print("  result:", "FAILED" if failed else "all checks passed")
    database.dispose()
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=2026)
    raise SystemExit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
