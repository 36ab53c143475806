"""The projector: a read-only display link that needs no login and grants nothing else."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app import i18n
from app.i18n import _
from app.models import Event
from app.services.errors import NotFound
from app.templating import render
from app.web.kit.common import absolute
from app.web.kit.deps import SessionDep, SettingsDep, SignerDep
from app.web.kit.routing import Router
from app.web.public import live

router = Router()


def displayed_event(request: Request, token: str, session: SessionDep, signer: SignerDep) -> Event:
    values = signer.read("projector", token)
    event = session.get(Event, values[0]) if values and len(values) == 2 else None
    if event is None or values is None or event.projector_version != values[1]:
        raise NotFound(_("This display link does not work any more."))
    i18n.narrow(event.offered, request.headers.get("accept-language", ""))
    return event


DisplayedEvent = Annotated[Event, Depends(displayed_event)]


@router.get("/display/{token}")
def display(
    request: Request, token: str, event: DisplayedEvent, session: SessionDep, settings: SettingsDep
) -> Response:
    """The projected dashboard; the facilitator chooses what it shows."""
    ctx = live.screen_context(session, event, absolute(settings, f"/j/{event.join_code}"))
    ctx["live_url"] = f"/display/{token}/live?v={event.agenda_version}"
    return render(request, "projector/display.html", ctx)


@router.get("/display/{token}/live")
async def display_stream(request: Request, event: DisplayedEvent) -> Response:
    """The dashboard's live updates: its whole screen, whenever it changes."""
    assert event.id is not None
    return live.stream(
        request, event.id, live.screen_messages(i18n.current()), request.query_params.get("v")
    )
