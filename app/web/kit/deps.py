"""What routes depend on: the session, the visitor, their role, and CSRF protection."""

from dataclasses import dataclass
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import Depends, HTTPException, Request, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app import i18n
from app.config import Settings
from app.i18n import _
from app.models import Event, Organiser, Participant, Role
from app.models.base import MAX_ID
from app.models.event import as_typed
from app.security import LinkSigner, same_secret
from app.services import events as event_service
from app.services.participants import event_and_participant, still_signed_in_to_write
from app.web.kit.common import IDENTITY_COOKIE, see_other
from app.web.kit.csrf import TokenRefused
from app.web.kit.identity import (
    REFRESH_AFTER_SECONDS,
    REFRESH_STATE,
    Visitor,
    read_visitor,
    remember,
)
from app.web.kit.limits import looked_up
from app.web.kit.middleware import UNSAFE_METHODS
from app.web.kit.writer import memory_only


@memory_only
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@memory_only
async def get_session(request: Request) -> Session:
    session: Session = request.state.db.get()
    return session


@memory_only
async def get_signer(request: Request) -> LinkSigner:
    signer: LinkSigner = request.app.state.signer
    return signer


# The dependencies above only read memory, so they are async: run on the event loop, they
# cost no trip to a worker thread. Those that query the database stay sync.
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
SignerDep = Annotated[LinkSigner, Depends(get_signer)]
# A row's id in an address or a query: any other number names nothing, and the database could
# not even look it up.
RowId = Annotated[int, Ge(1), Le(MAX_ID)]


@memory_only
async def posted_form(request: Request) -> FormData:
    """The posted form (parsed once; CSRF checking reads the same copy, and the page for a
    database that cannot store gives it back to the person)."""
    sent = await request.form()
    # The one place where what people type is read: anything that is not text goes here,
    # before any page, export or model sees it.
    form = FormData(
        [
            (key, as_typed(value) if isinstance(value, str) else value)
            for key, value in sent.multi_items()
        ]
    )
    request.state.form = form
    return form


FormDep = Annotated[FormData, Depends(posted_form)]


class LoginRequired(Exception):
    """The page is for organisers; the visitor should log in and come back."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class PasswordChangeRequired(Exception):
    """The organiser signed in with a first password someone else made: they change it first."""


@memory_only
async def get_visitor(request: Request, settings: SettingsDep) -> Visitor:
    visitor, age = read_visitor(settings, request.cookies.get(IDENTITY_COOKIE))
    if visitor.organiser_id is not None and age > REFRESH_AFTER_SECONDS:
        setattr(request.state, REFRESH_STATE, visitor)
    return visitor


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


def remember_and_go(url: str, visitor: Visitor, settings: Settings) -> Response:
    """Store the visitor's new identity and send the browser on to `url`."""
    response = see_other(url)
    remember(response, visitor, settings)
    return response


@memory_only
async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request that does not carry this browser's CSRF token."""
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise HTTPException(403, _("This form was sent from another site, so it was refused."))
    expected = request.state.csrf_token
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        # Kept, so that a refusal can give the person back what they typed.
        request.state.form = form = await request.form()
        sent = str(form.get("csrf_token") or "")
    if not expected or not sent or not same_secret(expected, sent):
        raise TokenRefused()


# What an organiser who must change a first password may still open.
WITH_FIRST_PASSWORD = ("/organiser/account", "/logout")


def current_organiser_or_none(
    request: Request, session: SessionDep, visitor: VisitorDep
) -> Organiser | None:
    """The signed-in organiser, if their sign-in has not been ended since."""
    if visitor.organiser_id is None:
        return None
    organiser = session.get(Organiser, visitor.organiser_id)
    if organiser is None or organiser.session_generation != visitor.organiser_generation:
        return None
    if organiser.must_change_password and not request.url.path.startswith(WITH_FIRST_PASSWORD):
        raise PasswordChangeRequired()
    return organiser


MaybeOrganiser = Annotated[Organiser | None, Depends(current_organiser_or_none)]


async def current_organiser(request: Request, organiser: MaybeOrganiser) -> Organiser:
    """The logged-in organiser; anyone else is sent to log in."""
    if organiser is None:
        raise LoginRequired(request.url.path)
    return organiser


CurrentOrganiser = Annotated[Organiser, Depends(current_organiser)]


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise HTTPException(404, _("There is no such event."))
    return event


def organised_event(event_id: RowId, session: SessionDep, organiser: CurrentOrganiser) -> Event:
    """The event, if the logged-in organiser is one of its organisers."""
    event = _event(session, event_id)
    if event_service.role_of(session, event, organiser) != Role.organiser:
        raise HTTPException(403, _("Only this event's organisers can open this page."))
    return event


OrganisedEvent = Annotated[Event, Depends(organised_event)]


def facilitated_event(
    request: Request,
    event_id: RowId,
    session: SessionDep,
    visitor: VisitorDep,
    organiser: MaybeOrganiser,
) -> Event:
    """The event, if the visitor is on its team or holds a live facilitator link for it."""
    event = _event(session, event_id)
    if organiser is not None and event_service.role_of(session, event, organiser) is not None:
        return event
    link_id = visitor.facilitator_links.get(str(event_id))
    if link_id is not None:
        link = event_service.live_facilitator_link(session, link_id)
        if link is not None and link.event_id == event.id:
            return event
    if organiser is None:
        raise LoginRequired(request.url.path)
    raise HTTPException(403, _("Only this event's facilitators can open this page."))


FacilitatedEvent = Annotated[Event, Depends(facilitated_event)]


@dataclass
class Joined:
    """The event a join code names, and the participant this browser is in it, if any."""

    event: Event
    participant: Participant | None


def joined(request: Request, code: str, session: SessionDep, visitor: VisitorDep) -> Joined:
    """Both looked up in one trip to a worker thread (participant pages are the busiest).

    The page speaks one of the languages the event offers."""
    event, participant = event_and_participant(session, code, visitor.participants)
    held = visitor.participants.get(str(event.id)) if event is not None else None
    looked_up(request, event is not None, bool(held))
    if event is None:
        raise HTTPException(404, _("There is no event with this code."))
    if (
        participant is not None
        and request.method == "POST"
        and not still_signed_in_to_write(session, participant)
    ):
        participant = None  # erased (or signed out everywhere) since the lookup
    i18n.narrow(event.offered, request.headers.get("accept-language", ""))
    return Joined(event, participant)


JoinedDep = Annotated[Joined, Depends(joined)]


async def joined_event(found: JoinedDep) -> Event:
    return found.event


JoinedEvent = Annotated[Event, Depends(joined_event)]


async def participant_or_none(found: JoinedDep) -> Participant | None:
    return found.participant


MaybeParticipant = Annotated[Participant | None, Depends(participant_or_none)]
