"""How long `openspace serve` takes to start 1, 2 and 4 workers, against a bare FastAPI app
served with the same options in the same run.

Each start is timed from the process's start until the first 200 from `/healthz` (a route
with no database and no template), and until every worker has said "Application startup
complete". The bare app is served by the same launcher (app/serving.py) with the same
uvicorn options as `openspace serve`, so the ratio is what our app adds: its imports, its
start-up and `openspace serve`'s migration check. Medians of --runs starts each.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date

import httpx
from common import ROOT, environment, free_port, fresh_database
from fastapi import FastAPI


def bare_app() -> FastAPI:
    """The baseline: FastAPI with one route and nothing else."""
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _served_options(workers: int, port: int) -> list[str]:
    """The launcher's command for the bare app, with `openspace serve`'s own options."""
    from app.cli import log_config
    from app.config import Settings

    settings = Settings()
    options = {
        "app": "startup:bare_app",
        "factory": True,
        "host": "127.0.0.1",
        "port": port,
        "workers": workers,
        "proxy_headers": False,
        "forwarded_allow_ips": [],
        "log_level": "info",
        "log_config": log_config("info"),
        "access_log": False,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "timeout_graceful_shutdown": 3,
        "timeout_worker_healthcheck": 30,
    }
    arguments = {"uvicorn": options, "header_timeout": settings.header_timeout_seconds}
    return [sys.executable, "-m", "app.serving", json.dumps(arguments)]


def start_once(
    command: list[str], env: dict[str, str], port: int, workers: int
) -> tuple[float, float]:
    """Seconds from the process's start to its first 200, and to every worker started."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    first = None
    ready = 0
    assert process.stderr is not None
    os.set_blocking(process.stderr.fileno(), False)
    try:
        while first is None or ready < workers:
            if time.perf_counter() - started > 120 or process.poll() is not None:
                raise SystemExit(f"{command[:4]} did not start")
            for line in iter(process.stderr.readline, ""):
                ready += "Application startup complete" in line
            if first is None:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        first = time.perf_counter() - started
                except httpx.HTTPError:
                    pass
            time.sleep(0.02)
        return first, time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    database = fresh_database("")
    print(
        f"start-up of openspace serve and of a bare FastAPI app, {date.today()}, "
        f"{os.cpu_count()} cores, medians of {args.runs} starts"
    )
    for workers in args.workers:
        times: dict[str, list[tuple[float, float]]] = {"openspace": [], "bare": []}
        for _ in range(args.runs):
            # Taken in turn, so that both see the machine as busy as it is.
            port = free_port()
            env = {**environment(database, port, workers), "OPENSPACE_LOG_LEVEL": "info"}
            ours = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
            times["openspace"].append(
                start_once([*ours, "--workers", str(workers)], env, port, workers)
            )
            port = free_port()
            bare_env = {**env, "PYTHONPATH": str(ROOT / "bench")}
            times["bare"].append(
                start_once(_served_options(workers, port), bare_env, port, workers)
            )
        medians = {
            name: (statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs))
            for name, runs in times.items()
        }
        (ours_first, ours_all), (bare_first, bare_all) = medians["openspace"], medians["bare"]
        print(
            f"  {workers} worker(s): first 200 {ours_first:5.2f} s (bare {bare_first:5.2f} s, "
            f"{ours_first / bare_first:.1f}x); all workers started {ours_all:5.2f} s "
            f"(bare {bare_all:5.2f} s, {ours_all / bare_all:.1f}x); "
            f"slowest openspace start {max(t[1] for t in times['openspace']):.2f} s"
        )


if __name__ == "__main__":
    main()
