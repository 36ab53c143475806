"""Erasure under load: --erase people of a --people event erase themselves, one after another,
from their own phones ("Erase my data", confirmed), while --clients others keep signing up and
leaving at --rate requests/s.

Prints erasures/s, the sign-up p50/p99 before the erasures (the same open loop, alone) and
during them, the ratio of the two p99s, and the table scan: every text column of every table
(found from the schema) searched for the erased people's names — the figure to read is 0.
The baseline: a bare FastAPI app (bench/bare_app.py) started after the run with the same
server options, workers, clients and rate, answering a one-field form POST; ratios to it.
"""

import argparse
import asyncio
import re
import time
from collections import Counter

import httpx
from common import (
    SECRET,
    TLS,
    bare_baseline,
    continue_as,
    open_loop,
    percentiles,
    start_server,
)
from overbook import prepared
from signup_load import big_sessions, line
from sqlalchemy import String, Text, TypeDecorator
from sqlalchemy import select as select_columns
from sqlmodel import col, select

from app.db import Database
from app.models import Participant, metadata
from app.security import LinkSigner


def names_of(database: Database, ids: list[int]) -> list[str]:
    with database.read() as session:
        return list(
            session.exec(select(Participant.display_name).where(col(Participant.id).in_(ids)))
        )


def scan(database: Database, names: list[str]) -> list[str]:
    """Every table.column whose text holds one of the names (as a whole name)."""
    either = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{either})(?!\w)", re.IGNORECASE)
    found = []
    with database.read() as session:
        for table in metadata.sorted_tables:
            for column in table.columns:
                stored = column.type
                stored = stored.impl_instance if isinstance(stored, TypeDecorator) else stored
                if not isinstance(stored, String | Text):
                    continue
                for (value,) in session.execute(select_columns(column)):
                    if value and pattern.search(str(value)):
                        found.append(f"{table.name}.{column.name}: {value!r}")
    return found


async def main_async(args: argparse.Namespace) -> int:
    url, database, code, people, _topics = prepared(args.database_url, args.people)
    big = big_sessions(database)
    signer = LinkSigner(SECRET)
    writers, leaving = people[: args.clients], people[args.clients : args.clients + args.erase]
    erased_names = names_of(database, leaving)
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    served = start_server(url, workers=args.workers)
    try:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2)
        clients = [
            httpx.AsyncClient(base_url=served.base, timeout=120, limits=limits, verify=TLS)
            for _ in writers
        ]
        await asyncio.gather(
            *(
                continue_as(c, code, signer.sign("device", pid, 1))
                for c, pid in zip(clients, writers, strict=True)
            )
        )

        async def toggle(client: httpx.AsyncClient, n: int) -> httpx.Response:
            action = "sign-up" if n % 2 == 0 else "leave"
            return await client.post(
                f"/e/{code}/topics/{big[n // 2 % len(big)]}/{action}",
                data={"csrf_token": client.cookies["openspace_csrf"]},
            )

        before = await open_loop(clients, toggle, args.rate, args.seconds)
        erased: Counter[int] = Counter()
        erase_lat: list[float] = []
        done = asyncio.Event()

        async def erase_all() -> float:
            started = time.perf_counter()
            async with httpx.AsyncClient(base_url=served.base, timeout=120, verify=TLS) as phone:
                for pid in leaving:
                    phone.cookies.clear()
                    await continue_as(phone, code, signer.sign("device", pid, 1))
                    asked = time.perf_counter()
                    answer = await phone.post(
                        f"/e/{code}/erase",
                        data={
                            "mode": args.mode,
                            "confirmed": "yes",
                            "csrf_token": phone.cookies["openspace_csrf"],
                        },
                    )
                    erase_lat.append(time.perf_counter() - asked)
                    erased[answer.status_code] += 1
            done.set()
            return time.perf_counter() - started

        async def during_erasures() -> tuple[list[float], Counter[int]]:
            latencies: list[float] = []
            statuses: Counter[int] = Counter()
            while not done.is_set():
                _rate, lat, st = await open_loop(clients, toggle, args.rate, 2)
                latencies += lat
                statuses += st
            return latencies, statuses

        took, (during_lat, during_st) = await asyncio.gather(erase_all(), during_erasures())
        for client in clients:
            await client.aclose()
    finally:
        served.stop()
    # The baseline, with the same options, workers, clients and rate: a bare FastAPI form POST.
    bare = await bare_baseline(args.workers, args.clients, rate=args.rate, seconds=args.seconds)
    found = scan(database, erased_names)
    p_before, p_during = percentiles(before[1]), percentiles(during_lat)
    print(
        f"erasure under load on {kind}, {args.workers} worker(s), {args.people} people, "
        f"{args.erase} erased ({args.mode}), {args.clients} others at {args.rate:.0f}/s, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print(
        f"  erasures: {sum(erased.values())} in {took:.1f} s = {sum(erased.values()) / took:.1f}/s "
        f"{dict(sorted(erased.items()))}"
    )
    print(line("erase (the confirmed post alone)", len(erase_lat) / took, erase_lat, erased))
    print(line("sign-up/leave before", before[0], before[1], before[2]))
    print(line("sign-up/leave during erasures", len(during_lat) / took, during_lat, during_st))
    print(bare.line())
    print(bare.ratio("sign-up/leave before", before[0], before[1]))
    print(bare.ratio("sign-up/leave during", len(during_lat) / took, during_lat))
    print(bare.ratio("erase (the confirmed post)", len(erase_lat) / took, erase_lat))
    print(f"  sign-up p99 during / before: {p_during['p99'] / p_before['p99']:.2f}")
    print(f"  table scan for the erased names: {len(found)} found")
    for place in found[:10]:
        print(f"    {place}")
    bad = erased.keys() - {303} or during_st.keys() - {200, 303} or found
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL (emptied); SQLite if not given"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--people", type=int, default=1500)
    parser.add_argument("--erase", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--mode", choices=["name_off", "everything"], default="name_off")
    raise SystemExit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
