"""What the benchmarks share: a real server on a free port, a fresh database, percentiles."""

import asyncio
import json
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import urlencode

import httpx
from sqlalchemy import create_engine, text

if TYPE_CHECKING:
    from sqlmodel import Session as SqlSession

    from app.models import Event, Slot, Space

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# One SSL context for every simulated phone: building one costs ~30 ms of the load generator.
TLS = ssl.create_default_context()
SECRET = "bench-secret-key-long-enough-for-production-use-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database(url: str) -> str:
    """An empty database: a new SQLite file, or PostgreSQL's public schema dropped and remade."""
    if not url:
        return f"sqlite:///{tempfile.mkdtemp(prefix='openspace-bench-')}/bench.db"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def environment(database_url: str, port: int, workers: int = 1) -> dict[str, str]:
    # PostgreSQL takes 100 connections by default: the workers share them.
    per_worker = max(4, 80 // workers)
    return {
        "OPENSPACE_DB_POOL_SIZE": str(per_worker // 3),
        "OPENSPACE_DB_POOL_OVERFLOW": str(per_worker - per_worker // 3),
        **os.environ,
        "OPENSPACE_DATABASE_URL": database_url,
        "OPENSPACE_BASE_URL": f"http://127.0.0.1:{port}",
        "OPENSPACE_SECRET_KEY": SECRET,
        # As the Dockerfile runs it (templates are not looked for on disk at every page).
        "OPENSPACE_ENVIRONMENT": "production",
        "OPENSPACE_LOG_LEVEL": "warning",
        # Hundreds of simulated phones come from this one address, each faster than a
        # person: the limits are raised (not removed), so their cost is still measured.
        "OPENSPACE_RATE_LIMIT_SCALE": "1000",
    }


@dataclass
class Served:
    """A running `openspace serve`: its address, process and what it printed."""

    base: str
    port: int
    process: subprocess.Popen[bytes]
    output: list[str]

    def _pids(self) -> list[int]:
        """The server's process and its worker processes."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        return pids

    def rss_kib(self) -> int:
        """Resident memory of the server (and its worker processes), in KiB."""
        total = 0
        for pid in self._pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def cpu_seconds(self) -> float:
        """Processor time the server (and its worker processes) has used so far: user and
        system. Less noisy than throughput on a shared machine: it counts the work, not the
        waiting."""
        ticks = 0
        for pid in self._pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_server(
    database_url: str, workers: int = 1, demo: bool = False, port: int | None = None
) -> Served:
    """Start `openspace serve` (on a free port unless given) and wait until it answers."""
    port = port or free_port()
    args = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    args += ["--workers", str(workers)] + (["--demo"] if demo else [])
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        env=environment(database_url, port, workers),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a group of its own, so a failed start is stopped whole
    )
    return _answering(process, port, "/healthz")


def _answering(process: subprocess.Popen[bytes], port: int, path: str) -> Served:
    """Collect what the server prints and wait until `path` answers 200."""
    output: list[str] = []

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.decode(errors="replace"))

    threading.Thread(target=drain, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base}{path}").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            # Its workers too: a worker left behind would go on serving (and sending mail).
            os.killpg(process.pid, signal.SIGKILL)
            raise SystemExit("the server did not start:\n" + "".join(output))
        time.sleep(0.1)
    return Served(base, port, process, output)


def start_bare(workers: int = 1) -> Served:
    """The baseline: bench/bare_app.py (a bare FastAPI app) on a free loopback port, served
    as `openspace serve` serves the app (app/cli.py `serve`): through `python -m app.serving`
    (uvicorn with the same HTTP protocol and header deadline), the same workers, log level and
    logging, no access log, the same keep-alive and shutdown timeouts. GET /sync and /async
    answer a tiny JSON; POST /form reads a one-field form."""
    from app.cli import log_config
    from app.config import Settings

    port = free_port()
    env = environment("", port, workers)
    fields = Settings.model_fields
    options = {
        "app": "bench.bare_app:app",
        "host": "127.0.0.1",
        "port": port,
        "workers": workers,
        "proxy_headers": False,  # as the app's server with no trusted proxies (the default)
        "forwarded_allow_ips": [],
        "log_level": env["OPENSPACE_LOG_LEVEL"],
        "log_config": log_config(env["OPENSPACE_LOG_LEVEL"]),
        "access_log": False,
        "timeout_keep_alive": fields["keep_alive_seconds"].default,
        "timeout_graceful_shutdown": 3,
        "timeout_worker_healthcheck": 30,
    }
    arguments = {"uvicorn": options, "header_timeout": fields["header_timeout_seconds"].default}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.serving", json.dumps(arguments)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a group of its own, so a failed start is stopped whole
    )
    return _answering(process, port, "/sync")


@dataclass
class Bare:
    """The bare FastAPI app's figures for one kind of request, measured in the run."""

    label: str
    rate: float
    latencies: list[float]
    statuses: Counter[int]
    cpu_seconds: float  # server processor time per request

    def line(self) -> str:
        p = percentiles(self.latencies)
        return (
            f"  baseline: bare FastAPI {self.label}  {self.rate:.0f}/s  p50 {p['p50']:6.1f}"
            f"  p99 {p['p99']:7.1f} ms  {1000 * self.cpu_seconds:.2f} ms processor time"
            f"  {dict(sorted(self.statuses.items()))}"
        )

    def ratio(self, name: str, rate: float, latencies: list[float]) -> str:
        """Ours ÷ the bare app's: throughput, p50, p99."""
        mine, bare = percentiles(latencies), percentiles(self.latencies)
        return (
            f"  {name} ÷ bare {self.label}: throughput {rate / self.rate:.2f}, "
            f"p50 {mine['p50'] / bare['p50']:.1f}×, p99 {mine['p99'] / bare['p99']:.1f}×"
        )


async def bare_baseline(
    workers: int,
    clients: int,
    *,
    path: str = "/form",
    rate: float | None = None,
    seconds: float = 10,
    per_client: int = 10,
) -> Bare:
    """Start the bare app with `openspace serve`'s options and the same number of workers,
    send it the same number of clients' requests — an open loop at `rate`/s for `seconds`, or
    each client `per_client` in turn — measure, stop it. `/form` posts a one-field form as a
    sign-up does; `/sync`, `/async` and `/page` (a tiny Jinja page) are GETs."""
    served = start_bare(workers=workers)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2)
    phones = [
        httpx.AsyncClient(base_url=served.base, timeout=120, limits=limits) for _ in range(clients)
    ]

    async def ask(client: httpx.AsyncClient, n: int) -> httpx.Response:
        if path == "/form":
            return await client.post(path, data={"csrf_token": "x" * 43})
        return await client.get(path)

    try:
        await asyncio.gather(*(ask(client, 0) for client in phones))  # connect
        before = served.cpu_seconds()
        if rate is None:
            achieved, latencies, statuses = await closed_loop(phones, ask, per_client)
        else:
            achieved, latencies, statuses = await open_loop(phones, ask, rate, seconds)
        cpu = (served.cpu_seconds() - before) / max(1, statuses.total())
    finally:
        for client in phones:
            await client.aclose()
        served.stop()
    kind = "form POST" if path == "/form" else f"GET {path}"
    loop = "closed loop" if rate is None else f"at {rate:.0f}/s"
    return Bare(f"{kind}, {loop}", achieved, latencies, statuses, cpu)


@contextmanager
def server(
    database_url: str, workers: int = 1, demo: bool = False
) -> Iterator[tuple[str, list[str]]]:
    """`openspace serve` on a free port; yields its address and the lines it printed."""
    served = start_server(database_url, workers, demo)
    try:
        yield served.base, served.output
    finally:
        served.stop()


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max, in milliseconds, of samples in seconds."""
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    return {
        "p50": statistics.median(ordered) * 1000,
        "p95": q[94] * 1000,
        "p99": q[98] * 1000,
        "max": ordered[-1] * 1000,
    }


async def closed_loop(
    clients: list[httpx.AsyncClient],
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    per_client: int,
) -> tuple[float, list[float], Counter[int]]:
    """Each client sends its requests one after another; returns rate, latencies, statuses."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def run(client: httpx.AsyncClient) -> None:
        for n in range(per_client):
            started = time.perf_counter()
            response = await request(client, n)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1

    started = time.perf_counter()
    await asyncio.gather(*(run(client) for client in clients))
    return len(latencies) / (time.perf_counter() - started), latencies, statuses


class Answered(Protocol):
    @property
    def status_code(self) -> int: ...


C = TypeVar("C")


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]


@dataclass
class RawPhone:
    """One phone's keep-alive connection, in plain HTTP/1.1: it reads the status, the headers
    and the body's length, and leaves the body as it came (compressed). httpx spent as much
    processor time on a wall page as the server did, on the same two cores, so the server
    had half the machine; this costs the load generator a tenth of that."""

    host: str
    port: int
    cookie: str
    _streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = field(
        default=None, repr=False
    )
    # One request at a time on the one connection, as httpx with one connection per phone.
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return await self._request("GET", path, headers or {})

    async def post(self, path: str, data: dict[str, str]) -> Answer:
        """A form sent as a browser sends it without JavaScript."""
        body = urlencode(data)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self._request("POST", path, headers, body)

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: str = ""
    ) -> Answer:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nCookie: {self.cookie}\r\n"
        head += "Accept-Encoding: gzip\r\n"
        if method != "GET":
            head += f"Content-Length: {len(body.encode())}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (head + "\r\n" + body).encode()
        async with self._turn:
            return await self._send(request)

    async def _send(self, request: bytes) -> Answer:
        for attempt in (1, 2):  # the server may have closed a connection left idle
            reused = self._streams is not None
            if self._streams is None:
                self._streams = await asyncio.open_connection(self.host, self.port)
            try:
                return await self._exchange(request)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.close()
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, request: bytes) -> Answer:
        assert self._streams is not None
        reader, writer = self._streams
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ValueError("connection closed")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while size := int((await reader.readline()).strip() or b"0", 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        if headers.get("connection") == "close":
            self.close()
        return Answer(status, headers)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def open_loop(
    clients: list[C],
    request: Callable[[C, int], Awaitable[Answered]],
    rate: float,
    seconds: float,
) -> tuple[float, list[float], Counter[int]]:
    """Requests sent at a fixed rate whatever the answers do (as people arrive); returns the
    rate achieved, latencies and statuses."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    tasks = []

    async def one(client: C, n: int) -> None:
        started = time.perf_counter()
        try:
            response = await request(client, n)
            statuses[response.status_code] += 1
        except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError):
            statuses[0] += 1
        latencies.append(time.perf_counter() - started)

    total = int(rate * seconds)
    began = time.perf_counter()
    for n in range(total):
        delay = began + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(clients[n % len(clients)], n)))
    await asyncio.gather(*tasks)
    return total / (time.perf_counter() - began), latencies, statuses


def demo_join_code(output: list[str]) -> str:
    """The join code `openspace serve --demo` prints, once it has printed it."""
    for _ in range(100):
        found = re.search(r"/j/([A-Z0-9]{6,8})\b", "".join(output))
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise SystemExit("could not read the demo join code:\n" + "".join(output))


async def continue_as(client: httpx.AsyncClient, code: str, token: str) -> None:
    """Open a participant's personal link and press its button, as a person does: the link
    alone only asks (since 2026-12-07; before, a GET signed the browser in)."""
    path = f"/e/{code}/continue/{token}"
    await client.get(path)
    answer = await client.post(path, data={"csrf_token": client.cookies["openspace_csrf"]})
    if answer.status_code != 303:
        raise SystemExit(f"the personal link did not sign in: {answer.status_code}")


def rooms_and_slots(
    session: "SqlSession", event: "Event", capacities: list[int], slots: int
) -> tuple[list["Space"], list["Slot"]]:
    """An event's rooms, one per capacity, and `slots` one-hour slots two hours apart from
    10:00 on its day, added as an organiser adds them."""
    from datetime import datetime

    from app.models.event import SlotCreate, SpaceCreate
    from app.services import events as event_service

    day = event.starts_on
    rooms = [
        event_service.add_space(session, event, SpaceCreate(name=f"Room {n}", capacity=c))
        for n, c in enumerate(capacities)
    ]
    times = [
        SlotCreate(
            starts_at=datetime(day.year, day.month, day.day, 10 + 2 * n),
            ends_at=datetime(day.year, day.month, day.day, 11 + 2 * n),
        )
        for n in range(slots)
    ]
    return rooms, [event_service.add_slot(session, event, when) for when in times]


async def signed_in_phones(base: str, code: str, people: list[int]) -> list[httpx.AsyncClient]:
    """One phone per person in `people`, each on one keep-alive connection, continuing as
    that person through their personal link."""
    from app.security import LinkSigner

    signer = LinkSigner(SECRET)
    # Idle connections are dropped before the server's 5 s keep-alive ends, so a request
    # never goes out on a connection the server is closing.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2)
    phones = [
        httpx.AsyncClient(base_url=base, timeout=120, limits=limits, verify=TLS) for _ in people
    ]
    await asyncio.gather(
        *(
            continue_as(p, code, signer.sign("device", pid, 1))
            for p, pid in zip(phones, people, strict=True)
        )
    )
    return phones
