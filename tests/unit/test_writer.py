"""SQLite's one writer: writes run one at a time, in order, and never half."""

import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
import pytest

from app.web.kit.writer import OneWriter

T = TypeVar("T")


def _run(main: Callable[[], Awaitable[T]]) -> T:
    """anyio.run in a thread of its own (the browser tests keep an event loop in this one)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(anyio.run, main).result()


def test_writes_run_one_at_a_time_in_order_of_arrival() -> None:
    writer = OneWriter()
    inside: list[int] = []
    log: list[tuple[str, int]] = []

    def write(n: int) -> int:
        inside.append(n)
        assert len(inside) == 1, "two writes at once"
        log.append(("start", n))
        time.sleep(0.001)
        inside.remove(n)
        log.append(("end", n))
        return n * n

    async def main() -> list[int]:
        results = [0] * 30

        async def one(n: int) -> None:
            results[n] = await writer.run(lambda: write(n))

        async with anyio.create_task_group() as tasks:
            for n in range(30):
                tasks.start_soon(one, n)
                await anyio.sleep(0)  # arrive in this order
        return results

    assert _run(main) == [n * n for n in range(30)]
    assert [n for what, n in log if what == "start"] == list(range(30))


def test_a_held_turn_keeps_every_other_write_waiting_until_it_ends() -> None:
    writer = OneWriter()
    order: list[str] = []

    async def main() -> None:
        async with anyio.create_task_group() as tasks, writer.held():
            tasks.start_soon(writer.run, lambda: order.append("write"))
            await anyio.sleep(0.05)
            order.append("held work done")

    _run(main)
    assert order == ["held work done", "write"]


def test_a_queued_write_runs_to_its_end_even_if_its_request_is_cancelled() -> None:
    writer = OneWriter()
    finished: list[str] = []
    release = threading.Event()

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(writer.run, release.wait)  # holds the writer
            await anyio.sleep(0.01)
            with anyio.move_on_after(0.05) as waited:
                await writer.run(lambda: finished.append("stored"))
            # Cancelled while its write was queued, the request still waited for the write
            # to end: it never leaves one half done, or done after it said it was not.
            assert waited.cancel_called
            assert finished == ["stored"]

    threading.Timer(0.2, release.set).start()
    _run(main)
    assert finished == ["stored"]


def test_a_failed_write_reaches_its_request_and_the_next_write_still_runs() -> None:
    writer = OneWriter()

    def fail() -> None:
        raise ValueError("refused")

    async def main() -> str:
        with pytest.raises(ValueError, match="refused"):
            await writer.run(fail)
        return await writer.run(lambda: "next")

    assert _run(main) == "next"


def test_the_thread_ends_when_idle_and_starts_again_with_the_next_write() -> None:
    writer = OneWriter()
    writer.IDLE_SECONDS = 0.05

    async def main() -> None:
        first = await writer.run(threading.current_thread)
        await anyio.sleep(0.3)
        assert not first.is_alive()
        second = await writer.run(threading.current_thread)
        assert second is not first and second.name == "openspace-writer"

    _run(main)
