"""Every change by an organiser or facilitator, and every download of an event's results,
goes in the audit log: who, what (the route's own words), on what, and when.

It is a dependency of the team's routers, so a new route is logged without anyone listing
it. A change is logged in the request's own transaction: a refused or failed request leaves
no entry, a stored change always has one.
"""

from collections.abc import Callable

from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.db import Database
from app.models import Event, Organiser
from app.models.base import row_id
from app.services import audit
from app.services import events as event_service
from app.web.kit.deps import FacilitatedEvent, VisitorDep
from app.web.kit.identity import Visitor
from app.web.kit.middleware import UNSAFE_METHODS, request_id


def _actor(session: Session, visitor: Visitor, event_id: int | None) -> str | None:
    """Who is acting: the logged-in organiser, else this event's facilitator link."""
    if visitor.organiser_id is not None:
        organiser = session.get(Organiser, visitor.organiser_id)
        if organiser is not None and organiser.session_generation == visitor.organiser_generation:
            return f"{organiser.name} <{organiser.email}>".strip()
    if event_id is not None:
        link_id = visitor.facilitator_links.get(str(event_id))
        link = event_service.live_facilitator_link(session, link_id) if link_id else None
        if link is not None and link.event_id == event_id:
            return f"facilitator link “{link.label}”"
    return None


def _action(request: Request) -> str:
    """The route's own description: its docstring's first line, else its name."""
    endpoint = request.scope.get("endpoint")
    doc = (getattr(endpoint, "__doc__", None) or "").strip().splitlines()
    name = getattr(endpoint, "__name__", "").replace("_", " ")
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return f"{request.method} {path}: {doc[0] if doc else name}"


def _target(request: Request, fields: dict[str, str]) -> str:
    """What the request acted on: its ids (the event's is the entry's own) and its fields."""
    ids = {k: v for k, v in request.path_params.items() if k != "event_id"}
    return audit.describe(ids, fields)


def _event_id(request: Request) -> int | None:
    return row_id(request.path_params.get("event_id"))


async def log_change(request: Request, actor: Callable[[Session, int | None], str | None]) -> None:
    """Log a change (unsafe methods only) in the request's transaction, by `actor` (None:
    nobody to log, the route itself refuses them)."""
    if request.method not in UNSAFE_METHODS:
        return
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            body = None  # the route answers 422 and stores nothing
        fields = {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    else:
        form = await request.form()
        # A set of ticked boxes sends one name several times: keep them all.
        fields = {key: ",".join(map(str, form.getlist(key))) for key in form}
    event_id = _event_id(request)
    target = _target(request, fields)

    def write() -> None:
        session: Session = request.state.db.get()
        if event_id is not None and session.get(Event, event_id) is None:
            return  # no such event: the route answers 404, and there is nothing to log it on
        who = actor(session, event_id)
        if who is not None:
            audit.record(session, event_id, who, _action(request), target, request_id.get())

    await run_in_threadpool(write)


async def audited(request: Request, visitor: VisitorDep) -> None:
    """Log a change by the organiser or facilitator link this browser holds."""
    await log_change(request, lambda session, event_id: _actor(session, visitor, event_id))


async def audited_download(request: Request, event: FacilitatedEvent, visitor: VisitorDep) -> None:
    """Log a download or print of an event's results, once the visitor may have it (in a
    transaction of its own: a download changes nothing else)."""
    target = _target(request, dict(request.query_params))
    database: Database = request.app.state.database

    def write() -> None:
        with database.write() as session:
            actor = _actor(session, visitor, event.id)
            if actor is not None:
                audit.record(session, event.id, actor, _action(request), target, request_id.get())

    await run_in_threadpool(write)
