"""The JSON API, /api/v1, for organisers holding an API token: events, spaces and slots, the
action list, and every export."""

from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, field_validator

from app.i18n import _
from app.models import ActionStatus, Event, Organiser, Role
from app.models.event import (
    EventCreate,
    EventPublic,
    EventUpdate,
    SlotCreate,
    SlotPublic,
    SpaceCreate,
    SpacePublic,
)
from app.services import accounts, exports
from app.services import events as event_service
from app.web.kit.audit import log_change
from app.web.kit.common import download
from app.web.kit.deps import RowId, SessionDep, SettingsDep
from app.web.kit.routing import Router
from app.web.organiser.exports import MEDIA, event_file, file_name, may_download_personal_data

bearer = HTTPBearer(auto_error=False, description="An organiser's API token (Account page).")


def api_organiser(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Organiser:
    """The organiser whose API token the request carries."""
    organiser = (
        accounts.organiser_for_api_token(session, credentials.credentials) if credentials else None
    )
    if organiser is None:
        raise HTTPException(
            401, _("An API token is needed."), headers={"WWW-Authenticate": "Bearer"}
        )
    return organiser


ApiOrganiser = Annotated[Organiser, Depends(api_organiser)]


class SpaceInput(SpaceCreate):
    """A space as a script sends it: its capacity a JSON number. (The set-up page's form sends
    it as text, so the model takes "12"; pydantic would take true, too.)"""

    @field_validator("capacity", mode="before")
    @classmethod
    def _json_number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(_("Please enter a whole number."))
        return value


def _event(session: SessionDep, organiser: Organiser, event_id: int, *, write: bool) -> Event:
    event = session.get(Event, event_id)
    role = event_service.role_of(session, event, organiser) if event else None
    if event is None or role is None:
        raise HTTPException(404, _("No such event."))
    if write and role != Role.organiser:
        raise HTTPException(403, _("Only the event's organisers can change it."))
    return event


def readable_event(event_id: RowId, session: SessionDep, organiser: ApiOrganiser) -> Event:
    return _event(session, organiser, event_id, write=False)


def writable_event(event_id: RowId, session: SessionDep, organiser: ApiOrganiser) -> Event:
    return _event(session, organiser, event_id, write=True)


ReadableEvent = Annotated[Event, Depends(readable_event)]
WritableEvent = Annotated[Event, Depends(writable_event)]


class ApiError(BaseModel):
    """Why the API refused a request."""

    detail: str


class Refusal(ApiError):
    """A change the event's rules refuse, and the field at fault, if one is."""

    field: str | None = None


Answers = dict[int | str, dict[str, Any]]
NO_TOKEN: Answers = {
    401: {
        "model": ApiError,
        "description": "No API token, or one that was revoked",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    }
}
READ: Answers = {
    404: {
        "model": ApiError,
        "description": "No such event among the token's organiser's, or no such row in it",
    }
}
WRITE: Answers = {
    **READ,
    403: {"model": ApiError, "description": "The token's organiser only facilitates the event"},
}
UNAVAILABLE: Answers = {
    503: {
        "model": ApiError,
        "description": "The database cannot store or be reached just now: "
        "send it again after Retry-After seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}
NOT_JSON: Answers = {
    400: {"model": ApiError, "description": "The body is not JSON"},
    413: {"model": ApiError, "description": "The body is larger than the server takes"},
}
REFUSED: Answers = {409: {"model": Refusal, "description": "Refused by the event's rules"}}


async def audited_api(request: Request, organiser: ApiOrganiser) -> None:
    """A change made with an API token goes in the event's audit log, as the team's do."""
    await log_change(
        request, lambda _session, _event_id: f"{organiser.name} <{organiser.email}> (API token)"
    )


router = Router(
    prefix="/api/v1",
    tags=["api"],
    responses={**NO_TOKEN, **UNAVAILABLE},
    dependencies=[Depends(audited_api)],
)


@router.get("/events", response_model=list[EventPublic])
def list_events(session: SessionDep, organiser: ApiOrganiser) -> list[Event]:
    """The events the token's organiser is on."""
    return [event for event, _role in event_service.events_of(session, organiser)]


@router.post("/events", response_model=EventPublic, status_code=201, responses=NOT_JSON)
def create_event(data: EventCreate, session: SessionDep, organiser: ApiOrganiser) -> Event:
    return event_service.create_event(session, organiser, data)


@router.get("/events/{event_id}", response_model=EventPublic, responses=READ)
def get_event(event: ReadableEvent) -> Event:
    return event


@router.put("/events/{event_id}", response_model=EventPublic, responses={**WRITE, **NOT_JSON})
def update_event(data: EventUpdate, event: WritableEvent, session: SessionDep) -> Event:
    return event_service.update_event(session, event, data)


@router.get("/events/{event_id}/spaces", response_model=list[SpacePublic], responses=READ)
def list_spaces(event: ReadableEvent, session: SessionDep) -> list[object]:
    return list(event_service.spaces(session, event))


@router.post(
    "/events/{event_id}/spaces",
    response_model=SpacePublic,
    status_code=201,
    responses={**WRITE, **REFUSED, **NOT_JSON},
)
def add_space(data: SpaceInput, event: WritableEvent, session: SessionDep) -> object:
    return event_service.add_space(session, event, data)


@router.put(
    "/events/{event_id}/spaces/{space_id}",
    response_model=SpacePublic,
    responses={**WRITE, **REFUSED, **NOT_JSON},
)
def update_space(
    space_id: RowId, data: SpaceInput, event: WritableEvent, session: SessionDep
) -> object:
    return event_service.update_space(session, event, space_id, data)


@router.delete(
    "/events/{event_id}/spaces/{space_id}", status_code=204, responses={**WRITE, **REFUSED}
)
def remove_space(space_id: RowId, event: WritableEvent, session: SessionDep) -> Response:
    event_service.remove_space(session, event, space_id)
    return Response(status_code=204)


@router.get("/events/{event_id}/slots", response_model=list[SlotPublic], responses=READ)
def list_slots(event: ReadableEvent, session: SessionDep) -> list[object]:
    return list(event_service.slots(session, event))


@router.post(
    "/events/{event_id}/slots",
    response_model=SlotPublic,
    status_code=201,
    responses={**WRITE, **REFUSED, **NOT_JSON},
)
def add_slot(data: SlotCreate, event: WritableEvent, session: SessionDep) -> object:
    """A new slot; times without a UTC offset are read as the venue's local time."""
    return event_service.add_slot(session, event, data)


@router.delete(
    "/events/{event_id}/slots/{slot_id}", status_code=204, responses={**WRITE, **REFUSED}
)
def remove_slot(slot_id: RowId, event: WritableEvent, session: SessionDep) -> Response:
    event_service.remove_slot(session, event, slot_id)
    return Response(status_code=204)


ExportFormat = Literal["csv", "xlsx", "json", "md", "docx", "html", "ics", "zip"]


@router.get("/events/{event_id}/actions", responses=READ)
def list_actions(
    event: ReadableEvent,
    session: SessionDep,
    organiser: ApiOrganiser,
    status: ActionStatus | None = None,
    theme: str = "",
    owner: str = "",
    session_id: Annotated[RowId | None, Query(alias="session")] = None,
    slot: RowId | None = None,
    personal: bool = True,
) -> dict[str, Any]:
    """The event's actions, filtered as the downloads are; `personal=false` leaves out
    participants' names and e-mails (always left out for the event's facilitators)."""
    personal = personal and may_download_personal_data(
        event_service.role_of(session, event, organiser)
    )
    wanted = exports.ActionFilter(
        theme=theme, status=status or "", owner=owner, session=session_id, slot=slot
    )
    rows = exports.action_rows(session, event, wanted, personal=personal)
    return exports.as_document(rows, event)


@router.get(
    "/events/{event_id}/export/{fmt}",
    responses={
        200: {"content": {media: {} for media in set(MEDIA.values())}},
        404: {
            "model": ApiError,
            "description": "No such event among the token's organiser's, or (md, docx, html) "
            "no book of proceedings before the first report",
        },
    },
)
def export_file(
    fmt: ExportFormat,
    event: ReadableEvent,
    session: SessionDep,
    settings: SettingsDep,
    organiser: ApiOrganiser,
    personal: bool = True,
) -> Response:
    """Any export as a file, as `openspace export` writes it: the action list (csv, xlsx,
    json), the book of proceedings (md, docx, html), the sessions (ics) or the archive (zip).
    Personal data (and the archive's event.json) only for the event's organisers."""
    personal = personal and may_download_personal_data(
        event_service.role_of(session, event, organiser)
    )
    body = event_file(session, settings, event, fmt, personal=personal)
    return download(body, MEDIA[fmt], file_name(event.name, "export", fmt))
