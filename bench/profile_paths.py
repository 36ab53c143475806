"""Where a request's time goes: py-spy samples the server while one kind of request runs.

The set-up of bench/signup_load.py (a fresh database, `openspace serve`, --clients signed-in
phones), then, one kind of request at a time, a closed loop of it for --seconds while
`py-spy record` samples the server's processes (`--rate` per second, only the thread that
holds Python's lock: where the processor time of Python goes).
Prints, per kind, the share of the samples spent in each part of a request (PARTS: a part
counts with what it calls) and the functions with the most own time; the raw stacks go to
--out (one `stack count` line each: flamegraph.pl or speedscope draw them).
"""

import argparse
import asyncio
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import httpx
from common import closed_loop, signed_in_phones, start_server
from overbook import prepared
from signup_load import big_sessions

KINDS = ("healthz", "signup", "agenda")


# Where a request's time goes, each as the share of samples with that frame on the stack.
PARTS = {
    "the app (all our middleware and below)": ";FastAPI.__call__ (",
    "routing and the route (below our middleware)": ";Router.__call__ (",
    "FastAPI solving dependencies": ";solve_dependencies (",
    "handing work to a worker thread": ";AsyncIOBackend.run_sync_in_worker_thread (",
    "work in worker threads": ";WorkerThread.run (",
    "who is asking (event and participant)": ";Attendee.look_up (",
    "the sign-up or leave itself": ";seat_action (",
    "templates (Jinja)": ";Template.render (",
    "a participant's seats and places": ";marks_of (",
    "opening the write transaction": ";RequestSession.begin_now (",
    "commit or rollback": ";RequestSession.finish (",
    "SQL through SQLAlchemy (anywhere)": ";Session.execute (",
    "the answer sent through the middleware": ";Response.__call__ (",
    "gzip": ";GZipResponder.",
    "reading the Cookie header (ours)": ";_cookie (",
}


def summary(stacks: Path, top: int) -> str:
    """The share of samples of each of PARTS, and the functions with the most own time."""
    parts: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if ";" not in stack:
            continue
        n = int(count)
        total += n
        for name, frame in PARTS.items():
            if frame in stack:
                parts[name] += n
        last = stack.rsplit(";", 1)[-1]
        own[last.rsplit(" (", 1)[0] + " " + _where(last)] += n
    out = [f"  {total} samples (the thread holding Python's lock)"]
    out += [f"    {100 * parts[name] / max(1, total):5.1f}%  {name}" for name in PARTS]
    out.append("  own time:")
    out += [f"    {100 * n / max(1, total):5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(out)


def _where(frame: str) -> str:
    """`file:line` of a py-spy frame, shortened to the package path."""
    place = frame.rsplit(" (", 1)[-1].rstrip(")")
    for marker in ("site-packages/", "/app/", "/bench/"):
        if marker in place:
            return "(" + ("app/" if marker == "/app/" else "") + place.split(marker, 1)[1] + ")"
    return "(" + place.rsplit("/", 1)[-1] + ")"


async def main_async(args: argparse.Namespace) -> None:
    spy = shutil.which("py-spy") or str(Path(__file__).parents[1] / ".venv/bin/py-spy")
    url, _database, code, people, _topics = prepared(args.database_url, max(500, args.clients))
    big = big_sessions(_database)
    served = start_server(url)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="openspace-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        clients = await signed_in_phones(served.base, code, people[: args.clients])

        async def healthz(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get("/healthz")

        async def signup(client: httpx.AsyncClient, n: int) -> httpx.Response:
            topic = big[n // 2 % len(big)]
            action = "sign-up" if n % 2 == 0 else "leave"
            return await client.post(
                f"/e/{code}/topics/{topic}/{action}",
                data={"csrf_token": client.cookies["openspace_csrf"]},
            )

        async def agenda(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get(f"/e/{code}")

        ask = {"healthz": healthz, "signup": signup, "agenda": agenda}
        for kind in args.kinds:
            await closed_loop(clients, ask[kind], 4)  # warm up
            stacks = out / f"{kind}.txt"
            recorder = subprocess.Popen(
                [
                    *(spy, "record", "--pid", str(served.process.pid), "--subprocesses"),
                    *("--rate", str(args.rate), "--format", "raw", "--gil"),
                    *("--duration", str(int(args.seconds) + 1), "--output", str(stacks)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await asyncio.sleep(1)  # py-spy attached
            loop = asyncio.get_running_loop()
            end = loop.time() + args.seconds
            answered: Counter[int] = Counter()
            while loop.time() < end:
                _rate, _latencies, statuses = await closed_loop(clients, ask[kind], 1)
                answered += statuses
            await asyncio.to_thread(recorder.wait)
            print(f"{kind}: {dict(answered)}")
            print(summary(stacks, args.top))
        for client in clients:
            await client.aclose()
    finally:
        served.stop()
    print(f"stacks in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--out", default="")
    parser.add_argument("--database-url", default="")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
