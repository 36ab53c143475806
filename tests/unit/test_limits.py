"""The limiter counts the last minute, whenever it began (in memory, as on SQLite)."""

import time

import pytest

from app.rates import WINDOW, InMemory


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(10 * WINDOW - 1)  # one second before a whole minute
    monkeypatch.setattr(time, "monotonic", clock)
    return clock


def test_a_burst_across_a_whole_minute_gets_the_limit_once(clock: Clock) -> None:
    limiter = InMemory()
    assert all(limiter.allow("join", "a", 5) for _ in range(5))
    clock.now += 2  # past the minute's edge: a fixed window would start again here
    assert not limiter.allow("join", "a", 5)
    assert limiter.retry_after("join", "a", 5) == WINDOW - 2
    assert limiter.allow("join", "b", 5)  # someone else is counted apart
    clock.now += WINDOW - 2
    assert limiter.allow("join", "a", 5)


def test_a_pause_ends_a_minute_after_what_filled_it(clock: Clock) -> None:
    limiter = InMemory()
    for _ in range(3):
        limiter.note("code", "a")
        clock.now += 10
    assert limiter.spent("code", "a", 3)
    assert limiter.retry_after("code", "a", 3) == WINDOW - 30
    clock.now += WINDOW - 30
    assert not limiter.spent("code", "a", 3)
    clock.now += 2 * WINDOW  # quiet for long: forgotten, not kept for ever
    limiter.spent("code", "b", 3)
    assert ("code", "a") not in limiter._times
