"""Sign-up throughput and the wall under load; sign-ups against a bare FastAPI app, same run.

One event in a fresh database (the overbooking set-up, plus one 10,000-seat session per slot),
`openspace serve` with --workers, and --clients concurrent participants:

1. closed loop: each client signs up and leaves in turn as fast as answers come back, then the
   same clients call the app's own `/healthz` (no database, no template, but all of our
   middleware) the same number of times, then each phone's "My agenda" page, then the baseline:
   a bare FastAPI app (bench/bare_app.py, started in the same run with the same server
   options, common.start_bare) with its sync GET, its one-field form POST, its async GET and
   its tiny Jinja page; prints requests/s, p50/p99, the server's processor time per request,
   and the ratios of the sign-up and /healthz (to the bare GET and POST) and of "My agenda"
   (to the bare Jinja page);
2. open loop: sign-ups sent at --rate requests/s for --seconds whatever the answers do;
   prints the rate achieved and p50/p99; run twice, with httpx and with phones that send the
   form and read only the answer's status and headers (common.RawPhone);
3. the wall: phones reloading /e/<code>/wall at --wall-rate requests/s, with the validator
   they were given, while a sign-up changes the wall every half second beside them (a reload
   after a change gets the new page, one before it a 304); prints p50/p95/p99 and how many
   answers were 304. Run twice: with httpx, as the phases above, and with phones that read
   only the status and headers (common.RawPhone), because httpx spends about as much
   processor time on a wall page as the server does, on the same two cores.
"""

import argparse
import asyncio
import time
from collections import Counter

import httpx
from common import (
    SECRET,
    TLS,
    Answered,
    RawPhone,
    closed_loop,
    continue_as,
    open_loop,
    percentiles,
    start_bare,
    start_server,
)
from overbook import prepared
from sqlmodel import select

from app.db import Database
from app.models import Event
from app.models.agenda import TopicCreate
from app.models.event import SpaceCreate
from app.security import LinkSigner
from app.services import events as event_service
from app.services import marketplace, wall


def big_sessions(database: Database) -> list[int]:
    """One 10,000-seat session per slot, so throughput is not limited by full rooms."""
    with database.write() as session:
        event = session.exec(select(Event)).one()
        hall = event_service.add_space(session, event, SpaceCreate(name="Arena", capacity=10_000))
        convener = marketplace.topic_cards(session, event)[0].convener
        ids = []
        for slot in event_service.slots(session, event):
            topic = marketplace.propose_topic(
                session, event, convener, TopicCreate(title=f"Big {slot.id}")
            )
            wall.move_by_facilitator(session, event, topic, slot.id, hall.id)
            ids.append(topic.id or 0)
        return ids


def agenda_version(database: Database) -> int:
    with database.read() as session:
        return session.exec(select(Event.agenda_version)).one()


def line(name: str, rate: float, latencies: list[float], statuses: Counter[int]) -> str:
    p = percentiles(latencies)
    return (
        f"  {name:<34} {rate:7.0f}/s  p50 {p['p50']:6.1f}  p95 {p['p95']:6.1f}  "
        f"p99 {p['p99']:6.1f}  max {p['max']:7.1f} ms  {dict(sorted(statuses.items()))}"
    )


async def main_async(args: argparse.Namespace) -> None:
    url, database, code, people, _topics = prepared(args.database_url, max(500, args.clients))
    big = big_sessions(database)
    signer = LinkSigner(SECRET)
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    served = start_server(url, workers=args.workers)
    base, output = served.base, served.output
    try:
        baseline = start_bare(workers=args.workers)
    except BaseException:
        served.stop()
        raise
    try:
        # Idle connections are dropped before the server's 5 s keep-alive ends, so a request
        # never goes out on a connection the server is closing.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2)
        clients = [
            httpx.AsyncClient(base_url=base, timeout=120, limits=limits, verify=TLS)
            for _ in range(args.clients)
        ]
        await asyncio.gather(
            *(
                continue_as(c, code, signer.sign("device", pid, 1))
                for c, pid in zip(clients, people, strict=False)
            )
        )

        async def toggle(client: httpx.AsyncClient, n: int) -> httpx.Response:
            topic = big[n // 2 % len(big)]
            action = "sign-up" if n % 2 == 0 else "leave"
            return await client.post(
                f"/e/{code}/topics/{topic}/{action}",
                data={"csrf_token": client.cookies["openspace_csrf"]},
            )

        async def healthz(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get("/healthz")

        # The same clients, at the bare app's address (one connection each: the first request
        # there replaces the connection to the app, so each loop below is warmed up first).
        async def bare_get(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get(f"{baseline.base}/sync")

        async def bare_form(client: httpx.AsyncClient, n: int) -> httpx.Response:
            token = client.cookies["openspace_csrf"]
            return await client.post(f"{baseline.base}/form", data={"csrf_token": token})

        for client in clients[:20]:  # warm up
            for n in (0, 1):
                answer = await toggle(client, n)
                if "/join" in answer.headers.get("location", "/join"):  # not signed in
                    raise SystemExit(f"a sign-up was not taken: {answer.status_code}")
        before = served.cpu_seconds()
        signup_rate, signup_lat, signup_st = await closed_loop(clients, toggle, args.per_client)
        signup_cpu = (served.cpu_seconds() - before) / signup_st.total()
        before = served.cpu_seconds()
        try:
            own_rate, own_lat, own_st = await closed_loop(clients, healthz, args.per_client)
        except httpx.HTTPError:
            raise SystemExit("the server stopped answering:\n" + "".join(output[-40:])) from None
        own_cpu = (served.cpu_seconds() - before) / own_st.total()

        async def my_agenda(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get(f"/e/{code}")

        before = served.cpu_seconds()
        mine_rate, mine_lat, mine_st = await closed_loop(clients, my_agenda, args.per_client)
        mine_cpu = (served.cpu_seconds() - before) / mine_st.total()

        async def bare_async(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get(f"{baseline.base}/async")

        async def bare_page(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get(f"{baseline.base}/page")

        await asyncio.gather(*(bare_get(client, 0) for client in clients))  # connect
        before = baseline.cpu_seconds()
        bare_rate, bare_lat, bare_st = await closed_loop(clients, bare_get, args.per_client)
        bare_cpu = (baseline.cpu_seconds() - before) / bare_st.total()
        before = baseline.cpu_seconds()
        form_rate, form_lat, form_st = await closed_loop(clients, bare_form, args.per_client)
        form_cpu = (baseline.cpu_seconds() - before) / form_st.total()
        before = baseline.cpu_seconds()
        async_rate, async_lat, async_st = await closed_loop(clients, bare_async, args.per_client)
        async_cpu = (baseline.cpu_seconds() - before) / async_st.total()
        before = baseline.cpu_seconds()
        page_rate, page_lat, page_st = await closed_loop(clients, bare_page, args.per_client)
        page_cpu = (baseline.cpu_seconds() - before) / page_st.total()
        await asyncio.gather(*(healthz(client, 0) for client in clients))  # back to the app
        fixed_rate, fixed_lat, fixed_st = await open_loop(clients, toggle, args.rate, args.seconds)
        # The same people again, from phones that send the form and read only the answer's
        # status and headers (see RawPhone): the load generator shares the server's cores.
        phones = [
            RawPhone("127.0.0.1", served.port, "; ".join(f"{k}={v}" for k, v in c.cookies.items()))
            for c in clients
        ]
        tokens = {id(p): c.cookies["openspace_csrf"] for p, c in zip(phones, clients, strict=True)}

        async def tap(phone: RawPhone, n: int) -> Answered:
            topic = big[n // 2 % len(big)]
            action = "sign-up" if n % 2 == 0 else "leave"
            path = f"/e/{code}/topics/{topic}/{action}"
            return await phone.post(path, {"csrf_token": tokens[id(phone)]})

        light_rate, light_lat, light_st = await open_loop(phones, tap, args.rate, args.seconds)

        etags: dict[int, str] = {}

        async def reload_wall(client: httpx.AsyncClient | RawPhone, n: int) -> Answered:
            headers = {"If-None-Match": etags[id(client)]} if id(client) in etags else {}
            response = await client.get(f"/e/{code}/wall", headers=headers)
            if "etag" in response.headers:
                etags[id(client)] = response.headers["etag"]
            return response

        # Someone none of the clients is: each of their taps changes the wall. (Before
        # 2026-12-03 the changes were taps of the clients, who after the open loop already
        # sat where they tapped: no tap changed anything, and nearly every reload was a 304.)
        changer = httpx.AsyncClient(base_url=base, timeout=120, verify=TLS)
        await continue_as(changer, code, signer.sign("device", people[-1], 1))

        async def changes() -> int:
            """The wall changes beside the reloads, every 0.5 s; returns how many changes."""
            before = agenda_version(database)
            end = time.perf_counter() + args.seconds
            made = 0
            while time.perf_counter() < end:
                action = "sign-up" if made % 2 == 0 else "leave"
                await changer.post(
                    f"/e/{code}/topics/{big[0]}/{action}",
                    data={"csrf_token": changer.cookies["openspace_csrf"]},
                )
                made += 1
                await asyncio.sleep(0.5)
            return agenda_version(database) - before

        (wall_rate, wall_lat, wall_st), made = await asyncio.gather(
            open_loop(clients, reload_wall, args.wall_rate, args.seconds), changes()
        )
        # The same again from phones that only read the status and headers (see RawPhone).
        etags.clear()
        (raw_rate, raw_lat, raw_st), raw_made = await asyncio.gather(
            open_loop(phones, reload_wall, args.wall_rate, args.seconds), changes()
        )
        for phone in phones:
            phone.close()
        await changer.aclose()
        for client in clients:
            await client.aclose()
    finally:
        served.stop()
        baseline.stop()
    print(
        f"sign-up load on {kind}, {args.workers} worker(s), {args.clients} clients, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print(line("sign-up/leave, closed loop", signup_rate, signup_lat, signup_st))
    print(line("own /healthz (not the baseline)", own_rate, own_lat, own_st))
    print(line("baseline: bare FastAPI GET", bare_rate, bare_lat, bare_st))
    print(line("baseline: bare FastAPI form POST", form_rate, form_lat, form_st))
    print(line("baseline: bare FastAPI async GET", async_rate, async_lat, async_st))
    print(line("baseline: bare FastAPI Jinja page", page_rate, page_lat, page_st))
    print(line("my agenda (a phone's home page)", mine_rate, mine_lat, mine_st))
    print(
        f"  server processor time per request: sign-up/leave {1000 * signup_cpu:.2f} ms, "
        f"own /healthz {1000 * own_cpu:.2f} ms, bare GET {1000 * bare_cpu:.2f} ms, "
        f"bare form POST {1000 * form_cpu:.2f} ms"
    )
    print(
        f"  ratios to the bare GET: sign-up throughput {signup_rate / bare_rate:.2f}, "
        f"processor time {signup_cpu / bare_cpu:.2f}; /healthz throughput "
        f"{own_rate / bare_rate:.2f}, processor time {own_cpu / bare_cpu:.2f}"
    )
    print(
        f"  ratios to the bare form POST: sign-up throughput {signup_rate / form_rate:.2f}, "
        f"processor time {signup_cpu / form_cpu:.2f}"
    )
    print(
        f"  processor time: bare async GET {1000 * async_cpu:.2f} ms, bare Jinja page "
        f"{1000 * page_cpu:.2f} ms, my agenda {1000 * mine_cpu:.2f} ms; my agenda ÷ bare Jinja "
        f"page: throughput {mine_rate / page_rate:.2f}, processor time {mine_cpu / page_cpu:.2f}"
    )
    print(line(f"sign-up/leave, open loop at {args.rate:.0f}/s", fixed_rate, fixed_lat, fixed_st))
    print(line("  the same, light client", light_rate, light_lat, light_st))
    print(
        line(
            f"wall reloads at {args.wall_rate:.0f}/s ({made} changes)", wall_rate, wall_lat, wall_st
        )
    )
    print(line(f"  the same, light client ({raw_made} changes)", raw_rate, raw_lat, raw_st))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--wall-rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
