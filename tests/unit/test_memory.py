"""Memory that was freed goes back to the system (on glibc, where malloc keeps it)."""

import subprocess
import sys

import pytest

from app.memory import _malloc_trim

FRAGMENTED = """
import threading
from app.memory import release_free_memory

def resident():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

def work():
    # Large answers freed, with small long-lived things between them: holes malloc keeps.
    big, small = [], []
    for n in range(600):
        big.append(bytes(60_000) + str(n).encode())
        small.append(bytes(700) + str(n).encode())
    big.clear()
    kept.append(small)

kept = []
thread = threading.Thread(target=work)
thread.start()
thread.join()
before = resident()
assert release_free_memory()
print(before, resident())
"""


@pytest.mark.skipif(_malloc_trim() is None, reason="malloc_trim is glibc's")
def test_freed_memory_is_given_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENTED], capture_output=True, text=True, check=True
    ).stdout
    before, after = (int(n) for n in out.split())
    assert before - after >= 20, (before, after)  # MiB: most of the 36 MiB freed


LARGE_BLOCKS = """
import sys
import threading
from app.memory import large_blocks_on_their_own_pages

def resident():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

def work():
    first = bytes(4_000_000)
    del first  # a large block freed: glibc would raise its bar to its size
    big, small = [], []
    for n in range(600):  # pages drawn, with small long-lived things between them
        big.append(bytes(200_000) + str(n).encode())
        small.append(bytes(700) + str(n).encode())
    big.clear()
    kept.append(small)

if sys.argv[1] == "on":
    assert large_blocks_on_their_own_pages()
kept = []
before = resident()
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(resident() - before)
"""


@pytest.mark.skipif(_malloc_trim() is None, reason="mallopt is glibc's")
def test_large_blocks_freed_leave_no_memory_behind() -> None:
    def held(setting: str) -> int:
        command = [sys.executable, "-c", LARGE_BLOCKS, setting]
        return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    assert held("off") >= 20  # MiB of the 120 freed, kept by glibc as it comes
    assert held("on") <= 5
