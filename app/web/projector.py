"""The projector: a read-only display link that needs no login and grants nothing else."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app.models import Event
from app.services import events as event_service
from app.templating import render
from app.web.common import absolute
from app.web.deps import SessionDep, SettingsDep, SignerDep

router = APIRouter()


@router.get("/display/{token}")
def display(
    request: Request, token: str, session: SessionDep, settings: SettingsDep, signer: SignerDep
) -> Response:
    values = signer.read("projector", token)
    event = session.get(Event, values[0]) if values and len(values) == 2 else None
    if event is None or values is None or event.projector_version != values[1]:
        raise HTTPException(404, "This display link does not work any more.")
    return render(
        request,
        "projector/display.html",
        {
            "event": event,
            "spaces": event_service.spaces(session, event),
            "slots": event_service.slots(session, event),
            "join_link": absolute(settings, f"/j/{event.join_code}"),
        },
    )
