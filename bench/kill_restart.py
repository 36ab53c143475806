"""Kill the server with SIGKILL in the middle of a burst of writes, start it again, count.

A fresh database with an event; `openspace serve` (--workers); --phones phones join the event
over and over (the join form, then the post), each join acknowledged only by its 303. After
--seconds the server and its workers are killed with SIGKILL — no shutdown, no flush — and
started again on the same database and port. Every acknowledged join must be there. Repeated
--rounds times. Prints, per round: joins acknowledged before the kill, how many of them are
stored after the restart, joins stored that were never acknowledged (in flight when the server
died: stored, but the phone was never told), and how long the server took to answer again.
The baseline: a bare FastAPI app (bench/bare_app.py) started with the same launcher, options
and workers; "answering again" is also given as a ratio to its start.
Exits non-zero if any acknowledged join is missing.
"""

import argparse
import contextlib
import os
import signal
import threading
import time
from pathlib import Path

from common import Served, start_bare, start_server
from overbook import prepared
from sqlmodel import select

from app.models import Participant
from tests.processes import join_over_http


def kill(served: Served) -> None:
    """SIGKILL the server and every worker process it started."""
    children = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children")
    pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    for pid in [served.process.pid, *pids]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    served.process.wait()


def burst(served: Served, code: str, round_: int, phones: int, seconds: float) -> list[str]:
    """Phones join until the server is killed under them; the joins it acknowledged."""
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def phone(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            name = f"Round {round_} phone {worker} join {n}"
            if join_over_http(served.base, code, name) == 303:
                with lock:
                    acknowledged.append(name)

    threads = [threading.Thread(target=phone, args=(w,)) for w in range(phones)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    kill(served)
    stop.set()
    for thread in threads:
        thread.join()
    return acknowledged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url, database, code, _people, _topics = prepared(args.database_url, 20)
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"kill -9 mid-burst on {kind}, {args.workers} worker(s), {args.phones} phones joining, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    served = start_server(url, workers=args.workers)
    missing_total = 0
    backs: list[float] = []
    for round_ in range(1, args.rounds + 1):
        acknowledged = burst(served, code, round_, args.phones, args.seconds)
        killed = time.perf_counter()
        served = start_server(url, workers=args.workers, port=served.port)
        back = time.perf_counter() - killed
        backs.append(back)
        with database.read() as session:
            stored = {
                name
                for name in session.exec(select(Participant.display_name))
                if name.startswith(f"Round {round_} ")
            }
        found = len(set(acknowledged) & stored)
        missing_total += len(acknowledged) - found
        print(
            f"  round {round_}: {len(acknowledged)} joins acknowledged before the kill, "
            f"{found} of them found after the restart; {len(stored - set(acknowledged))} "
            f"stored but never acknowledged; answering again {back:.1f} s after the kill"
        )
    served.stop()
    # The baseline: a bare FastAPI app started with the same launcher, options and workers;
    # how long it takes to answer is the floor under "answering again".
    starts = []
    for _ in range(3):
        began = time.perf_counter()
        start_bare(workers=args.workers).stop()
        starts.append(time.perf_counter() - began)
    bare = sorted(starts)[1]
    print(
        f"  baseline: a bare FastAPI app answers {bare:.1f} s after its start (median of 3); "
        f"answering again ÷ that: {', '.join(f'{b / bare:.1f}×' for b in backs)}"
    )
    print(
        "  passed: nothing acknowledged was lost"
        if not missing_total
        else f"  FAILED: {missing_total} acknowledged joins missing"
    )
    raise SystemExit(1 if missing_total else 0)


if __name__ == "__main__":
    main()
