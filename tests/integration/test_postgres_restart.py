"""PostgreSQL restarted under load: the app carries on by itself, with no 500 while the
database is away, every acknowledged write kept, and the live stream current again.

The test starts a PostgreSQL server of its own (initdb in a temporary folder) so that it can
restart it without disturbing anything else; it runs in the PostgreSQL suite."""

import os
import threading
import time
from collections import Counter

import httpx
import pytest
from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.models import Participant
from tests.conftest import phone
from tests.postgres import one_open_session, own_postgres
from tests.processes import join_over_http, serving
from tests.sse import EventStream

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="restarts a PostgreSQL server: part of the PostgreSQL suite",
)


def test_postgresql_restarted_under_load_the_app_and_its_stream_recover(
    settings: Settings,
) -> None:
    with own_postgres() as (url, restart):
        own, event, topic = one_open_session(settings, url, "", "Restarted under load", "Garden", 9)
        database = Database(own)
        statuses: Counter[int | None] = Counter()
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()
        with serving(own) as server:
            base = server.base
            watcher = phone(base, event, "Watcher")

            def phones(worker: int) -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    name = f"Phone {worker}-{n}"
                    status = join_over_http(base, event.join_code, name)
                    with lock:
                        statuses[status] += 1
                        if status == 303:
                            acknowledged.append(name)

            with EventStream(
                f"{base}/e/{event.join_code}/live", cookies=dict(watcher.cookies)
            ) as stream:
                assert "0 of 9 seats taken" in stream.next("counts").data
                threads = [threading.Thread(target=phones, args=(w,)) for w in range(4)]
                for thread in threads:
                    thread.start()
                time.sleep(1)
                before = len(acknowledged)
                restart()
                restarted = time.monotonic()
                while httpx.get(f"{base}/readyz").status_code != 200:
                    assert time.monotonic() - restarted < 30, "the app did not recover"
                    time.sleep(0.2)
                recovered = time.monotonic() - restarted
                time.sleep(1)
                stop.set()
                for thread in threads:
                    thread.join()
                # The stream was told to resynchronise, and changes reach it again.
                stream.next("mine", timeout=20)
                signer = phone(base, event, "Signer")
                signed = signer.post(
                    f"/e/{event.join_code}/topics/{topic.id}/sign-up",
                    data={"csrf_token": signer.cookies["openspace_csrf"]},
                )
                assert signed.status_code == 303
                stream.next("counts", timeout=5, where=lambda m: "1 of 9 seats taken" in m.data)
        print(f"recovered {recovered:.1f} s after the restart; answers {dict(statuses)}")
        assert before > 0 and len(acknowledged) > before  # writes went on after the restart
        assert 500 not in statuses and set(statuses) <= {303, 503, None}
        with database.read() as session:
            names = set(session.exec(select(Participant.display_name)))
            assert set(acknowledged) <= names
            assert session.exec(
                select(col(Participant.id)).where(Participant.display_name == "Signer")
            ).all()
        database.dispose()
