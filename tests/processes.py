"""The app served by uvicorn in a process of its own (several workers, or one to kill)."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.config import Settings

SECRET = "test-secret-key-that-is-long-enough-for-anything"


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]


def start(settings: Settings, port: int | None = None) -> Server:
    """Start serving the test database and wait until it answers."""
    if port is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OPENSPACE_DATABASE_URL": settings.database_url,
        "OPENSPACE_SECRET_KEY": SECRET,
        "OPENSPACE_ENVIRONMENT": "test",
        "OPENSPACE_BASE_URL": base,
        "OPENSPACE_DB_POOL_SIZE": "2",
        "OPENSPACE_RATE_LIMIT_SCALE": "100",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz").status_code == 200:
                return Server(base, process)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the server did not start")
        time.sleep(0.1)


@contextmanager
def serving(settings: Settings) -> Iterator[Server]:
    server = start(settings)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.terminate()
            server.process.wait(timeout=15)
