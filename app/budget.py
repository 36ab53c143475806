"""How many PostgreSQL connections each server process may hold.

PostgreSQL takes at most `max_connections` clients, a few of them kept for superusers. Every
worker on every host opens up to its pool's size, plus one connection that listens for live
changes. Four workers with SQLAlchemy's usual 30 each asked for 120 of the 100 a default
server takes: PostgreSQL refused the rest ("too many clients") and pages answered 503. So
each process learns the server's limit at start and shares what is left of it, after a
margin for psql, backups and migrations, evenly among all the processes that use it.

Through a connection pooler (PgBouncer, `OPENSPACE_DATABASE_DIRECT_URL` set), the pools
connect to the pooler, which queues them onto its own few server connections; only the
listeners reach PostgreSQL itself.
"""

from dataclasses import dataclass

import psycopg

# Fewer than this per process and requests would queue behind one another all day.
MIN_POOL = 2


def margin_of(server_limit: int) -> int:
    """Connections left free for people and tools (psql, pg_dump, a migration)."""
    return max(2, server_limit // 10)


@dataclass(frozen=True)
class Budget:
    """The server's limit, and each process's share of it."""

    server_limit: int  # max_connections
    reserved: int  # kept for superusers (superuser_reserved_connections, reserved_connections)
    processes: int  # workers × hosts
    wanted: int  # the pool each process would open if there were room (pool size + overflow)
    pooled: bool  # the pools connect to a pooler, not to PostgreSQL
    listeners: int = 1  # per process: the live updates' LISTEN connection

    @property
    def margin(self) -> int:
        return margin_of(self.server_limit)

    @property
    def available(self) -> int:
        """What all processes together may hold."""
        return self.server_limit - self.reserved - self.margin

    @property
    def pool(self) -> int:
        """The most connections one process's pool may open."""
        if self.pooled:
            return self.wanted
        return max(0, min(self.wanted, self.available // self.processes - self.listeners))

    @property
    def used(self) -> int:
        """PostgreSQL connections all processes together may open."""
        per_process = self.listeners + (0 if self.pooled else self.pool)
        return self.processes * per_process

    @property
    def fits(self) -> bool:
        if self.pooled:
            return self.used <= self.available
        return self.pool >= MIN_POOL

    def most_processes(self) -> int:
        """How many processes would fit."""
        each = self.listeners + (0 if self.pooled else MIN_POOL)
        return max(0, self.available // each)

    def refusal(self) -> str:
        """Why the processes do not fit, and what to change."""
        each = self.listeners + (0 if self.pooled else MIN_POOL)
        return (
            f"{self.processes} server processes cannot share PostgreSQL's connections: it "
            f"takes {self.server_limit} (max_connections), {self.reserved} of them kept for "
            f"superusers and {self.margin} left free for psql and backups, and each process "
            f"needs at least {each}. Start at most {self.most_processes()} workers in all "
            "(--workers, times OPENSPACE_HOSTS), raise max_connections in postgresql.conf "
            "and restart PostgreSQL, or put PgBouncer in front of it (see the README: "
            "OPENSPACE_DATABASE_DIRECT_URL)."
        )

    def describe(self) -> str:
        """One line for `openspace doctor`."""
        pool = f"pool {self.pool} each" + (" (through a pooler)" if self.pooled else "")
        return (
            f"{self.processes} processes × ({pool} + {self.listeners} listener) = "
            f"{self.used} of PostgreSQL's {self.server_limit} connections "
            f"({self.reserved} reserved, {self.margin} kept free)"
        )


def learn(
    direct_url: str, *, processes: int, wanted: int, pooled: bool, timeout: float = 10
) -> Budget:
    """Ask the PostgreSQL server at `direct_url` (a libpq URL) for its limits."""
    with psycopg.connect(direct_url, autocommit=True, connect_timeout=int(timeout)) as conn:
        limit, superuser, other = conn.execute(
            "SELECT current_setting('max_connections')::int, "
            "current_setting('superuser_reserved_connections')::int, "
            # PostgreSQL 16 keeps some for pg_use_reserved_connections too.
            "coalesce(current_setting('reserved_connections', true), '0')::int"
        ).fetchone() or (100, 3, 0)
    return Budget(
        server_limit=limit,
        reserved=superuser + other,
        processes=max(1, processes),
        wanted=wanted,
        pooled=pooled,
    )
