"""Live updates under 2,000 open pages: fan-out time, memory, sign-ups beside them, restart.

One event in a fresh database (the overbooking set-up plus one 10,000-seat session per slot),
`openspace serve` with --workers, and --listeners Server-Sent Event streams held open the way
a phone's EventSource does (raw sockets: httpx would cost the load generator far more than
the server). Prints:

1. server memory per open stream (resident memory before and after they connect);
2. fan-out: --changes sign-ups one after another; for each, the time from sending it until
   each stream received the update (p50/p99/max over every stream and change), and how many
   streams got every change;
3. sign-ups sent at --rate/s for --seconds, first with no stream open, then with all of them
   open: rate achieved, p50/p99 (same run, same server), and the same rate of one-field form
   POSTs from as many clients to a bare FastAPI app (bench/bare_app.py) served with the same
   options and workers — the baseline — with ratios to it;
4. restart: the server is stopped and started again on the same port while a change is made;
   every stream reconnects after the delay the server gave it and must end up at the current
   version; prints how long until all were reconnected and current, from the stop.
"""

import argparse
import asyncio
import contextlib
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from common import (
    SECRET,
    TLS,
    Served,
    bare_baseline,
    continue_as,
    open_loop,
    percentiles,
    start_server,
)
from overbook import prepared
from signup_load import big_sessions
from sqlmodel import select

from app.db import Database
from app.models import Event
from app.security import LinkSigner
from app.services.agenda import agenda_changed


@dataclass
class Listener:
    """One open page: an SSE stream that reconnects as EventSource does."""

    host: str
    port: int
    path: str
    cookie: str
    last_id: str = ""
    retry_ms: int = 3000
    connected: bool = False
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (time, event id)
    connects: int = 0
    stopped: bool = False

    async def run(self) -> None:
        while not self.stopped:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
                await self._once()
            self.connected = False
            if not self.stopped:
                await asyncio.sleep(self.retry_ms / 1000)

    async def _once(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            headers = f"Cookie: {self.cookie}\r\nAccept: text/event-stream\r\n"
            if self.last_id:
                headers += f"Last-Event-ID: {self.last_id}\r\n"
            writer.write(f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n{headers}\r\n".encode())
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise ValueError(status)
            while (await reader.readline()) not in (b"\r\n", b""):
                pass  # headers
            self.connected = True
            self.connects += 1
            name, event_id = "", ""
            while True:
                size_line = await reader.readline()  # chunked transfer encoding
                if not size_line:
                    return
                size = int(size_line.strip() or b"0", 16)
                if size == 0:
                    return
                chunk = await reader.readexactly(size + 2)
                for line in chunk[:-2].decode().split("\n"):
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("id: "):
                        event_id = line[4:]
                    elif line.startswith("retry: "):
                        self.retry_ms = int(line[7:])
                    elif line == "":
                        if event_id:
                            self.last_id = event_id
                            if name != "ping":
                                self.arrivals.append((time.perf_counter(), event_id))
                        name, event_id = "", ""
        finally:
            writer.close()


def version(database: Database) -> int:
    with database.read() as session:
        return session.exec(select(Event.agenda_version)).one()


async def cookies_for(base: str, code: str, people: list[int]) -> list[str]:
    """Each participant's browser cookies, from their 'continue on this device' link."""
    signer = LinkSigner(SECRET)
    limits = asyncio.Semaphore(40)

    async def one(pid: int) -> str:
        async with limits, httpx.AsyncClient(base_url=base, verify=TLS) as client:
            await continue_as(client, code, signer.sign("device", pid, 1))
            return "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    return await asyncio.gather(*(one(pid) for pid in people))


async def wait_until(check: object, seconds: float) -> bool:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def main_async(args: argparse.Namespace) -> None:
    url, database, code, people, _topics = prepared(args.database_url, args.people)
    big = big_sessions(database)
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    served: Served = start_server(url, workers=args.workers)
    parts = urlsplit(served.base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    print(
        f"live fan-out on {kind}, {args.workers} worker(s), {args.listeners} streams, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    cookies = await cookies_for(served.base, code, people)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2)
    clients = [
        httpx.AsyncClient(base_url=served.base, timeout=120, limits=limits, verify=TLS)
        for _ in range(args.clients)
    ]
    for client, cookie in zip(clients, cookies, strict=False):
        for pair in cookie.split("; "):
            name, _, value = pair.partition("=")
            client.cookies.set(name, value)

    async def toggle(client: httpx.AsyncClient, n: int) -> httpx.Response:
        topic = big[n // 2 % len(big)]
        action = "sign-up" if n % 2 == 0 else "leave"
        return await client.post(
            f"/e/{code}/topics/{topic}/{action}",
            data={"csrf_token": client.cookies["openspace_csrf"]},
        )

    for client in clients[:20]:
        await toggle(client, 0)
        await toggle(client, 1)

    # 3a. sign-ups with nobody listening
    quiet = await open_loop(clients, toggle, args.rate, args.seconds)

    # 1. memory per stream
    await asyncio.sleep(1)
    before = served.rss_kib()
    listeners = [
        Listener(host, port, f"/e/{code}/live", cookies[n % len(cookies)])
        for n in range(args.listeners)
    ]
    tasks = [asyncio.create_task(listener.run()) for listener in listeners]
    all_up = await wait_until(lambda: all(ls.arrivals for ls in listeners), 120)
    await asyncio.sleep(2)
    after = served.rss_kib()
    per_stream = (after - before) / len(listeners)
    print(
        f"  {sum(ls.connected for ls in listeners)} of {len(listeners)} streams open"
        f"{'' if all_up else ' (NOT ALL)'}; server memory {before / 1024:.0f} → "
        f"{after / 1024:.0f} MiB: {per_stream:.1f} KiB per stream"
    )

    # 2. fan-out of single changes, by someone who sat nowhere before
    changer = httpx.AsyncClient(base_url=served.base, timeout=60, verify=TLS)
    for pair in cookies[len(clients)].split("; "):
        name, _, value = pair.partition("=")
        changer.cookies.set(name, value)
    latencies: list[float] = []
    reached_all = 0
    for n in range(args.changes):
        for listener in listeners:
            listener.arrivals.clear()
        sent = time.perf_counter()
        await toggle(changer, n)
        target = str(version(database))
        await wait_until(
            lambda t=target: all(any(i == t for _, i in ls.arrivals) for ls in listeners), 10
        )
        got = [next((at for at, i in ls.arrivals if i == target), None) for ls in listeners]
        reached_all += all(at is not None for at in got)
        latencies += [at - sent for at in got if at is not None]
        await asyncio.sleep(0.5)
    p = percentiles(latencies)
    print(
        f"  a change reaches every stream: p50 {p['p50']:.0f} ms, p99 {p['p99']:.0f} ms, "
        f"max {p['max']:.0f} ms; {reached_all} of {args.changes} changes reached all "
        f"{len(listeners)} streams"
    )

    # 3b. sign-ups with every stream open
    loud = await open_loop(clients, toggle, args.rate, args.seconds)
    for label, (rate, lat, statuses) in (("no streams", quiet), ("streams open", loud)):
        q = percentiles(lat)
        print(
            f"  sign-ups at {args.rate:.0f}/s, {label:<12}: {rate:5.0f}/s  p50 {q['p50']:6.1f}  "
            f"p99 {q['p99']:7.1f} ms  {dict(sorted(Counter(statuses).items()))}"
        )
    print(
        f"  sign-up p99 with streams / without: "
        f"{percentiles(loud[1])['p99'] / max(percentiles(quiet[1])['p99'], 0.001):.1f}×"
    )
    # The baseline: a bare FastAPI app with the same options and workers, the same clients'
    # count and rate of one-field form POSTs (no streams: it has none to send).
    bare = await bare_baseline(args.workers, len(clients), rate=args.rate, seconds=args.seconds)
    print(bare.line())
    print(bare.ratio("sign-ups, no streams", quiet[0], quiet[1]))
    print(bare.ratio("sign-ups, streams open", loud[0], loud[1]))

    # 4. restart under every stream
    if args.restart:
        await asyncio.sleep(1)
        stopped = time.perf_counter()
        await asyncio.to_thread(served.stop)
        with database.write() as session:  # a change while the server is away
            agenda_changed(session, session.exec(select(Event.id)).one())
        current = str(version(database))
        served = await asyncio.to_thread(start_server, url, args.workers, False, port)
        up = time.perf_counter() - stopped
        ok = await wait_until(
            lambda: all(ls.connected and ls.last_id == current for ls in listeners), 30
        )
        took = time.perf_counter() - stopped
        behind = sum(not (ls.connected and ls.last_id == current) for ls in listeners)
        print(
            f"  restart: server back after {up:.1f} s; all {len(listeners)} streams reconnected "
            f"and current {took:.1f} s after the stop"
            + ("" if ok else f" — {behind} NOT current after 30 s")
        )
        reconnect_delays = sorted(ls.retry_ms for ls in listeners)
        print(
            f"  reconnect delays given: {reconnect_delays[0]}–{reconnect_delays[-1]} ms, "
            f"median {statistics.median(reconnect_delays):.0f} ms"
        )
    for listener in listeners:
        listener.stopped = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in [*clients, changer]:
        await client.aclose()
    served.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listeners", type=int, default=2000)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-restart", dest="restart", action="store_false")
    parser.add_argument("--database-url", default="")
    random.seed(1)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
