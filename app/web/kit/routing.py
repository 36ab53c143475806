"""How a route is run: in one trip to a worker thread, with SQLite's one writer, and with a
refused form shown again by the page it came from.

Route modules never see any of this: they make a `Router` and write plain (sync) functions.
What each route declares, it declares to the router:

    @router.post("/topics/{topic_id}/interest", tap=True, again=topic_page)

- `tap=True`: a small write of a few statements on rows found by their keys (a tap on a
  phone). When the database is free at that instant it is done on the event loop itself,
  which is shorter than handing it to the writer's thread and back.
- `again=page`: the page to show again, with the person's words and the messages by the
  fields, when the route raises `FormInvalid` (422) or a service finds what was sent
  `Invalid` (422) or refuses it (`Refused`, 409). `NotFound` (404) and `NotAllowed` (403)
  are never shown again: they answer with their error page.
  `page` is called with those of the route's own arguments it names, and with `values`,
  `errors`, `error` and `status_code` if it names them (or takes `**kwargs`).
"""

import functools
import inspect
import re
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Match
from starlette.types import Scope

from app.services.errors import Invalid, Refused
from app.web.kit.forms import FormInvalid, typed_values
from app.web.kit.middleware import request_session
from app.web.kit.writer import MEMORY_ONLY, QUICK_WRITE, on_the_loop

E = TypeVar("E", bound=Callable[..., Any])
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_ONE_TRIP = "openspace_one_trip"
# The request a route answers, for the page `again` draws (the route may not take it).
_answering: ContextVar[Request | None] = ContextVar("openspace_answering", default=None)
_AGAIN = "openspace_again"


class LookedUpInThread:
    """A dependency that asks the database only when first used, in the worker thread that
    answers the request, so that a request makes one trip to a thread, not one for the
    dependency and one for the route (see `Asking` in app/web/kit/pages.py)."""

    def look_up(self) -> None:
        raise NotImplementedError


def finish_with(answer: object) -> None:
    """Commit the request's transaction now, in this worker thread, if `answer` is a response
    that says it succeeded (roll it back if it says otherwise).

    The middleware would do the same before the answer starts, but from the event loop, in
    one more trip to a worker thread; on PostgreSQL the transaction's row locks would be
    held for that trip too. A streamed answer may still read: it is left to the middleware.
    """
    holder = request_session.get()
    if holder is None or not isinstance(answer, Response):
        return
    if isinstance(answer, StreamingResponse):
        return
    holder.finish(answer.status_code < 400)


def _again(
    page: Callable[..., Response], route_args: dict[str, Any], refusal: Exception
) -> Response:
    """The page a refused form came from, drawn again with the person's words and the reason."""
    holder = request_session.get()
    if holder is not None and holder.session is not None:
        holder.session.rollback()  # nothing of the refused write stays, nor its locks
    form = next((v for v in route_args.values() if isinstance(v, FormData)), None)
    if isinstance(refusal, FormInvalid):
        values, errors, error, status = refusal.values, refusal.errors, "", 422
    else:
        assert isinstance(refusal, Invalid | Refused)
        values = typed_values(form) if form is not None else {}
        errors = {refusal.field: refusal.message} if refusal.field else {}
        error, status = refusal.message, 422 if isinstance(refusal, Invalid) else 409
    offered = {"values": values, "errors": errors, "error": error, "status_code": status}
    wanted = inspect.signature(page).parameters
    takes_more = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in wanted.values())
    args = {name: value for name, value in route_args.items() if name in wanted}
    if "request" in wanted and "request" not in args:
        args["request"] = _answering.get()
    args.update({k: v for k, v in offered.items() if k in wanted or takes_more})
    response = page(**args)
    if response.status_code < 400:  # unless the page said otherwise itself
        response.status_code = status
    return response


class OneTripRoute(APIRoute):
    """A route that keeps the write lock no longer than it needs, and a plain (sync) route
    that does its database work in one trip to a worker thread.

    A plain route's dependencies that wait for it (LookedUpInThread) are looked up, in the
    order of its parameters, before its own code runs (who is asking is known before what
    they sent is read); then it answers, and its transaction is committed, in the same
    thread.

    On SQLite one request writes at a time, in the writer's thread (OneWriter). A plain
    route whose other dependencies never ask the database runs there whole, once its
    request has been read and checked (`writes_in_one_trip`). Any other writer has its turn
    for the whole of its route, once its request has arrived; it commits before letting go.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        plain = not inspect.iscoroutinefunction(endpoint)
        if plain and not getattr(endpoint, _ONE_TRIP, False):
            endpoint = _in_one_trip(endpoint)
        super().__init__(path, endpoint, **kwargs)
        self.writes_in_one_trip = getattr(endpoint, _ONE_TRIP, False) and all(
            getattr(call, MEMORY_ONLY, False) for call in _dependencies(self.dependant)
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def gated(request: Request) -> Response:
            _answering.set(request)
            holder = request_session.get()
            if holder is None or holder.gate is None:
                return await handle(request)
            if self.writes_in_one_trip:
                holder.in_one_trip = True
                return await handle(request)
            await request.body()
            async with holder.gate.held():
                try:
                    response = await handle(request)
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await holder.finish_soon(False)
                    raise
                await holder.finish_soon(response.status_code < 400)
            return response

        return gated


def _in_one_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    again: Callable[..., Response] | None = getattr(endpoint, _AGAIN, None)

    def whole(kwargs: dict[str, Any]) -> Any:
        try:
            for value in kwargs.values():
                if isinstance(value, LookedUpInThread):
                    value.look_up()
            try:
                response = endpoint(**kwargs)
            except (FormInvalid, Invalid, Refused) as refusal:
                if again is None:
                    raise
                response = _again(again, kwargs, refusal)
        except BaseException:
            if (holder := request_session.get()) is not None:
                holder.finish(False)
            raise
        finish_with(response)
        return response

    quick = getattr(endpoint, QUICK_WRITE, False)

    @functools.wraps(endpoint)  # FastAPI reads the parameters of the function it wraps
    async def answer(**kwargs: Any) -> Any:
        holder = request_session.get()
        if holder is not None and holder.gate is not None and holder.in_one_trip:
            if quick and holder.gate.idle and holder.begin_now():
                with on_the_loop():
                    return whole(kwargs)
            return await holder.gate.run(functools.partial(whole, kwargs))
        return await anyio.to_thread.run_sync(whole, kwargs)

    setattr(answer, _ONE_TRIP, True)
    return answer


def _dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependencies(dependency)


class Router(APIRouter):
    """The app's router: every route runs as a OneTripRoute, and `post` takes `tap` and
    `again` (see the top of this module).

    It also declines, in one match of one expression, a path none of its routes takes. The
    application asks each included router in turn, and each router asks each of its routes,
    a dozen Python calls per route: a request for the last route of the last router was
    routed in about 0.3 ms, as long as the rest of a sign-up's web work.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", OneTripRoute)
        super().__init__(**kwargs)
        self._guard: tuple[int, re.Pattern[str] | None] = (-1, None)

    def post(
        self,
        path: str,
        *,
        tap: bool = False,
        again: Callable[..., Response] | None = None,
        **kwargs: Any,
    ) -> Callable[[E], E]:
        register = super().post(path, **kwargs)

        def declare(endpoint: E) -> E:
            if tap:
                setattr(endpoint, QUICK_WRITE, True)
            if again is not None:
                setattr(endpoint, _AGAIN, again)
            return register(endpoint)

        return declare

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        pattern = self._paths()
        if pattern is not None and pattern.match(get_route_path(scope)) is None:
            return Match.NONE, {}
        return super().matches(scope)

    def _paths(self) -> re.Pattern[str] | None:
        count, pattern = self._guard
        if count != len(self.routes):  # routes are added at start-up, before any request
            patterns: list[re.Pattern[str]] = [
                path for route in self.routes if (path := getattr(route, "path_regex", None))
            ]
            pattern = (
                re.compile("|".join(f"(?:{_NAMED_GROUP.sub('(?:', p.pattern)})" for p in patterns))
                if patterns and len(patterns) == len(self.routes)
                else None
            )
            self._guard = (len(self.routes), pattern)
        return pattern
