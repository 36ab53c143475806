"""Rate limits on what participants do, per person and per address.

A person is limited to what a person can do by hand (proposing a topic every few seconds is
already a lot); an address is limited far more generously, because a whole room on the
venue's Wi-Fi may reach us from one address. The counts are shared by every worker and
host (app/rates.py: PostgreSQL or Redis), except on SQLite, where each process counts its own.
"""

import ipaddress
import math

import anyio.to_thread
from fastapi import HTTPException, Request

from app.config import Settings
from app.i18n import _
from app.rates import Counts
from app.web.kit.common import IDENTITY_COOKIE
from app.web.kit.middleware import UNSAFE_METHODS
from app.web.kit.writer import memory_only

# Per minute: (per person, per address).
LIMITS = {
    "join": (10, 600),
    "propose": (10, 600),
    "sign-up": (60, 3000),
    "write": (60, 3000),
}
# Join codes typed that match no event, per minute per address (a room behind one address
# mistypes some while it joins). With 23⁸ possible codes, an address guessing at this pace
# without a pause for a year would find any one of 1,000 events with odds of about 1 in 5.
WRONG_CODES = 30


def category(path: str) -> str:
    """What kind of action a participant's post is, from its route."""
    if path.endswith("/join"):
        return "join"
    if path == "/e/{code}/topics":
        return "propose"
    if path.startswith("/e/{code}/topics/"):
        return "sign-up"
    return "write"


def address_of(request: Request) -> str:
    """Whom an address limit counts: the client's address, or for IPv6 its /64 network (one
    phone or household is handed a whole /64)."""
    host = request.client.host if request.client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return host


def _refused(seconds: int, message: str | None = None) -> HTTPException:
    return HTTPException(
        429,
        message
        or _(
            "That was a lot in a short time, so we paused it to keep things fair. "
            "Please wait a minute and send it again."
        ),
        headers={"Retry-After": str(seconds)},
    )


def _scaled(request: Request, limit: int) -> int:
    settings: Settings = request.app.state.settings
    return math.ceil(limit * settings.rate_limit_scale)


def looked_up(request: Request, found: bool, member: bool) -> None:
    """A join code was looked up: refuse the answer to someone not in its event, from an
    address that has typed too many wrong ones this minute — right or wrong alike, so that
    guessing tells nothing (codes cannot be enumerated); else count it if it matched no
    event. People already in the event carry on."""
    limiter: Counts = request.app.state.limiter
    limit = _scaled(request, WRONG_CODES)
    if limit <= 0:
        return
    address = address_of(request)
    if not member and limiter.spent("code", address, limit):
        seconds = limiter.retry_after("code", address, limit)
        raise _refused(
            seconds,
            _(
                "Many codes that match no event were typed on this network just now, so "
                "looking up codes is paused for %(seconds)s seconds. Your code may well be "
                "right: try it again then.",
                seconds=seconds,
            ),
        )
    if not found:
        limiter.note("code", address)


# On SQLite the counts are in memory; elsewhere they are asked for in a thread of their own,
# outside the request's transaction (a refused request still counts).
@memory_only
async def rate_limited(request: Request) -> None:
    """Router dependency of the participant pages: refuse a post beyond the limits with 429."""
    if request.method not in UNSAFE_METHODS:
        return
    settings: Settings = request.app.state.settings
    if settings.rate_limit_scale <= 0:
        return
    limiter: Counts = request.app.state.limiter
    route = request.scope.get("route")
    kind = category(getattr(route, "path", request.url.path))
    per_person, per_address = (_scaled(request, n) for n in LIMITS[kind])
    person = request.cookies.get(IDENTITY_COOKIE) or request.cookies.get("openspace_csrf") or ""
    counted = [("a:" + address_of(request), per_address)]
    if person:
        counted.append(("p:" + person[-40:], per_person))
    if limiter.shared:  # a database or Redis to ask: not on the event loop
        seconds = await anyio.to_thread.run_sync(_count, limiter, kind, counted)
    else:
        seconds = _count(limiter, kind, counted)
    if seconds:
        raise _refused(seconds)


def _count(limiter: Counts, kind: str, counted: list[tuple[str, int]]) -> int:
    """Count one for each (who, limit) in turn: 0 if all were within their limits, else the
    seconds to wait before the first that was not is."""
    for who, limit in counted:
        if not limiter.allow(kind, who, limit):
            return limiter.retry_after(kind, who, limit)
    return 0
