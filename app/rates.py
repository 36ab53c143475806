"""Counts of what people did in the last minute, for the rate limits, in one store that every
server process shares.

With several workers, or several hosts behind a load balancer, a count kept in each
process's memory lets a person through once per process: two hosts of two workers each let
four times the limit through. So the counts live where every process sees them:

- PostgreSQL (the default when the database is PostgreSQL): one row per (kind, who, minute),
  counted by one atomic upsert that refuses when the limit is reached; rows older than the
  last minute are deleted as the counting goes.
- Redis, when `OPENSPACE_REDIS_URL` is set: the same counts in keys that expire. Should Redis
  be unreachable, the counting goes on in the database's store (logged once), and Redis is
  tried again every few seconds: the day must not depend on it.
- This process's memory on SQLite (one machine; with several workers, per worker).

The shared stores count fixed minutes and weigh the minute before by how much of it still
lies within the last sixty seconds (a sliding window, estimated: a burst across a minute's
edge cannot pass twice the limit). Who is counted is stored as a keyed hash, never the
address itself.
"""

import hashlib
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import redis
from sqlalchemy import text

from app.config import Settings
from app.db import Database
from app.models.base import utcnow

log = logging.getLogger("openspace.limits")

WINDOW = 60  # seconds
# How long to count without Redis before trying it again, and how long to wait for it.
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.25


class Counts(Protocol):
    """Counts per (kind of action, who) over the last minute."""

    shared: bool  # whether other processes see the same counts (they are not in memory)

    def allow(self, kind: str, who: str, limit: int) -> bool:
        """Count one more if it is within the limit, and whether it was."""
        ...

    def spent(self, kind: str, who: str, limit: int) -> bool:
        """Whether the limit is used up, without counting."""
        ...

    def note(self, kind: str, who: str) -> None:
        """Count one, whatever the limit."""
        ...

    def retry_after(self, kind: str, who: str, limit: int) -> int:
        """Seconds until one more would be allowed."""
        ...


class InMemory:
    """Sliding one-minute windows of counts, per (action, who): what was allowed in the last
    minute, whenever that minute began."""

    shared = False

    def __init__(self) -> None:
        self._times: dict[tuple[str, str], deque[float]] = {}
        self._swept = time.monotonic()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = time.monotonic()
        if now - self._swept > WINDOW:  # forget whoever has been quiet for a minute
            self._swept = now
            self._times = {k: q for k, q in self._times.items() if q and q[-1] > now - WINDOW}
        times = self._times.setdefault(key, deque())
        while times and times[0] <= now - WINDOW:
            times.popleft()
        return times

    def allow(self, kind: str, who: str, limit: int) -> bool:
        times = self._recent((kind, who))
        if len(times) >= limit:
            return False
        times.append(time.monotonic())
        return True

    def spent(self, kind: str, who: str, limit: int) -> bool:
        return len(self._recent((kind, who))) >= limit

    def note(self, kind: str, who: str) -> None:
        self._recent((kind, who)).append(time.monotonic())

    def retry_after(self, kind: str, who: str, limit: int) -> int:
        """Seconds until the oldest count of the last minute no longer counts."""
        times = self._recent((kind, who))
        oldest = times[0] if times else time.monotonic() - WINDOW
        return max(1, math.ceil(oldest + WINDOW - time.monotonic()))


@dataclass(frozen=True)
class Minute:
    """Which minute it is (counted from 1970), and how far into it."""

    number: int
    into: float  # seconds

    @classmethod
    def now(cls) -> "Minute":
        seconds = utcnow().timestamp()
        return cls(int(seconds // WINDOW), seconds % WINDOW)

    @property
    def weight(self) -> float:
        """How much of the minute before still lies within the last sixty seconds."""
        return 1 - self.into / WINDOW

    def wait(self, current: int, before: int, limit: int) -> int:
        """Seconds until `current` hits this minute and `before` in the last, weighed, fall
        under `limit`."""
        if current >= limit:  # not this minute: next minute, when this one weighs less
            return max(1, math.ceil(WINDOW - self.into + WINDOW * (1 - limit / current)))
        if before <= 0:
            return 1
        return max(1, math.ceil(WINDOW * (1 - (limit - current) / before) - self.into))


class HashedNames:
    """Who is counted, as a keyed hash: a row or key names no address or browser."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.blake2b(key).digest()

    def of(self, who: str) -> str:
        return hashlib.blake2b(who.encode(), key=self._key, digest_size=16).hexdigest()


# Counted only while the minute before, weighed, and this minute's count stay under the
# limit. The row being counted is locked by the upsert, so two processes counting the last
# one at once cannot both pass.
_ALLOW = text(
    """
    INSERT INTO ratecount (kind, who, minute, hits)
    SELECT CAST(:kind AS VARCHAR), CAST(:who AS VARCHAR), CAST(:minute AS BIGINT), 1
    WHERE coalesce((SELECT hits FROM ratecount
                    WHERE kind = :kind AND who = :who AND minute = :minute - 1), 0)
          * CAST(:weight AS DOUBLE PRECISION) < :limit
    ON CONFLICT (kind, who, minute) DO UPDATE SET hits = ratecount.hits + 1
    WHERE ratecount.hits
          + coalesce((SELECT hits FROM ratecount
                      WHERE kind = :kind AND who = :who AND minute = :minute - 1), 0)
          * CAST(:weight AS DOUBLE PRECISION) < :limit
    RETURNING hits
    """
)
_NOTE = text(
    """
    INSERT INTO ratecount (kind, who, minute, hits) VALUES (:kind, :who, :minute, 1)
    ON CONFLICT (kind, who, minute) DO UPDATE SET hits = ratecount.hits + 1
    """
)
_READ = text(
    "SELECT minute, hits FROM ratecount "
    "WHERE kind = :kind AND who = :who AND minute IN (:minute, :minute - 1)"
)
_SWEEP = text("DELETE FROM ratecount WHERE minute < :minute - 1")


class InPostgres:
    """The counts in the database every process uses (PostgreSQL)."""

    shared = True

    def __init__(self, database: Database, names: HashedNames) -> None:
        # Each statement commits as it ends: a busy address's row is locked for the statement
        # alone, never while its process waits for the processor before sending COMMIT.
        self._engine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._names = names
        self._swept = 0
        self._lock = threading.Lock()

    def _values(self, kind: str, who: str, minute: Minute) -> dict[str, object]:
        return {"kind": kind, "who": self._names.of(who), "minute": minute.number}

    def _sweep(self, minute: Minute) -> bool:
        """Whether this process should delete the old minutes now (once a minute)."""
        with self._lock:
            due, self._swept = self._swept < minute.number, max(self._swept, minute.number)
        return due

    def allow(self, kind: str, who: str, limit: int) -> bool:
        minute = Minute.now()
        values = {**self._values(kind, who, minute), "weight": minute.weight, "limit": limit}
        with self._engine.connect() as conn:
            counted = conn.execute(_ALLOW, values).first() is not None
            if self._sweep(minute):
                conn.execute(_SWEEP, {"minute": minute.number})
        return counted

    def _read(self, kind: str, who: str, minute: Minute) -> tuple[int, int]:
        with self._engine.connect() as conn:
            found = conn.execute(_READ, self._values(kind, who, minute)).all()
        rows: dict[int, int] = {minute: hits for minute, hits in found}
        return rows.get(minute.number, 0), rows.get(minute.number - 1, 0)

    def spent(self, kind: str, who: str, limit: int) -> bool:
        minute = Minute.now()
        current, before = self._read(kind, who, minute)
        return current + before * minute.weight >= limit

    def note(self, kind: str, who: str) -> None:
        with self._engine.connect() as conn:
            conn.execute(_NOTE, self._values(kind, who, Minute.now()))

    def retry_after(self, kind: str, who: str, limit: int) -> int:
        minute = Minute.now()
        return minute.wait(*self._read(kind, who, minute), limit)


# Counted only under the limit, as in PostgreSQL; the key expires when it no longer counts.
_REDIS_ALLOW = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local before = tonumber(redis.call('GET', KEYS[2]) or '0')
if current + before * tonumber(ARGV[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class InRedis:
    """The counts in Redis, in keys that expire after two minutes."""

    shared = True

    def __init__(self, url: str, names: HashedNames) -> None:
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._allow = self._redis.register_script(_REDIS_ALLOW)
        self._names = names

    def _keys(self, kind: str, who: str, minute: Minute) -> list[str]:
        name = f"openspace:rate:{kind}:{self._names.of(who)}"
        return [f"{name}:{minute.number}", f"{name}:{minute.number - 1}"]

    def allow(self, kind: str, who: str, limit: int) -> bool:
        minute = Minute.now()
        keys = self._keys(kind, who, minute)
        return bool(self._allow(keys=keys, args=[minute.weight, limit, 2 * WINDOW]))

    def _read(self, kind: str, who: str, minute: Minute) -> tuple[int, int]:
        current, before = self._redis.mget(self._keys(kind, who, minute))
        return int(current or 0), int(before or 0)

    def spent(self, kind: str, who: str, limit: int) -> bool:
        minute = Minute.now()
        current, before = self._read(kind, who, minute)
        return current + before * minute.weight >= limit

    def note(self, kind: str, who: str) -> None:
        key = self._keys(kind, who, Minute.now())[0]
        with self._redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW)
            pipe.execute()

    def retry_after(self, kind: str, who: str, limit: int) -> int:
        minute = Minute.now()
        return minute.wait(*self._read(kind, who, minute), limit)

    def close(self) -> None:
        self._redis.close()


class RedisOrElse:
    """Redis while it answers; the database's store while it does not."""

    shared = True

    def __init__(self, redis_store: InRedis, otherwise: Counts, where: str) -> None:
        self._redis = redis_store
        self._otherwise = otherwise
        self._where = where
        self._down = False
        self._retry_at = 0.0
        self._lock = threading.Lock()

    @property
    def using_redis(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _store(self) -> Counts:
        return self._redis if self.using_redis else self._otherwise

    def _failed(self, error: Exception) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            if not self._down:
                self._down = True
                log.warning(
                    "Redis at %s did not answer (%s): the rate limits count in %s until it "
                    "does, and Redis is tried again every %.0f s.",
                    self._where,
                    error,
                    "PostgreSQL" if self._otherwise.shared else "this process's memory",
                    REDIS_RETRY_SECONDS,
                )

    def _back(self) -> None:
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    log.warning(
                        "Redis at %s answers again: the rate limits count there.", self._where
                    )

    def allow(self, kind: str, who: str, limit: int) -> bool:
        if self.using_redis:
            try:
                allowed = self._redis.allow(kind, who, limit)
            except redis.RedisError as error:
                self._failed(error)
            else:
                self._back()
                return allowed
        return self._otherwise.allow(kind, who, limit)

    def spent(self, kind: str, who: str, limit: int) -> bool:
        try:
            return self._store().spent(kind, who, limit)
        except redis.RedisError as error:
            self._failed(error)
            return self._otherwise.spent(kind, who, limit)

    def note(self, kind: str, who: str) -> None:
        try:
            self._store().note(kind, who)
        except redis.RedisError as error:
            self._failed(error)
            self._otherwise.note(kind, who)

    def retry_after(self, kind: str, who: str, limit: int) -> int:
        try:
            return self._store().retry_after(kind, who, limit)
        except redis.RedisError as error:
            self._failed(error)
            return self._otherwise.retry_after(kind, who, limit)


def counts_for(database: Database, secret: str) -> Counts:
    """Redis if OPENSPACE_REDIS_URL is set, else PostgreSQL, else (SQLite) memory."""
    settings = database.settings
    names = HashedNames(secret.encode())
    otherwise: Counts = InMemory() if settings.is_sqlite else InPostgres(database, names)
    if not settings.redis_url:
        return otherwise
    where = urlsplit(settings.redis_url).netloc.rpartition("@")[2]
    return RedisOrElse(InRedis(settings.redis_url, names), otherwise, where)


def where_counted(settings: Settings) -> str:
    """Where the rate limits count, for `openspace doctor`."""
    here = "each process's memory" if settings.is_sqlite else "PostgreSQL"
    if not settings.redis_url:
        return f"in {here}" + ("" if settings.is_sqlite else ", shared by every worker and host")
    where = urlsplit(settings.redis_url).netloc.rpartition("@")[2]
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        return f"Redis at {where} does not answer ({error}): in {here} until it does"
    finally:
        client.close()
    return f"in Redis at {where}, shared by every worker and host"
