"""Pages that answer 304 while nothing changed, and parts of pages drawn once and shared.

Route modules use these from here:

- `Asking`: who is asking (a participant in their event, say), looked up when first used in
  the thread that answers the request. A subclass says how to find them (`look_up`) and
  what its pages depend on (`freshness`); `me.fresh(build)` then answers 304 while that is
  unchanged, else the page `build` draws.
- `drawn_once(...)`: HTML drawn once per agenda version for everyone who sees the same, and
  `personal_page(...)` to send such HTML to one browser.
- `asking(cls)`: the dependency that gives a route its `Asking`.
"""

import asyncio
import hashlib
import inspect
from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from sqlmodel import Session

from app import i18n
from app.templating import render_part, wants_fragment
from app.web.kit.cache import Versioned, VersionedParts
from app.web.kit.routing import LookedUpInThread
from app.web.kit.writer import memory_only, writing_on_the_loop

CSRF_PLACEHOLDER = "csrf-placeholder-7d1e2a"
# A shared page's live parts wait a delay of their own before refetching, so that a change
# does not bring every phone back at the same moment.
JITTER_PLACEHOLDER = "jitter-placeholder-5b3c91"


def fresh(request: Request, build: Callable[[], Response], *depends_on: object) -> Response:
    """304 when the browser's copy is current; otherwise the page `build` draws, with its
    validator. Phones poll and reload the wall all day; while nothing changed, nothing is
    drawn.

    The validator is made of `depends_on`, the language, whether htmx asked for a part (a
    part and the whole page are different answers at one address), and the browser (its
    CSRF token is in the page)."""
    csrf = str(getattr(request.state, "csrf_token", ""))
    browser = hashlib.sha256(csrf.encode()).hexdigest()[:8]
    part = "p" if wants_fragment(request) else "w"
    seen = "-".join(str(v) for v in (*depends_on, i18n.current(), part))
    etag = f'W/"a{seen}-{browser}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "HX-Request"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    response = build()
    response.headers.update(headers)
    return response


class Asking(LookedUpInThread):
    """Who is asking, looked up when first used, in the thread that answers the request."""

    def __init__(self, request: Request, session: Session) -> None:
        self.request = request
        self.session = session

    def look_up(self) -> None:
        """Find who is asking (raise to refuse them); called once, before the route runs."""

    def freshness(self) -> tuple[object, ...]:
        """What this person's pages depend on: while it is the same, they answer 304."""
        raise NotImplementedError

    def fresh(self, build: Callable[[], Response]) -> Response:
        """The page `build` draws, or 304 while `freshness()` is unchanged."""
        return fresh(self.request, build, *self.freshness())

    @staticmethod
    def not_on_the_event_loop() -> None:
        """Looking someone up asks the database: never on the event loop, which would stop
        every other request while it waits (but for a tap, which holds the database)."""
        if writing_on_the_loop():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise RuntimeError("who is asking is looked up in a worker thread")


def asking(cls: type[Asking]) -> Any:
    """The dependency that makes a route's `cls`: it only reads the request, so it costs no
    trip to a thread; `cls` asks the database when the route runs."""

    async def make(**kwargs: Any) -> Asking:
        return cls(**kwargs)

    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    make.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return Depends(memory_only(make))


def drawn_once(
    request: Request,
    event: Versioned,
    key: Hashable,
    template: str,
    context: Callable[[], dict[str, Any]],
    *,
    cache: str = "wall_parts",
    block: str | None = None,
) -> Markup:
    """`template` drawn once per agenda version for everyone who sees it by the same `key`
    (the first to ask draws it; the others asking meanwhile wait for that one), with
    placeholders for each browser's own CSRF token and delay: put it in a page drawn the
    same way, or send it with `personal_page`."""
    parts: VersionedParts[str] = getattr(request.app.state, cache)

    def draw() -> str:
        ctx = {**context(), "jitter": JITTER_PLACEHOLDER}
        return render_part(request, template, ctx, csrf_token=CSRF_PLACEHOLDER, block=block)

    scope = (event.id, event.join_code)
    return Markup(parts.get_or_make(scope, event.agenda_version, key, draw))


def personal_page(request: Request, html: str, jitter: int) -> HTMLResponse:
    """Shared HTML (`drawn_once`) made this browser's: its CSRF token, and its own delay."""
    token = str(escape(str(getattr(request.state, "csrf_token", ""))))
    return HTMLResponse(
        html.replace(CSRF_PLACEHOLDER, token).replace(JITTER_PLACEHOLDER, str(jitter))
    )
