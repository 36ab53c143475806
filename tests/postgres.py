"""PostgreSQL servers of a test's own, and PgBouncer in front of one: started in a temporary
folder on a free port of this machine, so that a test may restart one or give it small
limits without disturbing anything else."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from app.config import Settings
    from app.models import Event, Topic


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres() -> list[str]:
    """The servers refuse to run as root: run them as the postgres account."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _home(prefix: str) -> Path:
    home = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(home, user.pw_uid, user.pw_gid)
    return home


@contextmanager
def own_postgres(**config: str | int) -> Iterator[tuple[str, Callable[[], None]]]:
    """A PostgreSQL server of the test's own, with `config` set (max_connections=20, say):
    its URL, and a function that restarts it."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        pytest.fail("PostgreSQL's server programs are not installed (/usr/lib/postgresql)")
    bin_dir = found[-1].parent
    as_postgres = _as_postgres()
    home = _home("openspace-pg-")
    port = free_port()
    data, log = home / "data", home / "server.log"

    def pg_ctl(*args: str) -> None:
        command = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", *args]
        subprocess.run([*as_postgres, *command], check=True, capture_output=True)

    subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    settings = "".join(f" -c {name}={value}" for name, value in config.items())
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1{settings}"

    def restart() -> None:
        pg_ctl("-m", "fast", "stop")  # what a restart or a failover does to connections
        time.sleep(1.5)
        pg_ctl("-o", options, "start")

    pg_ctl("-o", options, "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", restart
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def pgbouncer(server_url: str, pool_size: int = 20) -> Iterator[str]:
    """PgBouncer (Debian's package) in transaction pooling mode in front of the PostgreSQL
    server at `server_url`: the URL that reaches the same database through it."""
    program = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(program).exists():
        pytest.fail("PgBouncer is not installed (Debian: apt-get install pgbouncer)")
    from sqlalchemy import make_url

    server = make_url(server_url)
    home = _home("openspace-pgbouncer-")
    port = free_port()
    (home / "users.txt").write_text(f'"{server.username}" ""\n')
    (home / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server.host} port={server.port} user={server.username}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {home / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmax_client_conn = 1000\n"
        # psycopg, SQLAlchemy and the tests set these at connect: PgBouncer keeps them per
        # client instead of refusing the connection.
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {home / 'pgbouncer.log'}\n"
    )
    process = subprocess.Popen(
        [program, str(home / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        # Our own child (not runuser's), so that stopping it leaves nothing behind.
        user="postgres" if os.geteuid() == 0 else None,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log = home / "pgbouncer.log"
                said = log.read_text() if log.exists() else ""
                pytest.fail(f"PgBouncer did not start: {said[-2000:]}")
            time.sleep(0.05)
        yield server.set(port=port).render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def one_open_session(
    settings: "Settings", url: str, direct_url: str, name: str, place: str, seats: int
) -> tuple["Settings", "Event", "Topic"]:
    """The app's settings for the server at `url` (its tables made), and an event there with
    one session placed in `place` of `seats` at 10:00 and the marketplace open — what the tests
    with a server of their own start from. The database's connections are closed again."""
    from datetime import time as clock

    from app.cli import migrate
    from app.db import Database
    from app.services import marketplace
    from tests.factories import Factory, placed_topic

    own = settings.model_copy(update={"database_url": url, "database_direct_url": direct_url})
    migrate(own)
    database = Database(own)
    make = Factory(database)
    event = make.event(name=name)
    slot, space = make.slot(event, clock(10, 0), clock(11, 0)), make.space(event, place, seats)
    topic = placed_topic(make, event, slot, space, "Everyone at once")
    with database.write() as session:
        marketplace.open_marketplace(session, event, True)
    database.dispose()
    return own, event, topic
