"""Every export of a large event, timed on one core.

An event of 1,000 participants, 200 sessions on the wall (10 slots × 20 spaces), a report for
each with 15 contributions (3,000 in all), 2,000 actions with themes, dots and progress, 5,000
sign-ups and 300 pledges is written straight into a fresh database (the set-up is not what is
measured). Then each format is made `--runs` times the way a download makes it (the same
function the routes and `openspace export` call) and the median is printed, with the size of
the file and its ratio to a baseline measured in the same run: reading the event's actions
(`action_lines`), the query every export starts from; and "÷ bare": how many requests for a
tiny Jinja page of a bare FastAPI app (bench/bare_app.py, served in the same run with
`openspace serve`'s options) take as long as one export.

    .venv/bin/python bench/exports.py
    .venv/bin/python bench/exports.py --database-url postgresql://postgres@127.0.0.1:5432/openspace_bench
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from common import bare_baseline, fresh_database
from sqlmodel import select

from app.cli import migrate
from app.config import Settings
from app.db import Database
from app.models import (
    Event,
    Organiser,
    Participant,
    SignUp,
    Slot,
    Space,
    Theme,
    Topic,
)
from app.models.event import EventStaff, Role
from app.models.outcomes import (
    Action,
    ActionTheme,
    ActionUpdate,
    Attendance,
    Contribution,
    Dot,
    Pledge,
    Report,
)
from app.services import actions, calendars
from app.web.organiser.exports import EVENT_FORMATS, event_file

PARTICIPANTS, SLOTS, SPACES, ACTIONS = 1000, 10, 20, 2000
WORDS = [
    "warm",
    "spaces",
    "transport",
    "carers",
    "housing",
    "Łódź",
    "zdrowie",
    "صحت",
    "اردو",
    "council",
    "buses",
    "library",
    "youth",
    "elders",
    "food",
    "bank",
    "volunteers",
    "digital",
    "access",
    "=SUM(A1)",
    "+44",
    "@home",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _add(session: object, model: type, rows: list[dict[str, object]]) -> None:
    session.add_all([model(**row) for row in rows])  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]


def build(database: Database) -> Event:
    """The large event, written row by row in bulk."""
    rng = random.Random(6)
    day = date(2027, 5, 4)
    zone = ZoneInfo("Europe/London")
    with database.write() as session:
        organiser = Organiser(email="bench@example.org", name="Bench", password_hash="!")
        event = Event(
            name="Benchmark: reducing inequalities — اردو / Łódź",
            theme_question="What will each of us do, starting tomorrow?",
            starts_on=day,
            join_code="BENCH1",
        )
        session.add_all([organiser, event])
        session.flush()
        eid = event.id or 0
        session.add(EventStaff(event_id=eid, organiser_id=organiser.id or 0, role=Role.organiser))
        themes = [
            Theme(event_id=eid, name=f"Aim {i}: {_text(rng, 3)}", position=i) for i in range(8)
        ]
        spaces = [
            Space(event_id=eid, name=f"Room {i}", capacity=40, position=i) for i in range(SPACES)
        ]
        slots = [
            Slot(
                event_id=eid,
                starts_at=datetime.combine(day, clock(9 + i % 8, 0), zone) + timedelta(days=i // 8),
                ends_at=datetime.combine(day, clock(9 + i % 8, 50), zone) + timedelta(days=i // 8),
            )
            for i in range(SLOTS)
        ]
        session.add_all(themes + spaces + slots)
        session.flush()
        people = [
            {
                "event_id": eid,
                "display_name": f"{rng.choice(['Amira', 'Zażółć', 'عائشہ', 'Tom', 'Kwame'])} {i}",
                "email": f"p{i}@example.org",
                "share_email": i % 3 == 0,
            }
            for i in range(PARTICIPANTS)
        ]
        _add(session, Participant, people)
        pids = list(session.exec(select(Participant.id).where(Participant.event_id == eid)))
        topics = [
            Topic(
                event_id=eid,
                convener_id=pids[i * 5],
                title=f"Session {i}: {_text(rng, 4)}"[:90],
                description=_text(rng, 20),
                slot_id=slots[i // SPACES].id,
                space_id=spaces[i % SPACES].id,
            )
            for i in range(SLOTS * SPACES)
        ]
        session.add_all(topics)
        session.flush()
        reports = [
            Report(event_id=eid, topic_id=t.id or 0, completed_at=datetime.now(zone))
            for t in topics
        ]
        session.add_all(reports)
        session.flush()
        signups = []
        for n, pid in enumerate(pids):
            for s in range(5):
                topic = topics[(s * SPACES + (n * 7 + s) % SPACES) % len(topics)]
                signups.append(
                    {"topic_id": topic.id, "slot_id": topic.slot_id, "participant_id": pid}
                )
        _add(session, SignUp, signups)
        kinds = ["key_point"] * 6 + ["note"] * 5 + ["next_step"] * 4
        _add(
            session,
            Contribution,
            [
                {
                    "report_id": r.id,
                    "author_id": rng.choice(pids),
                    "kind": kind,
                    "body": _text(rng, 25),
                }
                for r in reports
                for kind in kinds
            ],
        )
        _add(
            session,
            Attendance,
            [{"report_id": r.id, "name": f"Guest of {r.id}", "present": True} for r in reports],
        )
        _add(
            session,
            Action,
            [
                {
                    "event_id": eid,
                    "report_id": reports[i % len(reports)].id,
                    "title": _text(rng, 8)[:200],
                    "owner_id": rng.choice(pids) if i % 2 else None,
                    "owner_name": "" if i % 2 else "City council",
                    "due_on": day + timedelta(days=30 + i % 300),
                    "first_step": _text(rng, 10),
                    "status": rng.choice(["proposed", "agreed", "in_progress", "done"]),
                    "created_by_id": rng.choice(pids),
                }
                for i in range(ACTIONS)
            ],
        )
        aids = list(session.exec(select(Action.id).where(Action.event_id == eid)))
        _add(
            session,
            ActionTheme,
            [{"action_id": a, "theme_id": themes[a % len(themes)].id} for a in aids],
        )
        _add(
            session,
            ActionUpdate,
            [
                {
                    "action_id": a,
                    "note": _text(rng, 12),
                    "status": "in_progress",
                    "written_by": "owner",
                }
                for a in aids[::2]
            ],
        )
        _add(
            session,
            Dot,
            [
                {"event_id": eid, "participant_id": pids[i], "action_id": aids[i]}
                for i in range(PARTICIPANTS)
            ],
        )
        _add(
            session,
            Pledge,
            [
                {
                    "event_id": eid,
                    "participant_id": pids[i],
                    "text": _text(rng, 15),
                    "remind_on": day + timedelta(days=180),
                }
                for i in range(300)
            ],
        )
        return event


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    url = fresh_database(args.database_url)
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789-abcdefghijklmnop")
    migrate(settings)
    database = Database(settings)
    started = time.perf_counter()
    event = build(database)
    print(f"database: {url.split('://')[0]}; set-up {time.perf_counter() - started:.1f} s")

    def timed(make: object) -> tuple[float, int]:
        times, size = [], 0
        for _ in range(args.runs):
            with database.read() as session:
                fresh = session.get(Event, event.id)
                assert fresh is not None
                t0 = time.perf_counter()
                size = len(make(session, fresh))  # type: ignore[operator]
                times.append(time.perf_counter() - t0)
        return statistics.median(times), size

    timed(lambda s, e: actions.action_lines(s, e))  # warm the database's caches first
    base, _ = timed(lambda s, e: actions.action_lines(s, e))
    print(
        f"baseline (read the {ACTIONS} actions): median {base * 1000:.0f} ms over {args.runs} runs"
    )
    # The baseline every benchmark has: a bare FastAPI app served with `openspace serve`'s
    # options, one client asking its tiny Jinja page in turn; an export's median ÷ its median.
    bare = asyncio.run(bare_baseline(1, 1, path="/page", per_client=50))
    page = statistics.median(bare.latencies)
    print(bare.line())
    print(f"{'format':<8}{'median':>10}{'ratio':>8}{'÷ bare':>9}{'size':>12}   under 2 s")
    worst = 0.0
    makers = [(fmt, lambda s, e, fmt=fmt: event_file(s, settings, e, fmt)) for fmt in EVENT_FORMATS]
    makers.append(("due.ics", lambda s, e: calendars.action_due_dates(s, e)))
    for label, make in makers:
        median, size = timed(make)
        worst = max(worst, median)
        print(
            f"{label:<8}{median * 1000:>8.0f} ms{median / base:>7.1f}×{median / page:>8.0f}×"
            f"{size / 1024:>9.0f} KiB   "
            f"{'yes' if median < 2 else 'NO'}"
        )
    print(f"slowest format: {worst:.2f} s (one core)")
    database.dispose()
    return 0 if worst < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
