"""What the benchmarks share: a real server on a free port, a fresh database, percentiles."""

import asyncio
import os
import re
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
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

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
    )
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
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise SystemExit("the server did not start:\n" + "".join(output))
        time.sleep(0.1)
    return Served(base, port, process, output)


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


async def open_loop(
    clients: list[httpx.AsyncClient],
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    rate: float,
    seconds: float,
) -> tuple[float, list[float], Counter[int]]:
    """Requests sent at a fixed rate whatever the answers do (as people arrive); returns the
    rate achieved, latencies and statuses."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    tasks = []

    async def one(client: httpx.AsyncClient, n: int) -> None:
        started = time.perf_counter()
        try:
            response = await request(client, n)
            statuses[response.status_code] += 1
        except httpx.HTTPError:
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
