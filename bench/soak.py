"""A soak: a simulated 500-person event for 30 minutes, with every phone's live stream open.

A fresh database with the event set up (the overbooking wall: 2 slots × 10 small spaces,
plus a 10,000-seat session per slot) and `openspace serve`. --people phones join over HTTP
(the join form, then the post) during the first minutes, open their live stream (held open
the way EventSource holds it, reconnecting if dropped), then act until the end, each waiting a
random think time (mean --think seconds) between actions: read their agenda, the wall, the
topic list or a topic; propose a topic (about one person in seven, once); mark interest; sign
up (or switch), leave, join a waitlist; write a line in a session's report.

Prints, for each route: requests, p50/p99 latency and 5xx; the server's resident memory every
five minutes and its growth from the end of the warm-up (the first five minutes, or a sixth
of a shorter run) to the last minute; how many streams stayed open and how often they had to
reconnect; and the overbooking checks on the database at the end. Exits non-zero on any 5xx,
a failed check, or memory growth of 10% or more. The baseline: a bare FastAPI app
(bench/bare_app.py) served with the same options, asked for its tiny Jinja page at the soak's
rate for a minute; ratios to it.
"""

import argparse
import asyncio
import random
import re
import statistics
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import httpx
from common import TLS, bare_baseline, percentiles, start_server
from live_fanout import Listener
from overbook import check, prepared
from signup_load import big_sessions

ACTIONS = {  # what a person does next, and how often (weights)
    "home": 20,
    "wall": 14,
    "topics": 10,
    "topic": 6,
    "propose": 3,
    "interest": 10,
    "sign-up": 16,
    "leave": 5,
    "waitlist": 3,
    "report": 13,
}


class Phone:
    """One person's phone: their browser (cookies), and their live stream once joined."""

    def __init__(self, base: str, code: str, n: int, rng: random.Random) -> None:
        self.code, self.n, self.rng = code, n, rng
        # Idle connections are dropped before the server's 5 s keep-alive ends, so a request
        # never goes out on a connection the server is closing.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2)
        self.client = httpx.AsyncClient(base_url=base, timeout=60, limits=limits, verify=TLS)
        self.listener: Listener | None = None
        self.proposer = rng.random() < 0.15

    async def send(self, label: str, method: str, url: str, stats: "Stats", **kw: object) -> None:
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kw)  # type: ignore[arg-type]
            status = response.status_code
        except httpx.HTTPError as exc:
            status = 0
            stats.unanswered[type(exc).__name__] += 1
        stats.record(label, status, time.perf_counter() - started)

    def form(self, **fields: str) -> dict[str, str]:
        return {**fields, "csrf_token": self.client.cookies.get("openspace_csrf", "")}

    async def join(self, stats: "Stats") -> bool:
        started = time.perf_counter()
        try:
            page = await self.client.get(f"/e/{self.code}/join")
            key = re.search(r'name="join_key" value="([^"]+)"', page.text)
            answer = await self.client.post(
                f"/e/{self.code}/join",
                data=self.form(display_name=f"Person {self.n}", join_key=key[1] if key else ""),
            )
            status = answer.history[0].status_code if answer.history else answer.status_code
        except httpx.HTTPError as exc:
            status = 0
            stats.unanswered[type(exc).__name__] += 1
        stats.record("POST /e/{code}/join (form + post)", status, time.perf_counter() - started)
        return status == 303

    async def act(self, stats: "Stats", topics: list[int], mine: list[int]) -> None:
        code, rng = self.code, self.rng
        action = rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        topic = rng.choice(topics)
        htmx = {"HX-Request": "true"}
        if action == "home":
            await self.send("GET /e/{code}", "GET", f"/e/{code}", stats)
        elif action == "wall":
            await self.send("GET /e/{code}/wall", "GET", f"/e/{code}/wall", stats)
        elif action == "topics" or (action == "propose" and not self.proposer):
            await self.send("GET /e/{code}/topics", "GET", f"/e/{code}/topics", stats)
        elif action == "topic":
            await self.send("GET /e/{code}/topics/{id}", "GET", f"/e/{code}/topics/{topic}", stats)
        elif action == "propose" and self.proposer:
            self.proposer = False  # one topic each, from about one person in seven
            title = f"Idea {self.n}-{rng.randrange(10**6)}"
            await self.send(
                "POST /e/{code}/topics",
                "POST",
                f"/e/{code}/topics",
                stats,
                data=self.form(title=title),
                follow_redirects=False,
            )
        elif action == "interest":
            await self.send(
                "POST /e/{code}/topics/{id}/interest",
                "POST",
                f"/e/{code}/topics/{topic}/interest",
                stats,
                data=self.form(fragment="card", fragment_id=str(topic)),
                headers=htmx,
            )
        elif action in ("sign-up", "leave", "waitlist"):
            if action == "leave" and mine:
                topic = rng.choice(mine)
            await self.send(
                f"POST /e/{{code}}/topics/{{id}}/{action}",
                "POST",
                f"/e/{code}/topics/{topic}/{action}",
                stats,
                data=self.form(fragment="status", fragment_id=str(topic)),
                headers=htmx,
            )
            if action == "sign-up":
                mine.append(topic)
        else:
            body = f"Point {rng.randrange(10**6)} from person {self.n}: what we agreed."
            await self.send(
                "POST /e/{code}/reports/{id}/contributions",
                "POST",
                f"/e/{code}/reports/{topic}/contributions",
                stats,
                data=self.form(kind="key_point", body=body),
                follow_redirects=False,
            )


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.unanswered: Counter[str] = Counter()  # no answer (status 0), by what httpx raised

    def record(self, label: str, status: int, seconds: float) -> None:
        self.latencies[label].append(seconds)
        self.statuses[label][status] += 1

    def server_errors(self) -> int:
        return sum(n for c in self.statuses.values() for s, n in c.items() if s >= 500)


async def main_async(args: argparse.Namespace) -> int:
    url, database, code, _people, by_slot = prepared(args.database_url, 20)
    topics = [t for ids in by_slot.values() for t in ids] + big_sessions(database)
    served = start_server(url, workers=args.workers)
    parts = urlsplit(served.base)
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    length = args.minutes * 60
    warm = min(300.0, length / 6)
    print(
        f"soak on {kind}, {args.workers} worker(s): {args.people} people for {args.minutes:g} "
        f"min, think time {args.think:g} s, {time.strftime('%Y-%m-%d')}"
    )
    stats = Stats()
    rng = random.Random(args.seed)
    phones = [Phone(served.base, code, n, random.Random(rng.random())) for n in range(args.people)]
    began = time.perf_counter()
    end = began + length
    memory: list[tuple[float, int]] = []

    async def person(phone: Phone) -> None:
        await asyncio.sleep(phone.rng.uniform(0, warm * 0.6))  # people arrive over a while
        while not await phone.join(stats):
            if time.perf_counter() > end:
                return
            await asyncio.sleep(5)
        cookie = "; ".join(f"{k}={v}" for k, v in phone.client.cookies.items())
        phone.listener = Listener(parts.hostname or "", parts.port or 80, f"/e/{code}/live", cookie)
        stream = asyncio.create_task(phone.listener.run())
        mine: list[int] = []
        while (wait := phone.rng.expovariate(1 / args.think)) + time.perf_counter() < end:
            await asyncio.sleep(wait)
            await phone.act(stats, topics, mine)
        phone.listener.stopped = True
        stream.cancel()

    async def sample_memory() -> None:
        while time.perf_counter() < end:
            memory.append((time.perf_counter() - began, served.rss_kib()))
            await asyncio.sleep(10)

    sampler = asyncio.create_task(sample_memory())
    await asyncio.gather(*(person(phone) for phone in phones))
    await sampler
    open_streams = sum(1 for p in phones if p.listener and p.listener.connects)
    reconnects = sum(max(0, p.listener.connects - 1) for p in phones if p.listener)
    for phone in phones:
        await phone.client.aclose()
    served.stop()

    print(f"  {'route':<46} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}  answers")
    for label in sorted(stats.latencies):
        p = percentiles(stats.latencies[label])
        answers = dict(sorted(stats.statuses[label].items()))
        print(
            f"  {label:<46} {len(stats.latencies[label]):>8} {p['p50']:>8.1f} {p['p99']:>8.1f}"
            f"  {answers}"
        )
    total = sum(len(v) for v in stats.latencies.values())
    print(f"  {total} requests in all ({total / length:.0f}/s); 5xx: {stats.server_errors()}")
    unanswered = sum(stats.unanswered.values())
    print(f"  no answer (status 0): {unanswered} {dict(stats.unanswered) if unanswered else ''}")
    marks = [
        f"{t / 60:.0f} min {kib / 1024:.0f} MiB" for t, kib in memory[:: max(1, len(memory) // 6)]
    ]
    print("  server memory: " + ", ".join(marks))
    after_warm = [kib for t, kib in memory if warm <= t < warm + 60] or [memory[0][1]]
    last = [kib for t, kib in memory if t >= length - 60] or [memory[-1][1]]
    growth = statistics.median(last) / statistics.median(after_warm) - 1
    print(
        f"  memory growth from the end of the warm-up ({warm / 60:.0f} min) to the last minute: "
        f"{growth * 100:+.1f}% ({statistics.median(after_warm) / 1024:.0f} → "
        f"{statistics.median(last) / 1024:.0f} MiB)"
    )
    print(f"  live streams: {open_streams} of {args.people} opened; {reconnects} reconnects")
    # The baseline: a bare FastAPI app, same options and workers, asked for its tiny Jinja page
    # at the soak's own request rate by as many clients, for a minute.
    rate = total / length
    bare = await bare_baseline(
        args.workers, min(args.people, 200), path="/page", rate=rate, seconds=60
    )
    print(bare.line())
    every = [seconds for samples in stats.latencies.values() for seconds in samples]
    print(bare.ratio("every request of the soak", rate, every))
    checks = check(database)
    print("  " + "; ".join(f"{k}: {v}" for k, v in checks.items()))
    failed = (
        stats.server_errors() > 0
        or unanswered > 0
        or growth >= 0.10
        or checks["sessions over capacity"]
        or checks["people with two seats in a slot"]
        or checks["sign-up rows"] != checks["seats taken (sum over sessions)"]
    )
    print(
        "  FAILED" if failed else "  passed: no 5xx, all answered, memory flat, no seat given twice"
    )
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--think", type=float, default=8.0, help="mean seconds between actions")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=7)
    raise SystemExit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
