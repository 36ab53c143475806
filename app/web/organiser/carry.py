"""Bring last year's open work into this year's event: the organiser picks an earlier event
of theirs, and its open actions and its pledges are carried over (linked, not copied)."""

from fastapi import Depends, Request
from fastapi.responses import Response

from app.models.base import row_id
from app.models.outcomes import STATUS_LABELS
from app.models.people import ParticipantJoin
from app.services import carry_over
from app.templating import render
from app.web.kit.audit import audited
from app.web.kit.common import see_other
from app.web.kit.deps import (
    CurrentOrganiser,
    FormDep,
    OrganisedEvent,
    SessionDep,
    SettingsDep,
    SignerDep,
    verify_csrf,
)
from app.web.kit.forms import valid
from app.web.kit.routing import Router
from app.web.participant.outcomes import update_link
from app.web.participant.pledge_answer import refresh_link

router = Router(prefix="/organiser", dependencies=[Depends(verify_csrf), Depends(audited)])


@router.get("/events/{event_id}/carried")
def carried_page(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    organiser: CurrentOrganiser,
    settings: SettingsDep,
    signer: SignerDep,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    lines = carry_over.carried(session, event)
    carried_pledges = carry_over.carried_pledges(session, event)
    return render(
        request,
        "organiser/carried.html",
        {
            "organiser": organiser,
            "event": event,
            "earlier": carry_over.earlier_events(session, organiser, event),
            "lines": lines,
            "links": {
                c.line.action.id: update_link(settings, signer, c.line.action) for c in lines
            },
            "carried_pledges": carried_pledges,
            "progress": carry_over.progress_session(session, event),
            "refresh_links": {
                c.pledge.id: refresh_link(settings, signer, event, c.pledge)
                for c in carried_pledges
            },
            "status_labels": STATUS_LABELS,
            "brought": request.query_params.get("brought", ""),
            "values": values or {},
            "errors": errors or {},
        },
    )


@router.post("/events/{event_id}/carried", again=carried_page)
def carry_actions(
    event: OrganisedEvent,
    session: SessionDep,
    organiser: CurrentOrganiser,
    form: FormDep,
    settings: SettingsDep,  # for the page shown again, with its update links
    signer: SignerDep,
) -> Response:
    """Bring the open actions of the chosen earlier event in (those already here stay once)."""
    brought = carry_over.carry_open_actions(
        session, organiser, event, row_id(form.get("from_event_id"))
    )
    return see_other(f"/organiser/events/{event.id}/carried?brought={brought}")


@router.post("/events/{event_id}/carried/progress-session", again=carried_page)
def propose_progress_session(
    event: OrganisedEvent,
    session: SessionDep,
    organiser: CurrentOrganiser,  # for the page shown again
    form: FormDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    """Put the carried work up as a "progress" session, convened by the person named."""
    convener = valid(ParticipantJoin, form, "display_name")
    carry_over.propose_progress_session(session, event, convener)
    return see_other(f"/organiser/events/{event.id}/carried#progress")
