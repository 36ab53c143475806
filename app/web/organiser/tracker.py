"""Organiser pages of the follow-up: the action tracker (one event, or all) and the pledges."""

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.models import Action, ActionStatus, Event, Organiser, Role
from app.models.base import utcnow
from app.models.outcomes import STATUS_LABELS
from app.services import actions, audit, pledges
from app.services import events as event_service
from app.templating import render
from app.web.kit.audit import audited
from app.web.kit.deps import CurrentOrganiser, OrganisedEvent, SessionDep, SettingsDep, SignerDep
from app.web.kit.routing import Router
from app.web.participant.outcomes import update_link

router = Router(prefix="/organiser", dependencies=[Depends(audited)])


def _tracker(
    request: Request,
    session: Session,
    organiser: Organiser,
    events: list[Event],
    *,
    single: Event | None,
    link: Callable[[Action], str] | None = None,
) -> Response:
    status = request.query_params.get("status", "")
    lines = actions.action_lines(session, event_ids=[e.id for e in events if e.id])
    counts = actions.status_counts(lines)
    if status in ActionStatus.__members__.values():
        lines = [line for line in lines if line.action.status == status]
    by_event: dict[int, list[actions.ActionLine]] = {}
    for line in lines:
        by_event.setdefault(line.action.event_id, []).append(line)
    now = utcnow()
    ctx: dict[str, Any] = {
        "organiser": organiser,
        "event": single,
        "events": [e for e in events if e.id in by_event or single is not None],
        "by_event": by_event,
        "counts": counts,
        "total": sum(counts.values()),
        "status": status,
        "status_labels": STATUS_LABELS,
        "overdue": {line.action.id for line in lines if actions.overdue(line, now)},
        "links": {line.action.id: link(line.action) for line in lines} if link else {},
    }
    return render(request, "organiser/actions.html", ctx)


@router.get("/actions")
def all_actions(request: Request, session: SessionDep, organiser: CurrentOrganiser) -> Response:
    """What became of the actions of every event this organiser runs."""
    events = [
        event
        for event, role in event_service.events_of(session, organiser)
        if role == Role.organiser
    ]
    return _tracker(request, session, organiser, events, single=None)


@router.get("/events/{event_id}/actions")
def event_actions(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    organiser: CurrentOrganiser,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    return _tracker(
        request,
        session,
        organiser,
        [event],
        single=event,
        link=lambda action: update_link(settings, signer, action),
    )


@router.get("/events/{event_id}/pledges")
def event_pledges(
    request: Request, event: OrganisedEvent, session: SessionDep, organiser: CurrentOrganiser
) -> Response:
    lines = pledges.pledges(session, event)
    return render(
        request,
        "organiser/pledges.html",
        {
            "organiser": organiser,
            "event": event,
            "lines": lines,
            "consenting": sum(1 for line in lines if line.pledge.may_contact),
        },
    )


@router.get("/events/{event_id}/audit")
def event_audit(
    request: Request, event: OrganisedEvent, session: SessionDep, organiser: CurrentOrganiser
) -> Response:
    """The audit log: what the event's organisers and facilitators changed and downloaded."""
    return render(
        request,
        "organiser/audit.html",
        {"organiser": organiser, "event": event, "entries": audit.entries(session, event)},
    )
