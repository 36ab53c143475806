"""Facilitator pages: claiming a facilitator link, and the facilitator's view of the day."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.services import events as event_service
from app.templating import render
from app.web.common import absolute
from app.web.deps import (
    FacilitatedEvent,
    SessionDep,
    SettingsDep,
    SignerDep,
    VisitorDep,
    remember_and_go,
    verify_csrf,
)

router = APIRouter(dependencies=[Depends(verify_csrf)])


@router.get("/f/{token}")
def claim_facilitator_link(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    visitor: VisitorDep,
) -> Response:
    """Opening a facilitator link lets this browser facilitate the event until it is revoked."""
    values = signer.read("facilitator", token)
    link = event_service.live_facilitator_link(session, values[0]) if values else None
    if link is None:
        return render(
            request,
            "errors.html",
            {
                "status": 403,
                "title": "This facilitator link does not work",
                "message": "It may have been revoked. Ask an organiser of the event for a new one.",
            },
            status_code=403,
        )
    assert link.id is not None
    visitor.facilitator_links[str(link.event_id)] = link.id
    return remember_and_go(f"/facilitate/{link.event_id}", visitor, settings)


@router.get("/facilitate/{event_id}")
def run_the_day(
    request: Request,
    event: FacilitatedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    assert event.id is not None
    return render(
        request,
        "facilitator/home.html",
        {
            "event": event,
            "spaces": event_service.spaces(session, event),
            "slots": event_service.slots(session, event),
            "participant_count": event_service.participant_count(session, event),
            "projector_link": absolute(
                settings,
                "/display/" + signer.sign("projector", event.id, event.projector_version),
            ),
            "join_link": absolute(settings, f"/j/{event.join_code}"),
        },
    )
