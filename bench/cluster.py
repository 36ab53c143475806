"""Two hosts on one machine: PostgreSQL, PgBouncer, two app hosts and nginx in front of them.

    with cluster() as running:          # everything stops when the block ends
        httpx.get(running.base + "/healthz")
        running.kill(running.hosts[0])  # SIGKILL a whole host: its server and its workers

- PostgreSQL: a server of its own in a temporary folder on a free port (tests/postgres.py).
- PgBouncer (Debian's package) in transaction pooling mode in front of it.
- Two app "hosts" on their own loopback addresses, 127.0.0.2 and 127.0.0.3: each
  `openspace serve --workers N`, through PgBouncer, with PostgreSQL's own address for the
  live updates' LISTEN (OPENSPACE_DATABASE_DIRECT_URL), OPENSPACE_HOSTS=2, and nginx's
  address as the trusted proxy whose X-Forwarded-For is believed.
- nginx (Debian's package) as the load balancer on a free port of 127.0.0.1, run as the
  current user with its configuration, pid, logs and temporary files in a temporary folder;
  its site is deploy/nginx/openspace.conf.template, the file a user copies.

Run it alone to try it by hand: `python bench/cluster.py` serves until Ctrl-C.
"""

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import migrate  # noqa: E402
from app.config import Settings  # noqa: E402
from tests.postgres import own_postgres, pgbouncer  # noqa: E402

SECRET = "cluster-secret-key-long-enough-for-production-use-0123456789"
SITE = ROOT / "deploy" / "nginx" / "openspace.conf.template"
HOST_ADDRESSES = ("127.0.0.2", "127.0.0.3")
NGINX = "/usr/sbin/nginx"
PGBOUNCER = "/usr/sbin/pgbouncer"


def missing() -> list[str]:
    """What this machine lacks to run the cluster (Debian packages), if anything."""
    lacking = []
    if not (shutil.which("nginx") or Path(NGINX).exists()):
        lacking.append("nginx (apt-get install nginx-light)")
    if not (shutil.which("pgbouncer") or Path(PGBOUNCER).exists()):
        lacking.append("pgbouncer (apt-get install pgbouncer)")
    if not sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        lacking.append("PostgreSQL's server (apt-get install postgresql)")
    return lacking


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class Host:
    """One app host: `openspace serve` and its workers, in a process group of their own."""

    name: str
    address: str
    port: int
    process: subprocess.Popen[bytes]
    output: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def upstream(self) -> str:
        return f"{self.address}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole host at once, as a machine that loses its power."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # workers left behind, if any
            os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Cluster:
    """The running topology: nginx's address, the hosts, and PostgreSQL's URLs."""

    base: str  # nginx
    hosts: list[Host]
    database_url: str  # PostgreSQL itself
    pooled_url: str  # through PgBouncer
    folder: Path  # nginx's configuration and logs

    def kill(self, host: Host) -> None:
        host.kill()

    def nginx_errors(self) -> str:
        log = self.folder / "error.log"
        return log.read_text() if log.exists() else ""


def _drain(process: subprocess.Popen[bytes], output: list[str]) -> None:
    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()


def _wait_until_answers(url: str, alive: Callable[[], bool], what: str, said: list[str]) -> None:
    deadline = time.monotonic() + 90
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        if not alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n" + "".join(said)[-4000:])
        time.sleep(0.1)


def environment(
    pooled: str, direct: str, base: str, rate_limit_scale: float, extra: dict[str, str]
) -> dict[str, str]:
    """What each host is started with."""
    env = {
        **os.environ,
        "OPENSPACE_DATABASE_URL": pooled,
        "OPENSPACE_DATABASE_DIRECT_URL": direct,
        "OPENSPACE_HOSTS": str(len(HOST_ADDRESSES)),
        "OPENSPACE_TRUSTED_PROXIES": "127.0.0.1",
        "OPENSPACE_BASE_URL": base,
        "OPENSPACE_SECRET_KEY": SECRET,
        "OPENSPACE_ENVIRONMENT": "production",
        "OPENSPACE_LOG_LEVEL": "warning",
        "OPENSPACE_RATE_LIMIT_SCALE": str(rate_limit_scale),
        **extra,
    }
    env.pop("DATABASE_URL", None)
    return env


def launch_host(name: str, address: str, workers: int, env: dict[str, str]) -> Host:
    """Start one host's `openspace serve` (without waiting for it to answer)."""
    port = free_port(address)
    command = [sys.executable, "-m", "app.cli", "serve", "--host", address, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killed whole, workers too
    )
    host = Host(name, address, port, process)
    _drain(process, host.output)
    return host


def wait_for(host: Host) -> None:
    _wait_until_answers(f"{host.base}/healthz", host.alive, f"host {host.name}", host.output)


def nginx_site(listen: str, host_a: str, host_b: str) -> str:
    """deploy/nginx/openspace.conf.template, filled in (nginx's own $names stay as they are)."""
    template = string.Template(SITE.read_text())
    return template.safe_substitute(
        OPENSPACE_LISTEN=listen, OPENSPACE_HOST_A=host_a, OPENSPACE_HOST_B=host_b
    )


def _nginx_main(folder: Path) -> str:
    """nginx's main configuration: everything it writes in `folder`, as the current user."""
    user = ""
    if os.geteuid() == 0:  # else nginx's workers would run as nobody, who cannot read here
        user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
    paths = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes 1;
worker_rlimit_nofile 16384;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 8000; }}
http {{
    access_log off;
{paths}
    include {folder / "openspace.conf"};
}}
"""


@contextmanager
def nginx(host_a: str, host_b: str, port: int) -> Iterator[tuple[str, Path]]:
    """nginx in front of the two hosts on 127.0.0.1:`port`: its address and its folder."""
    program = shutil.which("nginx") or NGINX
    folder = Path(tempfile.mkdtemp(prefix="openspace-nginx-"))
    (folder / "openspace.conf").write_text(nginx_site(f"127.0.0.1:{port}", host_a, host_b))
    (folder / "nginx.conf").write_text(_nginx_main(folder))
    log = folder / "error.log"
    process = subprocess.Popen(
        [
            program,
            "-p",
            str(folder),
            "-c",
            str(folder / "nginx.conf"),
            "-e",
            str(log),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    said: list[str] = []
    _drain(process, said)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answers(f"{base}/healthz", lambda: process.poll() is None, "nginx", said)
        yield base, folder
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _stopped_on_sigterm() -> Iterator[None]:
    """A SIGTERM ends the block as Ctrl-C would, so that everything is stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def cluster(
    workers: int = 2,
    rate_limit_scale: float = 1000.0,
    extra: dict[str, str] | None = None,
    pgbouncer_pool: int = 20,
) -> Iterator[Cluster]:
    """The whole topology, started in order and stopped when the block ends."""
    lacking = missing()
    if lacking:
        raise RuntimeError("cannot start the cluster without " + ", ".join(lacking))
    with ExitStack() as stack:
        stack.enter_context(_stopped_on_sigterm())
        direct, _restart = stack.enter_context(own_postgres(max_connections=100))
        pooled = stack.enter_context(pgbouncer(direct, pool_size=pgbouncer_pool))
        # nginx's address is known before the hosts start: links and QR codes point at it.
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = environment(pooled, direct, base, rate_limit_scale, extra or {})
        # Migrated once here: two hosts starting at once would both create the tables.
        migrate(Settings(database_url=direct))
        hosts: list[Host] = []
        try:
            for name, address in zip("AB", HOST_ADDRESSES, strict=True):
                hosts.append(launch_host(name, address, workers, env))
            for host in hosts:
                wait_for(host)
            front, folder = stack.enter_context(nginx(hosts[0].upstream, hosts[1].upstream, port))
            yield Cluster(front, hosts, direct, pooled, folder)
        finally:
            for host in hosts:
                host.stop()


def main() -> None:
    with cluster() as running:
        print(f"OpenSpace on two hosts behind nginx at {running.base}")
        for host in running.hosts:
            print(f"  host {host.name}: {host.base}")
        print(f"  PostgreSQL: {running.database_url}\n  PgBouncer: {running.pooled_url}")
        print("Ctrl-C stops everything.")
        with contextlib.suppress(KeyboardInterrupt):
            while all(host.alive() for host in running.hosts):
                time.sleep(1)


if __name__ == "__main__":
    main()
