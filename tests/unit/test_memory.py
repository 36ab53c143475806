"""Memory that was freed goes back to the system (on glibc, where malloc keeps it)."""

import subprocess
import sys
from pathlib import Path

import pytest

from app.memory import _malloc_trim

# A heap fragmented in a worker thread as a server's is: large blocks (pages, answers) freed,
# with small long-lived things between them. Prints the resident MiB before and after.
HEAP = """
import sys
import threading
from app.memory import keep_malloc_compact, release_free_memory

def resident():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

def work(size):
    first = bytes(4_000_000)
    del first  # a large block freed: glibc would raise its bar to its size
    big, small = [], []
    for n in range(600):
        big.append(bytes(size) + str(n).encode())
        small.append(bytes(700) + str(n).encode())
    big.clear()
    kept.append(small)

setting, size = sys.argv[1], int(sys.argv[2])
if setting == "own-pages":
    assert keep_malloc_compact()
kept = []
before = resident()
thread = threading.Thread(target=work, args=(size,))
thread.start()
thread.join()
fragmented = resident()
if setting == "trim":
    assert release_free_memory()
print(before, fragmented, resident())
"""


def _heap(setting: str, size: int) -> tuple[int, int, int]:
    command = [sys.executable, "-c", HEAP, setting, str(size)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    before, fragmented, after = (int(n) for n in out.split())
    return before, fragmented, after


@pytest.mark.skipif(_malloc_trim() is None, reason="malloc_trim is glibc's")
def test_freed_memory_is_given_back() -> None:
    _, fragmented, after = _heap("trim", 60_000)
    assert fragmented - after >= 20, (fragmented, after)  # MiB: most of the 36 MiB freed


@pytest.mark.skipif(_malloc_trim() is None, reason="mallopt is glibc's")
def test_large_blocks_freed_leave_no_memory_behind() -> None:
    before, kept, _ = _heap("as-it-comes", 200_000)
    assert kept - before >= 20  # MiB of the 120 freed, kept by glibc as it comes
    before, kept, _ = _heap("own-pages", 200_000)
    assert kept - before <= 5


# Threads that allocate at the same moment, each of which glibc would give an arena of its
# own; prints how many arenas malloc_stats then reports.
ARENAS = """
import ctypes
import sys
import threading
from app.memory import keep_malloc_compact

if sys.argv[1] == "compact":
    assert keep_malloc_compact()
barrier = threading.Barrier(12)

def work():
    blocks = [bytes(500) + str(n).encode() for n in range(2000)]
    barrier.wait()
    blocks.clear()

threads = [threading.Thread(target=work) for _ in range(12)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def _arenas(setting: str) -> int:
    command = [sys.executable, "-c", ARENAS, setting]
    stats = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    return stats.count("Arena ")


@pytest.mark.skipif(_malloc_trim() is None, reason="mallopt is glibc's")
def test_threads_share_two_arenas() -> None:
    assert _arenas("as-it-comes") >= 4  # glibc's own way: an arena for most threads
    assert _arenas("compact") <= 2


# A server started and stopped: how many objects the collector's full passes leave out, and
# how many they still walk.
STARTED = """
import gc
import sys
from fastapi.testclient import TestClient
from app.config import Settings
from app.main import create_app

settings = Settings(
    environment="test", database_url=sys.argv[1], secret_key="k" * 40, base_url="http://t"
)
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").status_code == 200
    print(gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_what_starting_made_is_left_out_of_full_collections(tmp_path: Path) -> None:
    """A full pass of the collector walked every module, class and compiled template and
    held every request up for over 100 ms; once started, it walks what requests make."""
    command = [sys.executable, "-c", STARTED, f"sqlite:///{tmp_path / 'app.db'}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    frozen, walked = (int(n) for n in out.split())
    assert frozen > 10 * walked, (frozen, walked)
