"""Organiser pages: their events, and setting one up (details, spaces, slots, themes, team)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any, TypeVar
from zoneinfo import available_timezones

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationInfo, field_validator
from sqlmodel import Field, Session

from app.config import Settings
from app.i18n import _, ngettext
from app.models import Event, Role, SlotKind, Topic
from app.models.base import row_id
from app.models.event import (
    SLOT_TITLE_MAX,
    EventCreate,
    EventUpdate,
    Form,
    SlotCreate,
    SlotShift,
    SpaceCreate,
    ThemeCreate,
)
from app.models.outcomes import STATUS_LABELS
from app.models.people import (
    EMAIL_MAX,
    NAME_MAX,
    PASSWORD_MAX,
    TOKEN_NAME_MAX,
    check_email,
    long_enough,
)
from app.security import LinkSigner
from app.services import accounts, invitations, wall
from app.services import events as event_service
from app.services.errors import Refused
from app.templating import render, wants_fragment
from app.web.kit.audit import audited
from app.web.kit.common import absolute, qr_svg, see_other
from app.web.kit.deps import (
    CurrentOrganiser,
    FormDep,
    OrganisedEvent,
    RowId,
    SessionDep,
    SettingsDep,
    SignerDep,
    VisitorDep,
    verify_csrf,
)
from app.web.kit.forms import FormErrors, form_values, named_by_the_form, valid, validate
from app.web.kit.identity import remember
from app.web.kit.routing import Router

router = Router(
    prefix="/organiser",
    dependencies=[Depends(verify_csrf), Depends(audited)],
)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

EVENT_FIELDS = (
    "name",
    "theme_question",
    "starts_on",
    "timezone",
    "venue",
    "principles",
    "languages",
)
TIMEZONES = sorted(available_timezones())


class SlotForm(Form):
    """A slot as an organiser types it: a day and two wall-clock times at the venue."""

    day: date
    start: time
    end: time
    kind: SlotKind = SlotKind.breakout
    title: str = Field(default="", max_length=SLOT_TITLE_MAX)

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError(_("The slot must end after it starts."))
        return value

    def to_create(self) -> SlotCreate:
        return SlotCreate(
            starts_at=datetime.combine(self.day, self.start),
            ends_at=datetime.combine(self.day, self.end),
            kind=self.kind,
            title=self.title,
        )


class TeamForm(Form):
    email: str = Field(max_length=EMAIL_MAX)
    name: str = Field(default="", max_length=NAME_MAX)
    role: Role

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value, required=True).lower()


class TokenForm(Form):
    name: str = Field(default="", max_length=TOKEN_NAME_MAX)


class PasswordForm(Form):
    current_password: str = Field(max_length=PASSWORD_MAX)
    new_password: str = Field(max_length=PASSWORD_MAX)

    @field_validator("new_password")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        return long_enough(value)


def links(settings: Settings, signer: LinkSigner, event: Event) -> dict[str, str]:
    """The event's links to hand out: join, projector."""
    assert event.id is not None
    return {
        "join": absolute(settings, f"/j/{event.join_code}"),
        "projector": absolute(
            settings, "/display/" + signer.sign("projector", event.id, event.projector_version)
        ),
    }


def setup_context(
    session: Session, settings: Settings, signer: LinkSigner, event: Event
) -> dict[str, Any]:
    return {
        "event": event,
        "spaces": event_service.spaces(session, event),
        "slots": event_service.slots(session, event),
        "upcoming_slots": event_service.upcoming_slots(session, event),
        "themes": event_service.themes(session, event),
        "team": event_service.team(session, event),
        "invites": invitations.waiting(session, event),
        "facilitator_links": [
            (link, absolute(settings, "/f/" + signer.sign("facilitator", link.id or 0)))
            for link in event_service.facilitator_links(session, event)
        ],
        "links": links(settings, signer, event),
        "participant_count": event_service.participant_count(session, event),
        "status_labels": STATUS_LABELS,
        "timezones": TIMEZONES,
        "slot_kinds": list(SlotKind),
        "roles": list(Role),
        "values": {},
        "errors": {},
        "editing": None,
    }


@router.get("")
def my_events(request: Request, session: SessionDep, organiser: CurrentOrganiser) -> Response:
    return render(
        request,
        "organiser/index.html",
        {
            "organiser": organiser,
            "events": event_service.events_of(session, organiser),
            "timezones": TIMEZONES,
            "values": {"timezone": "Europe/London"},
            "errors": {},
        },
    )


@router.post("/events")
def create_event(
    request: Request, session: SessionDep, organiser: CurrentOrganiser, form: FormDep
) -> Response:
    values = form_values(form, *EVENT_FIELDS)
    for optional in ("principles", "languages"):
        if not values[optional]:
            values.pop(optional)
    data, errors = validate(EventCreate, values)
    if data is None:
        return render(
            request,
            "organiser/index.html",
            {
                "organiser": organiser,
                "events": event_service.events_of(session, organiser),
                "timezones": TIMEZONES,
                "values": values,
                "errors": errors,
            },
            status_code=422,
        )
    event = event_service.create_event(session, organiser, data)
    return see_other(f"/organiser/events/{event.id}")


@dataclass
class EventSetup:
    """An organiser at work on one event's set-up page, and how to answer their forms."""

    request: Request
    session: Session
    settings: Settings
    signer: LinkSigner
    event: Event

    def page(self, *, block: str | None = None, status_code: int = 200, **extra: Any) -> Response:
        ctx = setup_context(self.session, self.settings, self.signer, self.event)
        ctx.update(extra)
        return render(
            self.request, "organiser/event.html", ctx, block=block, status_code=status_code
        )

    def section(
        self,
        section: str,
        *,
        values: dict[str, str] | None = None,
        errors: FormErrors | None = None,
        notice: str | None = None,
        editing: int | str | None = None,
    ) -> Response:
        """After a post: the section with errors (422), the section (htmx), or a redirect."""
        if errors:
            return self.page(
                block=section,
                status_code=422,
                values={section: values or {}},
                errors={section: errors},
                editing=editing,
            )
        if wants_fragment(self.request) or notice:
            return self.page(block=section, notice={section: notice} if notice else {})
        return see_other(f"/organiser/events/{self.event.id}#{section}")

    def done(self, section: str, said: object = None) -> Response:
        """After a change: the section again (htmx, or with what the change says it did),
        or back to it."""
        return self.section(section, notice=said if isinstance(said, str) else None)


def again_in(section: str, editing: str | None = None) -> Callable[..., Response]:
    """A refused set-up form: its section again, the words kept and the reason by its field
    (or at the top of the section). `editing` names the form left open, with the address's
    ids put in ("slot{slot_id}")."""

    def again(
        setup: EventSetup, values: dict[str, str], errors: FormErrors, error: str
    ) -> Response:
        shown = {field: said for field, said in errors.items() if field in values}
        return setup.section(
            section,
            values=values,
            errors=shown or {"__all__": error or next(iter(errors.values()), "")},
            editing=editing.format(**setup.request.path_params) if editing else None,
        )

    return again


async def event_setup_dep(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> EventSetup:
    return EventSetup(request, session, settings, signer, event)


SetupDep = Annotated[EventSetup, Depends(event_setup_dep)]
SPACE_FIELDS = ("name", "capacity", "access_notes")


@router.get("/events/{event_id}")
def event_setup(setup: SetupDep) -> Response:
    return setup.page()


@router.post("/events/{event_id}", again=again_in("details"))
def update_event(setup: SetupDep, form: FormDep) -> Response:
    event_service.update_event(setup.session, setup.event, valid(EventUpdate, form, *EVENT_FIELDS))
    return setup.done("details", _("Saved."))


@router.post("/events/{event_id}/spaces", again=again_in("spaces"))
def add_space(setup: SetupDep, form: FormDep) -> Response:
    event_service.add_space(setup.session, setup.event, valid(SpaceCreate, form, *SPACE_FIELDS))
    return setup.done("spaces")


@router.post("/events/{event_id}/spaces/{space_id}", again=again_in("spaces", "space{space_id}"))
def update_space(space_id: RowId, setup: SetupDep, form: FormDep) -> Response:
    data = valid(SpaceCreate, form, *SPACE_FIELDS)
    event_service.update_space(setup.session, setup.event, space_id, data)
    return setup.done("spaces")


@router.post("/events/{event_id}/spaces/{space_id}/delete", again=again_in("spaces"))
def remove_space(space_id: RowId, setup: SetupDep) -> Response:
    moved = wall.clear_place(setup.session, setup.event, space_id=space_id)
    event_service.remove_space(setup.session, setup.event, space_id)
    return setup.done("spaces", _off_the_wall(moved))


@router.post("/events/{event_id}/plenary-space", again=again_in("spaces"))
def choose_plenary_space(setup: SetupDep, form: FormDep) -> Response:
    """Choose the space where everyone meets together (room signs and the projector say so)."""
    space_id = row_id(form.get("space_id"))
    with named_by_the_form():  # another event's room, or one removed meanwhile
        chosen = event_service.set_plenary_space(setup.session, setup.event, space_id)
    if chosen is None:
        return setup.done("spaces", _("Saved: no one space is named for the plenaries."))
    return setup.done("spaces", _("Saved: the plenaries are in %(space)s.", space=chosen.name))


SLOT_FIELDS = ("day", "start", "end", "kind", "title")
SHIFT_FIELDS = ("minutes", "from_slot_id")


@router.post("/events/{event_id}/slots", again=again_in("slots"))
def add_slot(setup: SetupDep, form: FormDep) -> Response:
    data = valid(SlotForm, form, *SLOT_FIELDS)
    _by_the_start(lambda: event_service.add_slot(setup.session, setup.event, data.to_create()))
    return setup.done("slots")


def _by_the_start(action: Callable[[], T]) -> T:
    """A slot's action, its refusal of a time shown by the form's start (the service names
    the model's field, `starts_at`)."""
    try:
        return action()
    except Refused as refused:
        if refused.field == "starts_at":
            raise Refused(refused.message, "start") from refused
        raise


@router.post("/events/{event_id}/slots/shift", again=again_in("slots", "shift"))
def shift_slots(setup: SetupDep, form: FormDep) -> Response:
    """Move the rest of a day by some minutes: every slot still to come, in one step."""
    data = valid(SlotShift, form, *SHIFT_FIELDS)
    return setup.done(
        "slots", event_service.shift_slots(setup.session, setup.event, data).summary()
    )


@router.post("/events/{event_id}/slots/{slot_id}", again=again_in("slots", "slot{slot_id}"))
def update_slot(slot_id: RowId, setup: SetupDep, form: FormDep) -> Response:
    """Change a slot's day, times, kind or title in place: its sessions and seats stay."""

    event_service.slot_of(setup.session, setup.event, slot_id)  # a removed slot: 404

    def save(data: SlotForm) -> str:
        off = _by_the_start(
            lambda: event_service.update_slot(setup.session, setup.event, slot_id, data.to_create())
        )
        if not off:
            return _("Saved. Every phone and the projector show the slot as it is now.")
        return ngettext(
            "Saved. A plenary takes no sessions, so %(titles)s is off the wall now: its "
            "people keep a place in its waitlist and get their seats back when it is placed "
            "again.",
            "Saved. A plenary takes no sessions, so %(titles)s are off the wall now: their "
            "people keep a place in their waitlists and get their seats back when they are "
            "placed again.",
            len(off),
            titles=", ".join(f"“{topic.title}”" for topic in off),
        )

    return setup.done("slots", save(valid(SlotForm, form, *SLOT_FIELDS)))


@router.post("/events/{event_id}/slots/{slot_id}/delete", again=again_in("slots"))
def remove_slot(slot_id: RowId, setup: SetupDep) -> Response:
    moved = wall.clear_place(setup.session, setup.event, slot_id=slot_id)
    event_service.remove_slot(setup.session, setup.event, slot_id)
    return setup.done("slots", _off_the_wall(moved))


def _off_the_wall(topics: list[Topic]) -> str | None:
    """What removing a slot or a space did to the sessions in it."""
    if not topics:
        return None
    return ngettext(
        "Removed. %(titles)s is off the wall now: its people keep a place in its waitlist and "
        "get their seats back when it is placed again.",
        "Removed. %(titles)s are off the wall now: their people keep a place in their "
        "waitlists and get their seats back when they are placed again.",
        len(topics),
        titles=", ".join(f"“{topic.title}”" for topic in topics),
    )


@router.post("/events/{event_id}/themes", again=again_in("themes"))
def add_theme(setup: SetupDep, form: FormDep) -> Response:
    data = valid(ThemeCreate, form, "name", "description")
    event_service.add_theme(setup.session, setup.event, data)
    return setup.done("themes")


@router.post("/events/{event_id}/themes/{theme_id}/delete", again=again_in("themes"))
def remove_theme(theme_id: RowId, setup: SetupDep) -> Response:
    event_service.remove_theme(setup.session, setup.event, theme_id)
    return setup.done("themes")


@router.post("/events/{event_id}/team", again=again_in("team"))
def invite_to_team(setup: SetupDep, organiser: CurrentOrganiser, form: FormDep) -> Response:
    """Invite someone to the team: a message with a link to join goes through the outbox."""
    data = valid(TeamForm, form, "email", "name", "role")
    invited = invitations.invite(
        setup.session, setup.event, organiser, data.email, data.name, data.role
    )
    if not invited.sent:
        return setup.done(
            "team",
            _(
                "%(email)s is invited already: the message sent before still works. "
                "Nothing new was sent.",
                email=invited.invite.email,
            ),
        )
    return setup.done(
        "team",
        _(
            "We sent an invitation to %(email)s. Without a mail server it waits in the "
            "Outbox, where you can open it and pass its link on.",
            email=invited.invite.email,
        ),
    )


@router.post("/events/{event_id}/invites/{invite_id}/cancel", again=again_in("team"))
def cancel_team_invite(invite_id: RowId, setup: SetupDep) -> Response:
    """Cancel an invitation to the team: its link stops working."""
    invitations.cancel(setup.session, setup.event, invite_id)
    return setup.done("team")


@router.post("/events/{event_id}/team/{organiser_id}/delete", again=again_in("team"))
def remove_team_member(organiser_id: RowId, setup: SetupDep) -> Response:
    event_service.remove_team_member(setup.session, setup.event, organiser_id)
    return setup.done("team")


@router.post("/events/{event_id}/facilitator-links", again=again_in("links"))
def create_facilitator_link(setup: SetupDep, form: FormDep) -> Response:
    data = valid(TokenForm, form, "name")
    event_service.create_facilitator_link(setup.session, setup.event, data.name)
    return setup.done("links")


@router.post("/events/{event_id}/facilitator-links/{link_id}/revoke", again=again_in("links"))
def revoke_facilitator_link(link_id: RowId, setup: SetupDep) -> Response:
    event_service.revoke_facilitator_link(setup.session, setup.event, link_id)
    return setup.done("links")


@router.post("/events/{event_id}/projector-link/renew", again=again_in("links"))
def renew_projector_link(setup: SetupDep) -> Response:
    event_service.renew_projector_link(setup.session, setup.event)
    return setup.done("links")


@router.get("/events/{event_id}/poster")
def join_poster(
    request: Request, event: OrganisedEvent, settings: SettingsDep, signer: SignerDep
) -> Response:
    """A printable A4 poster with the QR code and join code."""
    return render(
        request, "organiser/poster.html", {"event": event, "links": links(settings, signer, event)}
    )


@router.get("/events/{event_id}/qr.svg")
def join_qr(event: OrganisedEvent, settings: SettingsDep) -> Response:
    return qr_svg(absolute(settings, f"/j/{event.join_code}"), scale=16)


def account_context(session: Session, organiser: Any) -> dict[str, Any]:
    return {
        "organiser": organiser,
        "tokens": accounts.api_tokens(session, organiser),
        "values": {},
        "errors": {},
        "new_token": None,
    }


@router.get("/account")
def account(request: Request, session: SessionDep, organiser: CurrentOrganiser) -> Response:
    return render(request, "organiser/account.html", account_context(session, organiser))


@router.post("/account/tokens")
def create_api_token(
    request: Request, session: SessionDep, organiser: CurrentOrganiser, form: FormDep
) -> Response:
    values = form_values(form, "name")
    data, errors = validate(TokenForm, values)
    if organiser.must_change_password:
        # A token made with a first password someone else saw would outlive its change.
        data, errors = None, {"name": _("Choose your own password first, above.")}
    ctx = account_context(session, organiser)
    if data is None:
        ctx.update(values=values, errors=errors)
        return render(request, "organiser/account.html", ctx, block="tokens", status_code=422)
    _token, secret = accounts.create_api_token(session, organiser, data.name)
    ctx = account_context(session, organiser)
    ctx["new_token"] = secret
    return render(request, "organiser/account.html", ctx, block="tokens")


@router.post("/account/tokens/{token_id}/revoke")
def revoke_api_token(
    request: Request, token_id: RowId, session: SessionDep, organiser: CurrentOrganiser
) -> Response:
    accounts.revoke_api_token(session, organiser, token_id)
    if wants_fragment(request):
        return render(
            request, "organiser/account.html", account_context(session, organiser), block="tokens"
        )
    return see_other("/organiser/account#tokens")


@router.post("/account/password")
def change_password(
    request: Request,
    session: SessionDep,
    organiser: CurrentOrganiser,
    form: FormDep,
    settings: SettingsDep,
    visitor: VisitorDep,
) -> Response:
    values = form_values(form, "current_password", "new_password")
    data, errors = validate(PasswordForm, values)
    if (
        data is not None
        and accounts.authenticate(session, organiser.email, data.current_password) is None
    ):
        errors = {"current_password": _("This is not your current password.")}
    ctx = account_context(session, organiser)
    if errors or data is None:
        ctx["errors"] = errors
        return render(request, "organiser/account.html", ctx, block="password", status_code=422)
    accounts.set_password(session, organiser, data.new_password)
    ctx["notice"] = _(
        "Your password has been changed. Every other browser signed in to your account "
        "has been signed out."
    )
    # This browser stays signed in, under the account's new generation.
    visitor.as_organiser(organiser.id, organiser.session_generation)
    response = render(request, "organiser/account.html", ctx, block="password")
    remember(response, visitor, settings)
    return response


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(
    request: Request,
    session: SessionDep,
    organiser: CurrentOrganiser,
    settings: SettingsDep,
    visitor: VisitorDep,
) -> Response:
    """End the sign-in of every other browser (a lost laptop, a shared computer)."""
    visitor.as_organiser(organiser.id, accounts.end_sign_ins(session, organiser))
    ctx = account_context(session, organiser)
    ctx["signed_out"] = _("Every other browser signed in to your account has been signed out.")
    response = render(request, "organiser/account.html", ctx, block="sessions")
    remember(response, visitor, settings)
    return response
