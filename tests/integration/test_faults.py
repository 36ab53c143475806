"""Faults: the server killed outright in the middle of a burst of writes loses none that it
had acknowledged; it starts again by itself on the same data."""

import signal
import threading
import time

from sqlmodel import col, select

from app.config import Settings
from app.db import Database
from app.models import Participant
from tests.factories import Factory
from tests.processes import join_over_http, serving, start


def test_sigkill_during_a_burst_of_writes_loses_nothing_acknowledged(
    settings: Settings, database: Database, make: Factory
) -> None:
    event = make.event(name="Killed mid-burst")
    acknowledged: list[str] = []
    lock = threading.Lock()
    with serving(settings) as server:
        stop = threading.Event()

        def phones(worker: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                name = f"Burst {worker}-{n}"
                if join_over_http(server.base, event.join_code, name) == 303:
                    with lock:
                        acknowledged.append(name)

        threads = [threading.Thread(target=phones, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        while len(acknowledged) < 40:
            time.sleep(0.02)
        server.process.send_signal(signal.SIGKILL)  # no shutdown, no last commit
        server.process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join()
        port = int(server.base.rsplit(":", 1)[1])

    with database.read() as session:
        stored = set(
            session.exec(
                select(Participant.display_name).where(col(Participant.event_id) == event.id)
            ).all()
        )
    missing = set(acknowledged) - stored
    print(f"acknowledged {len(acknowledged)}, stored {len(stored)}, missing {len(missing)}")
    assert not missing, f"{len(missing)} acknowledged joins were lost: {sorted(missing)[:5]}"
    # It starts again on the same data and takes the next person.
    again = start(settings, port)
    try:
        assert join_over_http(again.base, event.join_code, "After the restart") == 303
    finally:
        again.process.terminate()
        again.process.wait(timeout=15)
