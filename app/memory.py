"""Giving memory that was freed back to the system.

glibc's malloc keeps what the process frees in its arenas (one per thread that allocates),
and short-lived large buffers (rendered pages, query results, compressed answers) leave free
holes in them that it does not hand back by itself. In a 30-minute soak the memory in use
stayed flat — Python's objects and SQLite's cache levelled off — while the free memory held
grew by about 0.6 MiB a minute. Three settings (glibc's; elsewhere, such as musl or macOS,
nothing is done):

- at most two arenas: glibc gives most threads that allocate an arena of their own (up to
  eight per core, each with its own holes); the server's dozens of worker threads mostly
  wait for Python's lock anyway, so two arenas shared by all cost nothing. On its own (as
  MALLOC_ARENA_MAX=2) it did not slow the growth measurably; with the rest it keeps the
  number of places free memory can hide in small;

- blocks of 64 KiB and more get pages of their own, returned the moment they are freed.
  glibc starts so at 128 KiB but raises the bar to the size of every such block freed (up
  to 32 MiB), after which large blocks are cut from the arenas; with the bar kept at 64 KiB
  the free memory held in a soak grew half as fast;
- once a minute `malloc_trim` returns the free pages left in the arenas (a few ms).

And one of Python's: what the server made to start (modules, classes, compiled templates and
queries: about 180,000 objects that live as long as it does) is left out of the garbage
collector's full passes (`gc.freeze`). Each full pass walked all of them: it held every
request up for 124–137 ms, two to four times in ten seconds of sign-ups (measured with
`gc.callbacks` in the server during `bench/signup_load.py`, 2026-12-03); with them left out,
7–19 ms.
"""

import asyncio
import ctypes
import functools
import gc
from collections.abc import Callable

import anyio.to_thread

EVERY = 60.0  # seconds
M_MMAP_THRESHOLD = -3  # mallopt's parameters (glibc's malloc.h)
M_ARENA_MAX = -8
ARENAS = 2
OWN_PAGES_FROM = 64 * 1024  # bytes: blocks at least this large are mapped on their own


@functools.cache
def _glibc(name: str) -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(None)  # the C library this process runs on
    except OSError:
        return None
    found: Callable[..., int] | None = getattr(libc, name, None)
    return found


def _malloc_trim() -> Callable[..., int] | None:
    return _glibc("malloc_trim")


def keep_malloc_compact() -> bool:
    """Two arenas for all threads, and glibc's bar for mapping a block on its own kept at
    64 KiB (before the worker threads start); whether it could."""
    mallopt = _glibc("mallopt")
    return (
        mallopt is not None
        and mallopt(M_ARENA_MAX, ARENAS) == 1
        and mallopt(M_MMAP_THRESHOLD, OWN_PAGES_FROM) == 1
    )


def leave_startup_objects_out_of_collections() -> int:
    """Collect what starting made and no longer needs, then keep the rest out of the
    collector's passes for good; how many objects that is."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def release_free_memory() -> bool:
    """Hand the free pages malloc holds back to the system; whether it could."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


async def release_free_memory_forever(every: float = EVERY) -> None:
    """Once a minute, in a worker thread (it walks every arena), while the server runs."""
    keep_malloc_compact()
    if _malloc_trim() is None:
        return
    while True:
        await asyncio.sleep(every)
        await anyio.to_thread.run_sync(release_free_memory)
