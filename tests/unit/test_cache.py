"""Parts shared per agenda version: made once, however many ask for them at the same moment."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from app.web.kit.cache import VersionedParts


def test_a_part_asked_for_by_many_at_once_is_made_once_and_given_to_all() -> None:
    """A change sends every open phone back at once: one request draws the wall, the others
    wait for it (a dozen threads each drawing the same wall had made it slower for all)."""
    parts: VersionedParts[str] = VersionedParts()
    made: list[int] = []
    asked = threading.Barrier(12)

    def draw() -> str:
        made.append(1)
        time.sleep(0.2)  # long enough for every other request to ask meanwhile
        return "<section>the wall</section>"

    def ask(_n: int) -> str:
        asked.wait()
        return parts.get_or_make(("event", "CODE"), 7, "page", draw)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(ask, range(12)))
    assert answers == ["<section>the wall</section>"] * 12
    assert len(made) == 1
    # A newer version is made anew; the older one is gone.
    assert parts.get_or_make(("event", "CODE"), 8, "page", lambda: "newer") == "newer"
    assert parts.get(("event", "CODE"), 7, "page") is None


def test_when_the_one_making_a_part_fails_the_others_make_their_own() -> None:
    parts: VersionedParts[str] = VersionedParts()
    started = threading.Event()

    def fail() -> str:
        started.set()
        time.sleep(0.1)
        raise RuntimeError("the database went away")

    def first() -> str:
        return parts.get_or_make("event", 1, "page", fail)

    with ThreadPoolExecutor(1) as pool:
        failing = pool.submit(first)
        started.wait()
        assert parts.get_or_make("event", 1, "page", lambda: "drawn here") == "drawn here"
        assert isinstance(failing.exception(), RuntimeError)
