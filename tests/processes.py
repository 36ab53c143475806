"""The app served by uvicorn in a process of its own (several workers, or one to kill)."""

import contextlib
import os
import re
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


def start(
    settings: Settings,
    port: int | None = None,
    log: Path | None = None,
    extra: dict[str, str] | None = None,
) -> Server:
    """Start serving the test database and wait until it answers (what the server prints
    goes to `log`, if given; `extra` adds settings, OPENSPACE_SMTP_URL say)."""
    if port is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OPENSPACE_DATABASE_URL": settings.database_url,
        "OPENSPACE_DATABASE_DIRECT_URL": settings.database_direct_url,
        "OPENSPACE_SECRET_KEY": SECRET,
        "OPENSPACE_ENVIRONMENT": "test",
        "OPENSPACE_BASE_URL": base,
        "OPENSPACE_DB_POOL_SIZE": "2",
        "OPENSPACE_RATE_LIMIT_SCALE": "100",
        **(extra or {}),
    }
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90  # a shared machine may take half a minute
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz").status_code == 200:
                return Server(base, process)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the server did not start")
        time.sleep(0.1)


@contextmanager
def serving(settings: Settings, extra: dict[str, str] | None = None) -> Iterator[Server]:
    server = start(settings, extra=extra)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.terminate()
            server.process.wait(timeout=15)


def join_over_http(base: str, code: str, name: str) -> int | None:
    """One phone joins: the status of its join (303 when acknowledged), or None when the
    server went away under it."""
    try:
        with httpx.Client(base_url=base, timeout=10) as phone:
            form = phone.get(f"/e/{code}/join")
            key = re.search(r'name="join_key" value="([^"]+)"', form.text)
            answer = phone.post(
                f"/e/{code}/join",
                data={
                    "display_name": name,
                    "csrf_token": phone.cookies.get("openspace_csrf", ""),
                    "join_key": key.group(1) if key else "",
                },
            )
            return answer.status_code
    except httpx.HTTPError:
        return None


def command(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """Start `openspace ARGS` on the test database, with the settings' mail server; what it
    prints is piped."""
    environment = {
        **os.environ,
        "OPENSPACE_DATABASE_URL": settings.database_url,
        "OPENSPACE_SECRET_KEY": settings.secret_key,
        "OPENSPACE_BASE_URL": settings.base_url,
        "OPENSPACE_SMTP_URL": settings.smtp_url,
        "OPENSPACE_MAIL_FROM": settings.mail_from,
    }
    environment.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=Path(__file__).resolve().parents[1],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
