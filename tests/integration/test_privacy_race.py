"""Erasure racing with the person's own writing, on a served app: nothing half-erased.

Each person writes to a report from two browsers as fast as the server answers while a third
browser of theirs asks "delete what I wrote too". Whatever order the database puts them in,
nothing they wrote is left afterwards: a write that went first is taken by the erasure, one
that came after it is refused (issue 26). On PostgreSQL the requests really run at once.
"""

import threading
from datetime import time as clock

import httpx
from sqlmodel import col, func, select

from app.config import Settings
from app.db import Database
from app.models import Contribution, Participant
from tests.conftest import phone
from tests.factories import Factory, placed_topic
from tests.processes import serving

PEOPLE = 6


def _browser_of(base: str, person: httpx.Client) -> httpx.Client:
    """Another tab of the same person: the same cookies."""
    tab = httpx.Client(base_url=base, timeout=30)
    for name, value in person.cookies.items():
        tab.cookies.set(name, value)
    return tab


def test_erasure_racing_the_persons_own_writing_leaves_nothing_they_wrote(
    settings: Settings, database: Database, make: Factory
) -> None:
    event = make.event(name="Racing an erasure")
    slot = make.slot(event, clock(10, 0), clock(11, 0))
    topic = placed_topic(make, event, slot, make.space(event, "Garden", 30), "Seeds")
    report = f"/e/{event.join_code}/reports/{topic.id}/contributions"
    taken_after: list[str] = []
    with serving(settings) as server:
        people = [phone(server.base, event, f"Writer {n}") for n in range(PEOPLE)]
        answers: list[int] = []
        lock = threading.Lock()
        written = [threading.Semaphore(0) for _ in people]
        erased = [threading.Event() for _ in people]

        def write(tab: httpx.Client, n: int) -> None:
            """Write until the erasure has answered, and three times more after it."""
            k, after = 0, 0
            while after < 3:
                k += 1
                after += erased[n].is_set()
                answer = tab.post(
                    report,
                    data={
                        "kind": "note",
                        "body": f"Note {n}.{k} from a writer",
                        "write_key": f"w{n}-{threading.get_ident()}-{k}",
                        "csrf_token": tab.cookies["openspace_csrf"],
                    },
                )
                with lock:
                    answers.append(answer.status_code)
                written[n].release()

        def erase(tab: httpx.Client, n: int) -> None:
            for _ in range(4):  # both tabs are writing by now
                written[n].acquire()
            answer = tab.post(
                f"/e/{event.join_code}/erase",
                data={
                    "mode": "everything",
                    "confirmed": "yes",
                    "csrf_token": tab.cookies["openspace_csrf"],
                },
            )
            erased[n].set()
            if answer.status_code != 303:
                taken_after.append(f"erase answered {answer.status_code}")

        threads = []
        for n, person in enumerate(people):
            tabs = [_browser_of(server.base, person) for _ in range(2)]
            threads += [threading.Thread(target=write, args=(tab, n)) for tab in tabs]
            threads.append(threading.Thread(target=erase, args=(person, n)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    with database.read() as session:
        ids = list(session.exec(select(Participant.id).where(Participant.event_id == event.id)))
        left = session.exec(
            select(func.count())
            .select_from(Contribution)
            .where(col(Contribution.author_id).in_(ids))
        ).one()
        names = list(
            session.exec(select(Participant.display_name).where(col(Participant.id).in_(ids)))
        )
    assert not taken_after
    assert 303 in answers  # they did write before the erasure
    assert left == 0, f"{left} contributions of erased people are still stored"
    assert all(not name.startswith("Writer") for name in names)
