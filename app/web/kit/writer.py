"""SQLite's one writer: a thread of its own that runs the process's writes one after another.

SQLite lets one transaction write at a time. Handing that turn from request to request on the
event loop leaves it idle in between: the loop has to notice that one writer let go, wake the
next, and send it to a worker thread, while it also reads and answers everything else. Here
the next write starts in the same thread as soon as the last one has committed. A quick write
that finds nothing queued here and the database free skips the thread (`quick_write`).
"""

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

T = TypeVar("T")

# A dependency marked so only reads the request and the process's memory; it never asks the
# database. A write whose dependencies are all marked so can run whole in the writer's thread.
MEMORY_ONLY = "openspace_memory_only"
C = TypeVar("C", bound=Callable[..., Any])


def memory_only(dependency: C) -> C:
    setattr(dependency, MEMORY_ONLY, True)
    return dependency


# A write of a few statements, on rows found by their keys. When the database is free at
# that instant it runs on the event loop itself: that is shorter than handing it to the
# writer's thread and back, which on a busy machine costs more than the write (both
# threads need Python's lock, and the loop holds it while it reads and answers requests).
# When the database is busy it queues in the writer's thread like any other write, so the
# loop never waits for the database.
QUICK_WRITE = "openspace_quick_write"
_on_the_loop: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "openspace_writing_on_the_loop", default=False
)


def quick_write(endpoint: C) -> C:
    setattr(endpoint, QUICK_WRITE, True)
    return endpoint


def writing_on_the_loop() -> bool:
    """A quick write holds the database and runs on the event loop now."""
    return _on_the_loop.get()


@contextlib.contextmanager
def on_the_loop() -> Iterator[None]:
    token = _on_the_loop.set(True)
    try:
        yield
    finally:
        _on_the_loop.reset(token)


@dataclass
class _Job:
    work: Callable[[], Any]
    context: contextvars.Context
    loop: asyncio.AbstractEventLoop
    done: "asyncio.Future[Any]"

    def run(self) -> None:
        try:
            outcome, failed = self.context.run(self.work), False
        except BaseException as exc:  # handed to the request that waits for it
            outcome, failed = exc, True
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self.loop.call_soon_threadsafe(_settle, self.done, outcome, failed)


def _settle(done: "asyncio.Future[Any]", outcome: Any, failed: bool) -> None:
    if done.done():
        return
    if failed:
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


class OneWriter:
    """Runs writes one at a time, in order of arrival, in one thread.

    `run` hands over the whole of a request's database work (it must finish its transaction
    before it returns). A request whose work takes several trips (dependencies that ask the
    database in other threads) holds the writer for its whole length instead (`held`). Once
    queued, a write runs to its end even if its request is cancelled, so no write is ever
    half done. The thread ends when idle and starts again with the next write.
    """

    IDLE_SECONDS = 2.0

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False
        self._unfinished = 0

    @property
    def idle(self) -> bool:
        """No write is running or waiting here."""
        return self._unfinished == 0

    async def run(self, work: Callable[[], T]) -> T:
        done = asyncio.get_running_loop().create_future()
        self._submit(work, done)
        with anyio.CancelScope(shield=True):
            result: T = await done
        return result

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        turn = loop.create_future()
        released = threading.Event()

        def hold() -> None:
            loop.call_soon_threadsafe(_settle, turn, None, False)
            released.wait()

        self._submit(hold, turn)
        try:
            with anyio.CancelScope(shield=True):
                await turn
            yield
        finally:
            released.set()

    def _submit(self, work: Callable[[], Any], done: "asyncio.Future[Any]") -> None:
        self._jobs.put(_Job(work, contextvars.copy_context(), done.get_loop(), done))
        with self._lock:
            self._unfinished += 1
            if not self._running:
                self._running = True
                threading.Thread(target=self._work, name="openspace-writer", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._running = False
                        return
                continue
            job.run()
            with self._lock:
                self._unfinished -= 1
