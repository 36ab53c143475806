"""The dashboard across an organiser's events, and the "one year on" report, at scale.

An organiser with 20 events (one every five weeks, the first two years ago), 5,000 actions
under five aims, 50,000 progress updates dated over the months after each event (status
changes among them: done, dropped, still going), 1,000 owners (half asked for mail) and
1,000 pledges (a third answered) is written straight into a fresh database (the set-up is
not what is measured). Then `openspace serve` runs on it, and the organiser, logged in,
asks for:

1. the dashboard across their events, first drawn: a new progress update is written before
   each look, so every look counts and draws afresh (the fingerprint has changed);
2. the same dashboard again with nothing changed: from the kept drawing;
3. the "one year on" report of the first event (the page, and the Word file);
4. the dashboard's weight on a phone: the page's bytes as sent (gzip) and unpacked, and its
   largest chart;

each `--runs` times, medians printed, and the same server options' bare FastAPI app
(bench/bare_app.py, common.start_bare) asked for its tiny Jinja page in the same run, for
ratios. The machine's load (`uptime`) is printed before and after: it is shared.

    .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --database-url postgresql://postgres@127.0.0.1:5432/openspace_bench
"""

import argparse
import gzip
import os
import random
import re
import statistics
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import httpx
from common import fresh_database, start_bare, start_server
from sqlalchemy import insert, select

from app.cli import migrate
from app.config import Settings
from app.db import Database
from app.models import (
    Action,
    ActionTheme,
    ActionUpdate,
    Event,
    Organiser,
    Participant,
    Pledge,
    Report,
    Slot,
    Space,
    Theme,
    Topic,
)
from app.models.event import EventStaff, Role
from app.models.mail import MailConsent, Purpose
from app.security import hash_password

EVENTS, ACTIONS, UPDATES, OWNERS, PLEDGES = 20, 5000, 50_000, 1000, 1000
LOOKS = (
    "first drawn (after a change)",
    "from the kept drawing",
    "one year on, page",
    "one year on, Word file",
)
EMAIL, PASSWORD = "dashboard-bench@example.org", "bench-password-long-enough"
AIMS = [
    "Listening to and working with communities",
    "Taking a targeted approach to where resources are spent",
    "Encouraging continuous learning about health inequalities",
    "Warm homes",
    "Getting about",
]
NOTES = [
    "Met the practice managers.",
    "Two wards still to reply.",
    "Waiting for the budget.",
    "Leaflets printed in five languages.",
    "Zażółć gęślą jaźń — spoke to the council.",
    "اردو میں ترجمہ ہو گیا",
]


def _rows(session: object, model: type, rows: list[dict[str, object]]) -> None:
    if rows:
        session.execute(insert(model), rows)  # type: ignore[attr-defined]


def build(database: Database, today: date) -> int:
    """The organiser's 20 events and their months after; returns the first event's id."""
    rng = random.Random(29)
    now = datetime.combine(today, clock(12), UTC)
    with database.write() as session:
        organiser = Organiser(email=EMAIL, name="Bench", password_hash=hash_password(PASSWORD))
        session.add(organiser)
        session.flush()
        events = []
        for n in range(EVENTS):
            day = today - timedelta(days=730 - 35 * n)
            event = Event(
                name=f"Healthy towns, day {n + 1}", starts_on=day, join_code=f"DASH{n:02d}"
            )
            session.add(event)
            session.flush()
            session.add(
                EventStaff(
                    event_id=event.id or 0, organiser_id=organiser.id or 0, role=Role.organiser
                )
            )
            events.append(event)
        per_event = ACTIONS // EVENTS
        action_rows: list[dict[str, object]] = []
        theme_ids: dict[int, list[int]] = {}
        reports: dict[int, list[int]] = {}
        owners: dict[int, list[int]] = {}
        for event in events:
            eid = event.id or 0
            themes = [Theme(event_id=eid, name=name, position=i) for i, name in enumerate(AIMS)]
            spaces = [Space(event_id=eid, name=f"Room {i}", capacity=40) for i in range(10)]
            start = datetime.combine(event.starts_on, clock(10), UTC)
            slot = Slot(event_id=eid, starts_at=start, ends_at=start + timedelta(hours=1))
            session.add_all([*themes, *spaces, slot])
            session.flush()
            theme_ids[eid] = [t.id or 0 for t in themes]
            _rows(
                session,
                Participant,
                [
                    {
                        "event_id": eid,
                        "display_name": f"Owner {i}",
                        "email": f"o{eid}-{i}@example.org",
                    }
                    for i in range(OWNERS // EVENTS)
                ],
            )
            owners[eid] = list(
                session.execute(select(Participant.id).where(Participant.event_id == eid)).scalars()
            )
            topics = [
                Topic(
                    event_id=eid,
                    convener_id=owners[eid][i],
                    title=f"Session {i}",
                    slot_id=slot.id,
                    space_id=spaces[i].id,
                )
                for i in range(10)
            ]
            session.add_all(topics)
            session.flush()
            made = [Report(event_id=eid, topic_id=t.id or 0) for t in topics]
            session.add_all(made)
            session.flush()
            reports[eid] = [r.id or 0 for r in made]
            written = datetime.combine(event.starts_on, clock(15), UTC)
            for i in range(per_event):
                action_rows.append(
                    {
                        "event_id": eid,
                        "report_id": reports[eid][i % 10],
                        "title": f"Action {i} of day {eid}",
                        "owner_id": owners[eid][i % len(owners[eid])] if i % 3 else None,
                        "owner_name": "" if i % 3 else "City council",
                        "due_on": event.starts_on + timedelta(days=30 + rng.randrange(300)),
                        "status": "agreed",
                        "created_at": written,
                        "updated_at": written,
                    }
                )
            _rows(
                session,
                MailConsent,
                [{"participant_id": pid, "purpose": Purpose.actions} for pid in owners[eid][::2]],
            )
        _rows(session, Action, action_rows)
        actions = list(session.execute(select(Action.id, Action.event_id, Action.created_at)).all())
        _rows(
            session,
            ActionTheme,
            [
                {"action_id": aid, "theme_id": theme_ids[eid][aid % len(AIMS)]}
                for aid, eid, _at in actions
                if aid % 7
            ],
        )
        # The updates: each action's share, spread from its day to now; the last one sets
        # where it stands (a third done, a tenth dropped, the rest still going).
        per_action = UPDATES // len(actions)
        update_rows: list[dict[str, object]] = []
        final: dict[int, str] = {}
        for aid, _eid, written in actions:
            span = max(1, int((now - written).total_seconds()))
            moments = sorted(
                written + timedelta(seconds=rng.randrange(span)) for _ in range(per_action)
            )
            ending = rng.choices(["done", "dropped", "in_progress"], [33, 10, 57])[0]
            for n, moment in enumerate(moments):
                status = ending if n == len(moments) - 1 else "in_progress"
                update_rows.append(
                    {
                        "action_id": aid,
                        "status": status,
                        "note": rng.choice(NOTES),
                        "written_by": "Owner",
                        "via_link": True,
                        "created_at": moment,
                    }
                )
            final[aid] = ending
        for chunk in range(0, len(update_rows), 10_000):
            _rows(session, ActionUpdate, update_rows[chunk : chunk + 10_000])
        for status in ("done", "dropped", "in_progress"):
            ids = [aid for aid, ending in final.items() if ending == status]
            for chunk in range(0, len(ids), 5000):
                session.execute(
                    Action.__table__.update()  # type: ignore[attr-defined]
                    .where(Action.__table__.c.id.in_(ids[chunk : chunk + 5000]))  # type: ignore[attr-defined]
                    .values(status=status, updated_at=now)
                )
        pledge_rows = []
        for event in events:
            eid = event.id or 0
            for i, pid in enumerate(owners[eid][: PLEDGES // EVENTS]):
                answered = i % 3 == 0 and event.starts_on < today - timedelta(days=180)
                pledge_rows.append(
                    {
                        "event_id": eid,
                        "participant_id": pid,
                        "text": f"I will ask about damp at every visit ({i}).",
                        "remind_on": event.starts_on + timedelta(days=182),
                        "answer": "Asked forty families." if answered else "",
                        "answered_at": datetime.combine(event.starts_on, clock(9), UTC)
                        + timedelta(days=200)
                        if answered
                        else None,
                    }
                )
        _rows(session, Pledge, pledge_rows)
        return events[0].id or 0


def log_in(base: str) -> httpx.Client:
    """The organiser's browser, logged in, taking gzip as a phone's browser does."""
    client = httpx.Client(base_url=base, timeout=120, headers={"Accept-Encoding": "gzip"})
    client.get("/login")
    answer = client.post(
        "/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": client.cookies["openspace_csrf"]},
    )
    if answer.status_code != 303:
        raise SystemExit(f"log-in failed: {answer.status_code}")
    return client


def timed(client: httpx.Client, url: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = client.get(url)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"{url}: {answer.status_code}")
    return elapsed, answer


def touch(database: Database, action_id: int) -> None:
    """One more progress note on an action: what the dashboard counts has changed."""
    with database.write() as session:
        session.execute(
            insert(ActionUpdate).values(
                action_id=action_id, status="in_progress", note="One more note.", written_by="Owner"
            )
        )


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def ms(samples: list[float]) -> str:
    return f"{1000 * statistics.median(samples):7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL; a temporary SQLite file if not given"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"load before: {uptime()}  (a shared machine: other work may be running)")
    print(f"{date.today()}, {os.cpu_count()} processors")
    url = fresh_database(args.database_url)
    settings = Settings(database_url=url, secret_key="x" * 40)
    migrate(settings)
    database = Database(settings)
    started = time.perf_counter()
    first_event = build(database, date.today())
    with database.read() as session:
        open_action = session.execute(
            select(Action.id).where(Action.status == "in_progress").limit(1)
        ).scalar_one()
    print(
        f"{'PostgreSQL' if args.database_url else 'SQLite'}: {EVENTS} events, {ACTIONS:,} actions, "
        f"{UPDATES:,} updates, {PLEDGES:,} pledges written in {time.perf_counter() - started:.1f} s"
    )
    served = start_server(url)
    try:
        client = log_in(served.base)
        timed(client, "/healthz")
        took: dict[str, list[float]] = {name: [] for name in LOOKS}
        cpu: dict[str, list[float]] = {name: [] for name in LOOKS}

        def look(name: str, url: str) -> None:
            before = served.cpu_seconds()
            took[name].append(timed(client, url)[0])
            cpu[name].append(served.cpu_seconds() - before)

        for _ in range(args.runs):
            touch(database, open_action)
            look("first drawn (after a change)", "/organiser/dashboard")
            for _ in range(5):
                look("from the kept drawing", "/organiser/dashboard")
        for _ in range(args.runs):
            look("one year on, page", f"/organiser/events/{first_event}/one-year-on")
            look("one year on, Word file", f"/organiser/events/{first_event}/one-year-on.docx")
        raw = client.get("/organiser/dashboard", headers={"Accept-Encoding": "identity"})
        sent = client.get("/organiser/dashboard")
        packed = (
            len(gzip.compress(raw.content))
            if sent.headers.get("content-encoding") != "gzip"
            else None
        )
        with client.stream("GET", "/organiser/dashboard") as streamed:
            wire = sum(len(part) for part in streamed.iter_raw())
        svgs = [len(m.group(0).encode()) for m in re.finditer(r"<svg.*?</svg>", raw.text, re.S)]
        summary = re.search(r"(\d[\d,]*) actions agreed", raw.text)
    finally:
        served.stop()
    bare = start_bare()
    try:
        with httpx.Client(base_url=bare.base, timeout=60) as plain:
            plain.get("/page")
            page = [timed(plain, "/page")[0] for _ in range(max(20, args.runs * 5))]
    finally:
        bare.stop()
    database.dispose()
    base = statistics.median(page)
    counted = summary.group(1) if summary else "?"
    print(f"dashboard across {EVENTS} events ({counted} actions), medians of {args.runs}+:")
    for name in LOOKS:
        ratio = statistics.median(took[name]) / base
        print(
            f"  {name:<30} {ms(took[name])}  server processor time {ms(cpu[name])}"
            f"  {ratio:5.0f}× the bare page"
        )
    print(f"  baseline: bare FastAPI Jinja page {ms(page)}")
    weight = f"{wire:,} bytes sent" + (f" (gzip {packed:,})" if packed else " gzip")
    print(
        f"  page weight: {len(raw.content):,} bytes unpacked, {weight}; "
        f"{len(svgs)} charts, largest {max(svgs, default=0):,} bytes"
    )
    print(f"load after: {uptime()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
