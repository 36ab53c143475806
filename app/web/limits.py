"""Rate limits on what participants do, per person and per address.

A person is limited to what a person can do by hand (proposing a topic every few seconds is
already a lot); an address is limited far more generously, because a whole room on the
venue's Wi-Fi may reach us from one address. Counts are kept per minute in this process:
with several workers, each counts on its own, so the limits are per worker.
"""

import math
import time
from collections import Counter

from fastapi import HTTPException, Request

from app.config import Settings
from app.i18n import _
from app.web.deps import IDENTITY_COOKIE
from app.web.middleware import UNSAFE_METHODS

WINDOW = 60.0
# Per minute: (per person, per address).
LIMITS = {
    "join": (10, 600),
    "propose": (10, 600),
    "sign-up": (60, 3000),
    "write": (60, 3000),
}


def category(path: str) -> str:
    """What kind of action a participant's post is, from its route."""
    if path.endswith("/join"):
        return "join"
    if path == "/e/{code}/topics":
        return "propose"
    if path.startswith("/e/{code}/topics/"):
        return "sign-up"
    return "write"


class Limiter:
    """Fixed one-minute windows of counts, per (action, who)."""

    def __init__(self) -> None:
        self._window = 0
        self._counts: Counter[tuple[str, str]] = Counter()

    def allow(self, kind: str, who: str, limit: int) -> bool:
        window = int(time.monotonic() // WINDOW)
        if window != self._window:
            self._window, self._counts = window, Counter()
        self._counts[(kind, who)] += 1
        return self._counts[(kind, who)] <= limit

    def retry_after(self) -> int:
        return max(1, math.ceil(WINDOW - time.monotonic() % WINDOW))


async def rate_limited(request: Request) -> None:
    """Router dependency of the participant pages: refuse a post beyond the limits with 429."""
    if request.method not in UNSAFE_METHODS:
        return
    settings: Settings = request.app.state.settings
    if settings.rate_limit_scale <= 0:
        return
    limiter: Limiter = request.app.state.limiter
    route = request.scope.get("route")
    kind = category(getattr(route, "path", request.url.path))
    per_person, per_address = (math.ceil(n * settings.rate_limit_scale) for n in LIMITS[kind])
    address = request.client.host if request.client else "unknown"
    person = request.cookies.get(IDENTITY_COOKIE) or request.cookies.get("openspace_csrf") or ""
    if not limiter.allow(kind, "a:" + address, per_address) or (
        person and not limiter.allow(kind, "p:" + person[-40:], per_person)
    ):
        raise HTTPException(
            429,
            _(
                "That was a lot in a short time, so we paused it to keep things fair. "
                "Please wait a minute and send it again."
            ),
            headers={"Retry-After": str(limiter.retry_after())},
        )
