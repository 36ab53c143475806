"""A person's own data: see it, take it (JSON), erase it — from their own pages, or as an
action's owner from its update link. Nobody else's, and no account needed."""

import json
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app.config import Settings
from app.i18n import _
from app.models import Action, Event, Participant
from app.models.privacy import MODE_LABELS, ErasedBy, ErasureForm, ErasureMode
from app.services import privacy
from app.services.errors import NotFound
from app.templating import render
from app.web.kit.common import absolute, download, see_other
from app.web.kit.deps import FormDep, JoinedEvent, SessionDep, verify_csrf
from app.web.kit.forms import FormErrors, valid
from app.web.kit.routing import Router
from app.web.participant.attendee import AttendeeDep
from app.web.participant.followup import LinkedAction

router = Router(dependencies=[Depends(verify_csrf)])

MODES = [(mode.value, MODE_LABELS[mode]) for mode in ErasureMode]


def _json(data: dict[str, object]) -> Response:
    content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return download(content, "application/json", "my-data.json")


def _data_page(
    request: Request, event: Event, data: dict[str, object], base: str, *, home: str
) -> Response:
    ctx = {"event": event, "data": data, "base": base, "home": home}
    return render(request, "participant/my_data.html", ctx)


def _erase_page(
    request: Request,
    event: Event,
    base: str,
    *,
    home: str,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    confirming: str = "",
    status_code: int = 200,
) -> Response:
    ctx = {
        "event": event,
        "base": base,
        "home": home,
        "modes": MODES,
        "values": values or {},
        "errors": errors or {},
        "confirming": confirming,
        "mode_label": MODE_LABELS[ErasureMode(confirming)] if confirming else "",
    }
    return render(request, "participant/erase.html", ctx, status_code=status_code)


def _erase_or_ask(
    request: Request,
    session: SessionDep,
    event: Event,
    person: Participant,
    form: FormDep,
    base: str,
) -> Response:
    """Erase when the person said yes on the page that asks; otherwise ask."""
    data = valid(ErasureForm, form, "mode", "confirmed")
    if not data.confirmed:
        return _erase_page(request, event, base, home=base, confirming=data.mode.value)
    privacy.erase(session, event, person, data.mode, ErasedBy.person)
    return see_other(f"/e/{event.join_code}/erased?mode={data.mode.value}")


# --- from the participant's own pages ---------------------------------------------------------


@router.get("/e/{code}/my-data")
def my_data_page(me: AttendeeDep) -> Response:
    """Everything kept about this participant, as a page they can read."""
    data = privacy.my_data(me.session, me.event, me.participant)
    return _data_page(me.request, me.event, data, me.home, home=me.home)


@router.get("/e/{code}/my-data.json")
def my_data_file(me: AttendeeDep) -> Response:
    """Everything kept about this participant, as a file to take away."""
    return _json(privacy.my_data(me.session, me.event, me.participant))


@router.get("/e/{code}/erase")
def erase_page(
    me: AttendeeDep,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    return _erase_page(me.request, me.event, me.home, home=me.home, values=values, errors=errors)


@router.post("/e/{code}/erase", again=erase_page)
def erase_me(me: AttendeeDep, form: FormDep) -> Response:
    """Erase this participant's data, once they confirmed the mode they chose."""
    return _erase_or_ask(me.request, me.session, me.event, me.participant, form, me.home)


@router.get("/e/{code}/erased")
def erased_page(request: Request, event: JoinedEvent) -> Response:
    mode = request.query_params.get("mode", "")
    said = MODE_LABELS.get(ErasureMode(mode)) if mode in ErasureMode.__members__ else None
    return render(request, "participant/erased.html", {"event": event, "mode_label": said})


# --- from an action's update link ---------------------------------------------------------------


def linked_owner(action: LinkedAction, session: SessionDep) -> Participant:
    """The participant who owns the action the link is for."""
    owner = session.get(Participant, action.owner_id) if action.owner_id else None
    if owner is None or privacy.is_erased(session, owner):
        raise NotFound(
            _(
                "This action's owner is a name typed by the group, not a participant: "
                "ask the event's organisers to see or erase what is kept."
            )
        )
    return owner


LinkedOwner = Annotated[Participant, Depends(linked_owner)]


def _owner_base(token: str) -> str:
    return f"/a/{token}"


def _event_of(session: SessionDep, action: Action) -> Event:
    return session.get_one(Event, action.event_id)


@router.get("/a/{token}/my-data")
def owner_data_page(
    request: Request, token: str, action: LinkedAction, owner: LinkedOwner, session: SessionDep
) -> Response:
    """Everything kept about the action's owner, as a page they can read."""
    event = _event_of(session, action)
    data = privacy.my_data(session, event, owner)
    return _data_page(request, event, data, _owner_base(token), home=_owner_base(token))


@router.get("/a/{token}/my-data.json")
def owner_data_file(action: LinkedAction, owner: LinkedOwner, session: SessionDep) -> Response:
    """Everything kept about the action's owner, as a file to take away."""
    return _json(privacy.my_data(session, _event_of(session, action), owner))


@router.get("/a/{token}/erase")
def owner_erase_page(
    request: Request,
    token: str,
    action: LinkedAction,
    owner: LinkedOwner,
    session: SessionDep,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    base = _owner_base(token)
    event = _event_of(session, action)
    return _erase_page(request, event, base, home=base, values=values, errors=errors)


@router.post("/a/{token}/erase", again=owner_erase_page)
def owner_erase(
    request: Request,
    token: str,
    action: LinkedAction,
    owner: LinkedOwner,
    session: SessionDep,
    form: FormDep,
) -> Response:
    """Erase the action owner's data, once they confirmed the mode they chose."""
    event = _event_of(session, action)
    return _erase_or_ask(request, session, event, owner, form, _owner_base(token))


# --- the privacy notice -------------------------------------------------------------------------


def privacy_link(settings: Settings, event: Event) -> str:
    """The event's privacy notice, as every message links it."""
    return absolute(settings, f"/e/{event.join_code}/privacy")


@router.get("/e/{code}/privacy")
def privacy_notice(request: Request, event: JoinedEvent, session: SessionDep) -> Response:
    """What is kept, why, for how long and whom to ask: readable before anyone joins."""
    ctx = {
        "event": event,
        "settings": privacy.settings_of(session, event),
        "retention": privacy.retention(session, event),
        "organisers": privacy.organiser_names(session, event),
    }
    return render(request, "participant/privacy.html", ctx)
