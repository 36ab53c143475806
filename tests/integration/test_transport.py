"""What a request may send and how the server holds up against clients that misbehave: the
body limit, header deadlines, the JSON API's refusals, error pages instead of dropped
connections, and which proxies' forwarded addresses are believed."""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.services import accounts
from app.web.kit.routing import Router
from tests.conftest import csrf_token
from tests.factories import Factory
from tests.processes import SECRET

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def in_thread(app: FastAPI) -> Iterator[int]:
    """The app served by a real uvicorn in a thread of this process; yields its port."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def openspace_serve(settings: Settings, **environment: str) -> Iterator[str]:
    """`openspace serve` in a process of its own, as deployed; yields its address."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OPENSPACE_DATABASE_URL": settings.database_url,
        "OPENSPACE_SECRET_KEY": SECRET,
        "OPENSPACE_ENVIRONMENT": "test",
        "OPENSPACE_BASE_URL": base,
        "OPENSPACE_DB_POOL_SIZE": "2",
        "OPENSPACE_LOG_LEVEL": "warning",
        **{f"OPENSPACE_{name.upper()}": value for name, value in environment.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def _answer(port: int, request: bytes, timeout: float = 20) -> bytes:
    """What the server sends back to `request` before it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_body_over_the_limit_is_refused_before_it_is_read(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 1000}))
    with in_thread(app) as port:
        # Only the headers are sent: the answer comes without waiting for 50 MB.
        answer = _answer(
            port,
            b"POST /login HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 50000000\r\n\r\nemail=a",
        )
    head, _, page = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"connection: close" in head.lower()
    assert b"more than the server takes at once (1 KB at most)" in page


def test_chunked_body_over_the_limit_is_refused(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 10_000}))

    def form() -> Iterator[bytes]:
        yield b"csrf_token=x&email="
        for _ in range(100):
            yield b"a" * 1000

    with in_thread(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
        refused = browser.post(
            "/login",
            content=form(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert refused.status_code == 413
        assert "more than the server takes at once" in refused.text
        api = browser.post("/api/v1/events", content=(b"[1," * 5000 for _ in range(3)))
        assert api.status_code == 413
        assert "more than the server takes" in api.json()["detail"]


def test_form_within_the_limit_is_read(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    answer = client.post(
        "/login",
        data={
            "email": organiser.email,
            "password": "wrong password " + "x" * 100_000,
            "csrf_token": csrf_token(client),
        },
    )
    assert answer.status_code != 413


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_api_non_finite_number_is_refused_naming_the_field(
    client: TestClient, make: Factory, number: str
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    with make.database.write() as session:
        _row, secret = accounts.create_api_token(session, organiser, "script")
    auth = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    bodies = {
        f"/api/v1/events/{event.id}/spaces": ('{"name": "Hall", "capacity": %s}', "capacity"),
        f"/api/v1/events/{event.id}/slots": (
            '{"starts_at": %s, "ends_at": "2026-06-21T11:00:00"}',
            "starts_at",
        ),
        "/api/v1/events": ('{"name": %s, "starts_on": "2026-06-21"}', "name"),
    }
    for url, (body, field) in bodies.items():
        answer = client.post(url, content=body % number, headers=auth)
        assert answer.status_code == 422, answer.text
        assert [error["loc"] for error in answer.json()["detail"]] == [["body", field]]


def test_api_long_text_is_refused_naming_the_field(client: TestClient, make: Factory) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    with make.database.write() as session:
        _row, secret = accounts.create_api_token(session, organiser, "script")
    auth = {"Authorization": f"Bearer {secret}"}
    long = "x" * 10_000
    sent = [
        ("/api/v1/events", {"name": long, "starts_on": "2026-06-21"}, "name"),
        ("/api/v1/events", {"name": "A", "starts_on": "2026-06-21", "venue": long}, "venue"),
        (f"/api/v1/events/{event.id}/spaces", {"name": long, "capacity": 5}, "name"),
        (
            f"/api/v1/events/{event.id}/slots",
            {"starts_at": "2026-06-21T10:00", "ends_at": "2026-06-21T11:00", "title": long},
            "title",
        ),
    ]
    for url, body, field in sent:
        answer = client.post(url, json=body, headers=auth)
        assert answer.status_code == 422, answer.text
        (error,) = answer.json()["detail"]
        assert error["loc"] == ["body", field]
        assert long not in answer.text  # what was sent is not echoed back


def _failing_app(settings: Settings) -> FastAPI:
    """The real app with a few routes, for this test only, that fail in different ways."""
    app = create_app(settings)
    broken = Router(prefix="/broken")

    @broken.get("/plain")
    def plain() -> Response:
        raise LookupError("a bug in a plain route")

    @broken.get("/async")
    async def in_the_loop() -> Response:
        raise LookupError("a bug in a route on the event loop")

    @broken.post("/write")
    def write() -> Response:
        raise LookupError("a bug in a route that writes")

    @broken.get("/header")
    def header() -> Response:
        return Response("", headers={"X-Echo": "line\x01break"})

    app.include_router(broken)
    return app


def test_unhandled_error_answers_the_500_page_not_a_dropped_connection(
    settings: Settings,
) -> None:
    with in_thread(_failing_app(settings)) as port:
        base = f"http://127.0.0.1:{port}"
        for method, path in [
            ("GET", "/broken/plain"),
            ("GET", "/broken/async"),
            ("POST", "/broken/write"),
            ("GET", "/broken/header"),
        ]:
            for htmx in ({}, {"HX-Request": "true"}):
                with httpx.Client(base_url=base, headers={"Accept-Language": "en"}) as browser:
                    browser.get("/healthz")
                    answer = browser.request(method, path, headers=htmx)
                assert answer.status_code == 500, (path, answer.text)
                assert "Something went wrong on our side" in answer.text
        # An address with a control character, sent to log in by htmx (the address went
        # into a header as it was, and the connection was dropped).
        answer = _answer(
            port,
            b"GET /organiser/events/%01 HTTP/1.1\r\nHost: x\r\nHX-Request: true\r\n"
            b"Connection: close\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 204")
        assert b"hx-redirect: /login?next=/organiser/events/%01\r\n" in answer.lower()


def test_half_sent_headers_are_disconnected_within_the_timeout(settings: Settings) -> None:
    with openspace_serve(settings, header_timeout_seconds="2") as base:
        port = int(base.rsplit(":", 1)[1])
        clients = []
        for n in range(200):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " if n % 2 else b"GE")
            clients.append(sock)
        deadline = time.monotonic() + 30  # generous: the timeout is 2 s
        for sock in clients:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            assert sock.recv(1024) == b"", "a half-sent request was answered"
            sock.close()
        assert httpx.get(f"{base}/healthz").status_code == 200
        # A whole request still gets its answer however long the keep-alive lasted.
        answer = _answer(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200")


def test_endless_header_is_refused(settings: Settings) -> None:
    with openspace_serve(settings) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
            with contextlib.suppress(OSError):  # it may hang up while this still sends
                for _ in range(100):
                    sock.sendall(b"a" * 10_000)
            assert sock.recv(1024).startswith(b"HTTP/1.1 431")


def _joins_from(base: str, code: str, forwarded_for: list[str]) -> list[int]:
    """One join per forwarded address, each from a new browser: the statuses."""
    statuses = []
    for address in forwarded_for:
        with httpx.Client(base_url=base, headers={"X-Forwarded-For": address}) as phone:
            form = phone.get(f"/e/{code}/join")
            key = re.search(r'name="join_key" value="([^"]+)"', form.text)
            answer = phone.post(
                f"/e/{code}/join",
                data={
                    "display_name": f"Person from {address}",
                    "csrf_token": phone.cookies.get("openspace_csrf", ""),
                    "join_key": key.group(1) if key else "",
                },
            )
            statuses.append(answer.status_code)
    return statuses


# Joins: 600 a minute per address scaled to 3 (and 10 per person to 1).
JOINS = {"rate_limit_scale": "0.005"}
ADDRESSES = [f"203.0.113.{n}" for n in range(1, 6)]


def test_forwarded_for_from_localhost_is_ignored_by_default(
    settings: Settings, make: Factory
) -> None:
    event = make.event(make.organiser())
    with openspace_serve(settings, **JOINS) as base:
        statuses = _joins_from(base, event.join_code, ADDRESSES)
    assert statuses == [303, 303, 303, 429, 429]


def test_forwarded_for_is_believed_from_a_trusted_proxy(settings: Settings, make: Factory) -> None:
    event = make.event(make.organiser())
    with openspace_serve(settings, trusted_proxies="127.0.0.1", **JOINS) as base:
        statuses = _joins_from(base, event.join_code, ADDRESSES)
        again = _joins_from(base, event.join_code, [ADDRESSES[0]] * 3)
    assert statuses == [303] * 5
    assert again == [303, 303, 429]


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ValueError, match="not an address or network"):
        Settings(trusted_proxies="127.0.0.1, proxy.internal")
    assert Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8").proxies == ["127.0.0.1", "10.0.0.0/8"]


def test_log_formatter_loads_without_the_app() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, json, app.logs, app.serving; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('app'))))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(loaded.stdout) == ["app", "app.logs", "app.serving"]
