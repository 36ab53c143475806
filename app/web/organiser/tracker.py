"""Organiser pages of the follow-up: the action tracker (one event, or all) and the pledges."""

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.models import Action, ActionStatus, Event, Organiser, Role
from app.models.base import utcnow
from app.models.mail import STATE_LABELS
from app.models.outcomes import STATUS_LABELS
from app.services import actions, audit, mail, mail_causes, pledges
from app.services import events as event_service
from app.templating import render
from app.web.kit.audit import audited
from app.web.kit.common import see_other
from app.web.kit.deps import (
    CurrentOrganiser,
    OrganisedEvent,
    RowId,
    SessionDep,
    SettingsDep,
    SignerDep,
    verify_csrf,
)
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
        # Whether mail reaches each owner, and "remind now" (on one event's tracker).
        "reach": mail_causes.reach(session, [line.action for line in lines]) if single else {},
        "reminded": request.query_params.get("reminded", ""),
        "reach_labels": mail_causes.REACH_LABELS,
        "open_statuses": mail.OPEN,
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


@router.post("/events/{event_id}/actions/{action_id}/remind", dependencies=[Depends(verify_csrf)])
def remind_owner(event: OrganisedEvent, action_id: RowId, session: SessionDep) -> Response:
    """Remind an action's owner now, through the outbox (once a day, however often pressed)."""
    action = actions.action_in(session, event, action_id)
    new = mail_causes.remind_now(session, event, action)
    return see_other(f"/organiser/events/{event.id}/actions?reminded={int(new)}#action-{action.id}")


@router.post("/events/{event_id}/actions/remind-overdue", dependencies=[Depends(verify_csrf)])
def remind_overdue(event: OrganisedEvent, session: SessionDep) -> Response:
    """Remind the owners of every overdue action now, one message each."""
    made = mail_causes.remind_overdue(session, event)
    return see_other(f"/organiser/events/{event.id}/actions?reminded={made}")


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
            "postcards": pledges.postcard_messages(session, event),
            "state_labels": STATE_LABELS,
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
