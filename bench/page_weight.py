"""What a participant's phone downloads: each page cold (with everything it loads) and warm,
and each live update, in bytes as they travel (compressed, headers included).

Starts `openspace serve --demo` on a fresh database, joins the demo event as a new phone,
and walks the participant's pages the way a phone does: the first page with its stylesheet,
scripts (htmx included), and icon; every later page with those already cached (their
names change with their content, and they are cached for a year). Then the updates: one
sign-up by someone else as the Server-Sent Events carry it to this phone, the parts of
pages that htmx fetches when the stream says something changed, and the answer to this
phone's own sign-up. Targets: first page under 50 KB, each update under 5 KB. The baseline:
the tiny Jinja page of a bare FastAPI app (bench/bare_app.py) served with the same options.
"""

import argparse
import re
import threading
import time
from urllib.parse import urljoin

import httpx
from common import TLS, demo_join_code, fresh_database, server, start_bare

FIRST_PAGE_LIMIT = 50 * 1024
UPDATE_LIMIT = 5 * 1024
PHONE = {
    "Accept-Encoding": "gzip",
    "User-Agent": "Mozilla/5.0 (Linux; Android 8.1; old phone) Chrome/90 Mobile",
}
HX = {"HX-Request": "true"}
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"')


def wire_bytes(response: httpx.Response) -> int:
    """The response as transferred: status line, headers and the (compressed) body."""
    head = sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 17
    return head + response.num_bytes_downloaded


def fetch(phone: httpx.Client, url: str, **kwargs: object) -> tuple[httpx.Response, int]:
    response = phone.get(url, **kwargs)  # type: ignore[arg-type]
    response.read()
    return response, wire_bytes(response)


def page_weights(phone: httpx.Client, pages: list[str]) -> list[tuple[str, int, int, int]]:
    """Per page: its own bytes, its assets' bytes when none are cached yet, and the total."""
    rows = []
    for url in pages:
        response, own = fetch(phone, url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        assets = 0
        for asset in sorted(set(ASSET.findall(response.text))):
            part, size = fetch(phone, urljoin(url, asset))
            if "immutable" not in part.headers.get("cache-control", ""):
                raise SystemExit(f"{asset} is not cached for long: {part.headers}")
            assets += size
        rows.append((url, own, assets, own + assets))
    return rows


def listen(
    base: str, code: str, cookies: httpx.Cookies, into: list[bytes], ready: threading.Event
) -> None:
    """A phone's event stream: every byte it receives until the server stops."""
    try:
        with (
            httpx.Client(base_url=base, cookies=cookies, timeout=None, verify=TLS) as phone,
            phone.stream("GET", f"/e/{code}/live", headers=PHONE) as stream,
        ):
            for chunk in stream.iter_raw():
                into.append(chunk)
                ready.set()
    except httpx.HTTPError:
        return  # the server stopped at the end of the run


def join(base: str, code: str, name: str) -> httpx.Client:
    phone = httpx.Client(base_url=base, timeout=60, verify=TLS, headers=PHONE)
    form = phone.get(f"/e/{code}/join")
    key = re.search(r'name="join_key" value="([^"]+)"', form.text)
    phone.post(
        f"/e/{code}/join",
        data={
            "display_name": name,
            "csrf_token": phone.cookies["openspace_csrf"],
            "join_key": key.group(1) if key else "",
        },
    )
    return phone


def sign_up_form(phone: httpx.Client, code: str) -> tuple[str, dict[str, str]] | None:
    """The first sign-up button on the wall with a free seat: its action and fields."""
    wall = phone.get(f"/e/{code}/wall").text
    for form in re.finditer(r'<form[^>]+action="([^"]+/sign-up)"[^>]*>(.*?)</form>', wall, re.S):
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
        return form.group(1), fields
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--language", default="en", help="en, pl or ur (Accept-Language)")
    args = parser.parse_args()
    PHONE["Accept-Language"] = args.language
    url = fresh_database(args.database_url)
    with server(url, demo=True) as (base, output):
        code = demo_join_code(output)

        # The very first page a phone sees after scanning the QR code: the join form, cold.
        with httpx.Client(base_url=base, timeout=60, verify=TLS, headers=PHONE) as newcomer:
            first = page_weights(newcomer, [f"/e/{code}/join"])[0]

        me = join(base, code, "Weighing phone")
        other = join(base, code, "Someone else")
        pages = [
            f"/e/{code}",
            f"/e/{code}/wall",
            f"/e/{code}/topics",
            f"/e/{code}/reports",
            f"/e/{code}/news",
            f"/e/{code}/actions",
            f"/e/{code}/pledge",
        ]
        rows = page_weights(me, pages)

        # Updates: one sign-up by someone else, as this phone's stream carries it.
        received: list[bytes] = []
        ready = threading.Event()
        listener = threading.Thread(
            target=listen, args=(base, code, me.cookies, received, ready), daemon=True
        )
        listener.start()
        ready.wait(10)
        time.sleep(1.0)
        before = sum(map(len, received))
        found = sign_up_form(other, code)
        if found is None:
            raise SystemExit("the demo wall has no session with a free seat")
        action, fields = found
        other.post(action, data={**fields, "csrf_token": other.cookies["openspace_csrf"]})
        time.sleep(2.0)
        stream_bytes = sum(map(len, received)) - before

        updates = [("stream message for someone else's sign-up", stream_bytes)]
        for name, part in (
            ("wall slots (on sse:wall)", f"/e/{code}/wall/slots"),
            ("my agenda (on sse:mine)", f"/e/{code}"),
            ("topic list (on sse:topics)", f"/e/{code}/topics"),
            ("news (on sse:news)", f"/e/{code}/news"),
        ):
            _response, size = fetch(me, part, headers=HX)
            updates.append((name, size))
        mine = sign_up_form(me, code)
        if mine is not None:
            action, fields = mine
            answer = me.post(
                action,
                data={**fields, "csrf_token": me.cookies["openspace_csrf"]},
                headers=HX,
            )
            answer.read()
            updates.append(("answer to my own sign-up (htmx)", wire_bytes(answer)))

    # The baseline: a bare FastAPI app's tiny Jinja page, served with the same options.
    bare = start_bare()
    try:
        with httpx.Client(base_url=bare.base, timeout=60, headers=PHONE) as plain:
            _answer, bare_bytes = fetch(plain, "/page")
    finally:
        bare.stop()
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"page weights on {kind}, demo event, in {args.language!r}, "
        f"{time.strftime('%Y-%m-%d')} (gzip, headers included)"
    )
    print(f"{'first page (cold cache)':<36}{'page':>8}{'assets':>8}{'total':>8}")
    print(f"{first[0].replace(code, 'CODE'):<36}{first[1]:>8}{first[2]:>8}{first[3]:>8}")
    print(f"{'later pages (assets cached)':<36}{'page':>8}{'cold':>8}")
    for page, own, _assets, total in rows:
        print(f"{page.replace(code, 'CODE'):<36}{own:>8}{total:>8}")
    print(f"{'updates':<52}{'bytes':>8}")
    for name, size in updates:
        print(f"{name:<52}{size:>8}")
    worst_first = max([first[3]] + [total for *_x, total in rows])
    worst_update = max(size for _name, size in updates)
    print(
        f"heaviest cold page {worst_first / 1024:.1f} KB (limit 50), "
        f"heaviest update {worst_update / 1024:.1f} KB (limit 5)"
    )
    print(
        f"baseline: a bare FastAPI Jinja page is {bare_bytes} bytes; the heaviest cold page "
        f"is {worst_first / bare_bytes:.0f}× that"
    )
    if worst_first > FIRST_PAGE_LIMIT or worst_update > UPDATE_LIMIT:
        raise SystemExit("over the limit")


if __name__ == "__main__":
    main()
