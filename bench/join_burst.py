"""A room joins at once: N phones each open the join form and post a name, all together.

Starts `openspace serve` on a fresh database (SQLite by default, or --database-url), then
measures the same join flow twice in one run: one phone at a time (the baseline), and
--concurrency phones at once. Prints latency percentiles, throughput, failures, and the
ratio of the burst's median to the baseline's median; and the same number of requests to a
bare FastAPI app (bench/bare_app.py) served with the same options, with ratios to it.
Nothing here is typed in by hand.
"""

import argparse
import asyncio
import os
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from common import TLS, bare_baseline, demo_join_code, fresh_database, server


def one_join(base: str, code: str, n: int) -> tuple[float, int]:
    """One phone: fetch the join form, post a name. Returns seconds and the final status."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=60, verify=TLS) as phone:
        form = phone.get(f"/e/{code}/join")
        token = phone.cookies["openspace_csrf"]
        key = re.search(r'name="join_key" value="([^"]+)"', form.text)
        posted = phone.post(
            f"/e/{code}/join",
            data={
                "display_name": f"Bench person {n} ✓",
                "csrf_token": token,
                "join_key": key.group(1) if key else "",
            },
        )
        status = posted.status_code
        if status == 303:
            status = phone.get(f"/e/{code}").status_code
    return time.perf_counter() - started, status


def run(base: str, code: str, people: int, concurrency: int, offset: int) -> dict[str, float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda n: one_join(base, code, offset + n), range(people)))
    elapsed = time.perf_counter() - started
    latencies = sorted(seconds for seconds, _ in results)
    failures = sum(1 for _, status in results if status != 200)
    q = statistics.quantiles(latencies, n=100)
    return {
        "people": people,
        "concurrency": concurrency,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": q[98] * 1000,
        "max_ms": latencies[-1] * 1000,
        "joins_per_s": people / elapsed,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    url = fresh_database(args.database_url)
    with server(url, workers=args.workers, demo=True) as (base, output):
        code = demo_join_code(output)
        one_join(base, code, 0)  # warm up
        baseline = run(base, code, min(60, args.people), 1, 10_000)
        burst = run(base, code, args.people, args.concurrency, 20_000)

    # The baseline: as many clients, each sending as many requests as its joins made (three a
    # join), one-field form POSTs to a bare FastAPI app served with the same options.
    per_client = 3 * args.people // args.concurrency
    bare = asyncio.run(bare_baseline(args.workers, args.concurrency, per_client=per_client))
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"join burst on {kind}, {args.workers} worker(s), {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print(
        f"{'run':<10}{'people':>8}{'conc':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'joins/s':>9}{'failed':>8}"
    )
    for name, row in (("baseline", baseline), ("burst", burst)):
        print(
            f"{name:<10}{row['people']:>8}{row['concurrency']:>6}{row['p50_ms']:>9.1f}"
            f"{row['p99_ms']:>9.1f}{row['max_ms']:>9.1f}{row['joins_per_s']:>9.1f}"
            f"{row['failures']:>8}"
        )
    print(
        f"burst median / baseline median: {burst['p50_ms'] / baseline['p50_ms']:.1f}x; "
        f"throughput burst / baseline: {burst['joins_per_s'] / baseline['joins_per_s']:.1f}x"
    )
    print(bare.line())
    joins = 3 * burst["joins_per_s"]
    print(
        f"  a join's three requests ÷ three bare form POSTs: throughput {joins / bare.rate:.2f}, "
        f"p50 {burst['p50_ms'] / (3 * statistics.median(bare.latencies) * 1000):.1f}×"
    )
    if burst["failures"] or baseline["failures"]:
        raise SystemExit("some joins failed")


if __name__ == "__main__":
    main()
