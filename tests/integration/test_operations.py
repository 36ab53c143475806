"""What operators rely on: health and readiness probes, request ids and structured logs."""

import json
import logging
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.web.kit.middleware import JsonLogFormatter


def test_health_and_readiness(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        deadline = time.monotonic() + 10  # PostgreSQL: the listening connection comes up
        ready = client.get("/readyz")
        while ready.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
            ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_not_ready_without_its_database(settings: Settings, tmp_path: Path) -> None:
    gone = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}"})  # a folder
    with TestClient(create_app(gone)) as client:
        assert client.get("/healthz").status_code == 200  # alive, but not ready
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "not ready"
        assert any("database" in problem for problem in answer.json()["problems"])


def test_every_answer_carries_a_request_id_and_is_logged_as_json(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="openspace.request"):
        mine = client.get("/", headers={"X-Request-ID": "proxy-42.a_b"})
        theirs = client.get("/no-such-page", headers={"X-Request-ID": "bad id\nwith lines"})
    assert mine.headers["x-request-id"] == "proxy-42.a_b"
    made = theirs.headers["x-request-id"]
    assert made != "bad id\nwith lines" and len(made) == 16
    records = [r for r in caplog.records if r.name == "openspace.request"]
    lines = [json.loads(JsonLogFormatter().format(r)) for r in records]
    by_path = {line["path"]: line for line in lines}
    assert by_path["/"]["status"] == 200 and by_path["/"]["method"] == "GET"
    assert by_path["/"]["request_id"] == "proxy-42.a_b"
    assert by_path["/no-such-page"]["request_id"] == made
    assert by_path["/no-such-page"]["status"] == 404
    assert isinstance(by_path["/"]["ms"], float)
