"""The outbox draining under load: --messages due messages across --events events, handed by
`openspace serve`'s own senders (every worker runs one) to a local SMTP server, while
--clients people keep signing up for sessions and leaving at --rate requests/s.

Set-up, once: a fresh database (a new SQLite file, or the PostgreSQL database given, emptied)
with the sign-up event of bench/overbook.py and bench/signup_load.py, and --events events
whose people each pledged and asked for their postcard (pledges.save_pledge, as the form
does), due a year from now. The SMTP server is aiosmtpd in a process of its own (so parsing
mail does not take the load generator's processor), writing each message's Message-ID and
recipient to a file. The server runs with OPENSPACE_MAIL_EVERY_SECONDS=1.

Who sends (--sender): `in-process`, as shipped: each worker's own sender (a thread beside its
requests); or `separate`: the server has no mail server set and --senders processes of
`nice -n 10 openspace send-due` send instead (an operator's alternative, see bench/README.md).

Each of --runs runs: sign-ups for --seconds with nothing due (p99 "without"); then every
message is made due now (state, tries and claim reset in SQL: the same messages, the same
Message-IDs) and sign-ups go on until the server has received --messages messages and the
outbox has nothing left to send (p99 "during"). Prints, per run and as medians: messages/s
(from making them due to the last one received), duplicates and missing at the server (a
Message-ID received twice; a message never received; both must be 0), and sign-up p99 during
the drain ÷ p99 without (the target is ≤ 1.2).

The baseline: the bare FastAPI app (bench/bare_app.py, common.bare_baseline) started after
the runs with the same server options, workers, clients and rate, answering a one-field
form POST; ratios to it. The load average (`uptime`) is printed with the figures: the machine
may be shared, and the server, its senders, the SMTP server and the load all share its cores.
Exits 1 if anything was duplicated or missing, or a sign-up failed.
"""

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
from common import (
    ROOT,
    SECRET,
    TLS,
    bare_baseline,
    continue_as,
    free_port,
    open_loop,
    start_server,
)
from overbook import prepared
from signup_load import big_sessions, line
from sqlalchemy import update
from sqlmodel import col, func, select

from app.db import Database
from app.models import Message
from app.models.base import utcnow
from app.models.event import EventCreate
from app.models.mail import MessageState
from app.models.people import OrganiserCreate
from app.security import LinkSigner
from app.services import accounts
from app.services import events as event_service
from tests.factories import pledged_postcards

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def run_sink(port: int, record: Path) -> None:
    """The SMTP server: each message's Message-ID and recipients, a line each, to `record`."""
    from aiosmtpd.controller import Controller

    out = record.open("a", buffering=1)

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            content: bytes = envelope.content  # type: ignore[attr-defined]
            head = content.split(b"\r\n\r\n", 1)[0]
            found = MESSAGE_ID.search(head)
            message_id = found.group(1).decode() if found else "-"
            out.write(f"{message_id}\t{','.join(envelope.rcpt_tos)}\n")  # type: ignore[attr-defined]
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def start_sink(record: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--sink", str(port), "--sink-record", str(record)]
    )
    deadline = time.monotonic() + 120  # a shared, busy machine may take this long
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("the SMTP server did not start") from None
            time.sleep(0.1)


def mail_events(database: Database, events: int, messages: int) -> list[str]:
    """`events` events whose people pledged and asked for a postcard a year from now;
    returns the addresses."""
    addresses = []
    per_event = messages // events
    with database.write() as session:
        organiser = accounts.create_organiser(
            session, OrganiserCreate(email="mail@example.org", name="Mail", password="x" * 12)
        )
    for number in range(events):
        with database.write() as session:
            event = event_service.create_event(
                session,
                organiser,
                EventCreate(name=f"Event {number}", starts_on=date.today() - timedelta(days=30)),
            )
            mine = [f"person{n}.event{number}@example.org" for n in range(per_event)]
            pledged_postcards(session, event, mine, remind_on=date.today() + timedelta(days=365))
            addresses += mine
    return addresses


def make_due(database: Database) -> set[str]:
    """Every message due now and never tried; their Message-IDs' left parts."""
    with database.write() as session:
        session.execute(
            update(Message).values(
                state=MessageState.waiting,
                due_at=utcnow(),
                attempts=0,
                claimed_until=None,
                sent_at=None,
                last_error="",
            )
        )
        return set(session.exec(select(Message.message_id)))


def left_to_send(database: Database) -> int:
    with database.read() as session:
        return session.exec(
            select(func.count()).where(
                col(Message.state).in_([MessageState.waiting, MessageState.sending])
            )
        ).one()


def separate_senders(
    url: str, mail: dict[str, str], args: argparse.Namespace
) -> list[subprocess.Popen[bytes]]:
    """`--senders` processes of `nice -n 10 openspace send-due` (the server has no mail server
    set, so its own senders only plan): the operating system gives sign-ups the processor
    first."""
    environment = {
        **os.environ,
        **mail,
        "OPENSPACE_DATABASE_URL": url,
        "OPENSPACE_SECRET_KEY": SECRET,
        "OPENSPACE_LOG_LEVEL": "warning",
    }
    command = ["nice", "-n", "10", sys.executable, "-m", "app.cli", "send-due"]
    return [
        subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL)
        for _ in range(args.senders or args.workers)
    ]


async def watch(
    database: Database, record: Path, skip: int, expected: int, timeout: float, done: asyncio.Event
) -> float:
    """Wait until the server has received `expected` messages and the outbox has nothing left
    to send (or `timeout` seconds); the seconds until the last message was received."""
    started = last = time.perf_counter()
    count = 0
    while time.perf_counter() - started < timeout:
        lines = len(record.read_bytes().splitlines()) - skip
        if lines > count:
            count, last = lines, time.perf_counter()
        if count >= expected and not await asyncio.to_thread(left_to_send, database):
            break
        await asyncio.sleep(0.2)
    done.set()
    return last - started


async def until_set(
    done: asyncio.Event,
    clients: list[httpx.AsyncClient],
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    rate: float,
) -> tuple[list[float], Counter[int]]:
    """The open loop at `rate`, a second at a time, until `done` is set."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    while not done.is_set():
        _rate, more, answers = await open_loop(clients, request, rate, 1)
        latencies += more
        statuses += answers
    return latencies, statuses


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


async def main_async(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    url, database, code, people, _topics = prepared(args.database_url, max(500, args.clients))
    big = big_sessions(database)
    mail_events(database, args.events, args.messages)
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"set-up: {args.messages} messages in {time.perf_counter() - started:.0f} s", flush=True)
    record = Path(tempfile.mkdtemp(prefix="openspace-bench-mail-")) / "received.tsv"
    record.touch()
    sink, port = start_sink(record)
    mail = {
        "OPENSPACE_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "OPENSPACE_MAIL_FROM": "OpenSpace <outbox@bench.example>",
        "OPENSPACE_MAIL_EVERY_SECONDS": "1",
    }
    if args.sender == "in-process":
        os.environ.update(mail)  # the server's own senders send
    signer = LinkSigner(SECRET)
    try:
        served = start_server(url, workers=args.workers)
    except BaseException:
        sink.terminate()
        raise
    runs = []
    failed = False
    try:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2)
        clients = [
            httpx.AsyncClient(base_url=served.base, timeout=120, limits=limits, verify=TLS)
            for _ in range(args.clients)
        ]
        await asyncio.gather(
            *(
                continue_as(c, code, signer.sign("device", pid, 1))
                for c, pid in zip(clients, people, strict=False)
            )
        )

        async def toggle(client: httpx.AsyncClient, n: int) -> httpx.Response:
            action = "sign-up" if n % 2 == 0 else "leave"
            return await client.post(
                f"/e/{code}/topics/{big[n // 2 % len(big)]}/{action}",
                data={"csrf_token": client.cookies["openspace_csrf"]},
            )

        await open_loop(clients, toggle, args.rate, 2)  # warm up
        for run in range(1, args.runs + 1):
            _rate, without, without_st = await open_loop(clients, toggle, args.rate, args.seconds)
            skip = len(record.read_bytes().splitlines())
            expected = make_due(database)
            senders = [] if args.sender == "in-process" else separate_senders(url, mail, args)
            drained = asyncio.Event()
            took, (during, during_st) = await asyncio.gather(
                watch(database, record, skip, len(expected), args.timeout, drained),
                until_set(drained, clients, toggle, args.rate),
            )
            for sender in senders:
                sender.terminate()  # done by now, unless the drain ran out of time
                sender.wait(timeout=60)
            await asyncio.sleep(2)  # anything sent twice late still arrives
            received = [
                entry.split("\t")[0].strip("<>").partition("@")[0]
                for entry in record.read_text().splitlines()[skip:]
            ]
            copies = Counter(received)
            duplicates = sum(n - 1 for n in copies.values())
            missing = len(expected - copies.keys())
            unknown = len(copies.keys() - expected)
            p_without = percentiles_p99(without)
            p_during = percentiles_p99(during)
            runs.append(
                {
                    "rate": len(received) / took,
                    "duplicates": duplicates,
                    "missing": missing,
                    "ratio": p_during / p_without,
                    "without": without,
                    "during": during,
                    "took": took,
                }
            )
            bad_status = (without_st.keys() | during_st.keys()) - {303}
            failed |= bool(duplicates or missing or unknown or bad_status)
            print(
                f"run {run}: {len(received)} received in {took:.1f} s = "
                f"{len(received) / took:.0f} messages/s; duplicates {duplicates}, missing "
                f"{missing}, unknown {unknown}; sign-up p99 without {p_without:.1f} ms, during "
                f"{p_during:.1f} ms, ratio {p_during / p_without:.2f}; sign-up answers "
                f"{dict(sorted((without_st + during_st).items()))}; load: {load()}",
                flush=True,
            )
        for client in clients:
            await client.aclose()
    finally:
        served.stop()
        sink.terminate()
        sink.wait(timeout=10)
    bare = await bare_baseline(args.workers, args.clients, rate=args.rate, seconds=args.seconds)
    middle = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]
    who = (
        "the workers' own"
        if args.sender == "in-process"
        else f"{args.senders or args.workers} separate `nice -n 10 openspace send-due`"
    )
    rates = ", ".join(f"{r['rate']:.0f}" for r in runs)
    ratios = ", ".join(f"{r['ratio']:.2f}" for r in runs)
    print(
        f"mail drain on {kind}, {args.workers} worker(s), senders: {who}, {args.messages} "
        f"messages across {args.events} events, {args.clients} people signing up at "
        f"{args.rate:.0f}/s, {args.runs} runs, {time.strftime('%Y-%m-%d')}"
    )
    print(f"  load (the machine is shared: other work runs beside this): {load()}")
    print(f"  messages/s: median {statistics.median(r['rate'] for r in runs):.0f} (runs: {rates})")
    print(
        f"  duplicates at the server: {sum(r['duplicates'] for r in runs)}, missing: "
        f"{sum(r['missing'] for r in runs)} (all runs)"
    )
    print(
        f"  sign-up p99 during the drain ÷ without: median "
        f"{statistics.median(r['ratio'] for r in runs):.2f} (runs: {ratios}; target ≤ 1.2)"
    )
    print(line("sign-up/leave without (median run)", args.rate, middle["without"], Counter()))
    print(line("sign-up/leave during (median run)", args.rate, middle["during"], Counter()))
    print(bare.line())
    print(bare.ratio("sign-up/leave without (median run)", args.rate, middle["without"]))
    print(bare.ratio("sign-up/leave during (median run)", args.rate, middle["during"]))
    return 1 if failed else 0


def percentiles_p99(samples: list[float]) -> float:
    return statistics.quantiles(sorted(samples), n=100)[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL (emptied); SQLite if not given"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--sender",
        choices=["in-process", "separate"],
        default="in-process",
        help="who sends: the server's own senders (as shipped), or separate niced processes",
    )
    parser.add_argument("--senders", type=int, help="separate: how many (default: --workers)")
    parser.add_argument("--timeout", type=float, default=900, help="longest a drain may take")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sink-record", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink, args.sink_record)
        return
    raise SystemExit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
