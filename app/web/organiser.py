"""Organiser pages: their events, and setting one up (details, spaces, slots, themes, team)."""

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationInfo, field_validator
from sqlmodel import Session

from app.models import Event, Role, SlotKind
from app.models.event import EventCreate, EventUpdate, Form, SlotCreate, SpaceCreate, ThemeCreate
from app.models.people import check_email
from app.security import LinkSigner
from app.services import accounts
from app.services import events as event_service
from app.services.errors import Refused
from app.templating import render, wants_fragment
from app.web.common import absolute, qr_svg, see_other
from app.web.deps import (
    CurrentOrganiser,
    FormDep,
    OrganisedEvent,
    SessionDep,
    SettingsDep,
    SignerDep,
    verify_csrf,
)
from app.web.forms import FormErrors, form_values, validate

router = APIRouter(prefix="/organiser", dependencies=[Depends(verify_csrf)])

EVENT_FIELDS = ("name", "theme_question", "starts_on", "timezone", "venue", "principles")
TIMEZONES = sorted(available_timezones())


class SlotForm(Form):
    """A slot as an organiser types it: a day and two wall-clock times at the venue."""

    day: date
    start: time
    end: time
    kind: SlotKind = SlotKind.breakout
    title: str = ""

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("The slot must end after it starts.")
        return value

    def to_create(self) -> SlotCreate:
        return SlotCreate(
            starts_at=datetime.combine(self.day, self.start),
            ends_at=datetime.combine(self.day, self.end),
            kind=self.kind,
            title=self.title,
        )


class TeamForm(Form):
    email: str
    name: str = ""
    role: Role

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value, required=True).lower()


class TokenForm(Form):
    name: str = ""


class PasswordForm(Form):
    current_password: str
    new_password: str

    @field_validator("new_password")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if len(value) < 10:
            raise ValueError("Please use at least 10 characters.")
        return value


def links(settings: Any, signer: LinkSigner, event: Event) -> dict[str, str]:
    """The event's links to hand out: join, projector."""
    assert event.id is not None
    return {
        "join": absolute(settings, f"/j/{event.join_code}"),
        "projector": absolute(
            settings, "/display/" + signer.sign("projector", event.id, event.projector_version)
        ),
    }


def setup_context(
    session: Session, settings: Any, signer: LinkSigner, event: Event
) -> dict[str, Any]:
    return {
        "event": event,
        "spaces": event_service.spaces(session, event),
        "slots": event_service.slots(session, event),
        "themes": event_service.themes(session, event),
        "team": event_service.team(session, event),
        "facilitator_links": [
            (link, absolute(settings, "/f/" + signer.sign("facilitator", link.id or 0)))
            for link in event_service.facilitator_links(session, event)
        ],
        "links": links(settings, signer, event),
        "participant_count": event_service.participant_count(session, event),
        "timezones": TIMEZONES,
        "slot_kinds": list(SlotKind),
        "roles": list(Role),
        "values": {},
        "errors": {},
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
    if not values["principles"]:
        values.pop("principles")
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


@router.get("/events/{event_id}")
def event_setup(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    return render(request, "organiser/event.html", setup_context(session, settings, signer, event))


def section_response(
    request: Request,
    session: SessionDep,
    settings: Any,
    signer: LinkSigner,
    event: Event,
    section: str,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
) -> Response:
    """After a post: the section again (htmx), the page with errors (422), or a redirect."""
    if errors:
        ctx = setup_context(session, settings, signer, event)
        ctx.update(values={section: values or {}}, errors={section: errors})
        return render(request, "organiser/event.html", ctx, block=section, status_code=422)
    if wants_fragment(request) or notice:
        ctx = setup_context(session, settings, signer, event)
        ctx["notice"] = {section: notice} if notice else {}
        return render(request, "organiser/event.html", ctx, block=section)
    return see_other(f"/organiser/events/{event.id}#{section}")


def apply_form(
    request: Request,
    session: SessionDep,
    settings: Any,
    signer: LinkSigner,
    event: Event,
    form: FormDep,
    *,
    section: str,
    model: type[BaseModel],
    fields: tuple[str, ...],
    action: Callable[[Any], str | None],
) -> Response:
    """Validate a section's form and carry out `action` with it; errors go back to the form."""
    values = form_values(form, *fields)
    data, errors = validate(model, values)
    notice = None
    if data is not None:
        try:
            notice = action(data)
        except Refused as refused:
            field = refused.field if refused.field in fields else "__all__"
            errors = {field: refused.message}
    return section_response(
        request,
        session,
        settings,
        signer,
        event,
        section,
        values=values,
        errors=errors,
        notice=notice,
    )


@router.post("/events/{event_id}")
def update_event(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    form: FormDep,
) -> Response:
    def save(data: EventUpdate) -> str:
        event_service.update_event(session, event, data)
        return "Saved."

    return apply_form(
        request,
        session,
        settings,
        signer,
        event,
        form,
        section="details",
        model=EventUpdate,
        fields=EVENT_FIELDS,
        action=save,
    )


@router.post("/events/{event_id}/spaces")
def add_space(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    form: FormDep,
) -> Response:
    def add(data: SpaceCreate) -> None:
        event_service.add_space(session, event, data)

    return apply_form(
        request,
        session,
        settings,
        signer,
        event,
        form,
        section="spaces",
        model=SpaceCreate,
        fields=("name", "capacity", "access_notes"),
        action=add,
    )


@router.post("/events/{event_id}/spaces/{space_id}")
def update_space(
    request: Request,
    space_id: int,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    form: FormDep,
) -> Response:
    def save(data: SpaceCreate) -> None:
        event_service.update_space(session, event, space_id, data)

    return apply_form(
        request,
        session,
        settings,
        signer,
        event,
        form,
        section="spaces",
        model=SpaceCreate,
        fields=("name", "capacity", "access_notes"),
        action=save,
    )


@router.post("/events/{event_id}/spaces/{space_id}/delete")
def remove_space(
    request: Request,
    space_id: int,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    event_service.remove_space(session, event, space_id)
    return section_response(request, session, settings, signer, event, "spaces")


@router.post("/events/{event_id}/slots")
def add_slot(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    form: FormDep,
) -> Response:
    def add(data: SlotForm) -> None:
        event_service.add_slot(session, event, data.to_create())

    return apply_form(
        request,
        session,
        settings,
        signer,
        event,
        form,
        section="slots",
        model=SlotForm,
        fields=("day", "start", "end", "kind", "title"),
        action=add,
    )


@router.post("/events/{event_id}/slots/{slot_id}/delete")
def remove_slot(
    request: Request,
    slot_id: int,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    event_service.remove_slot(session, event, slot_id)
    return section_response(request, session, settings, signer, event, "slots")


@router.post("/events/{event_id}/themes")
def add_theme(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    form: FormDep,
) -> Response:
    def add(data: ThemeCreate) -> None:
        event_service.add_theme(session, event, data)

    return apply_form(
        request,
        session,
        settings,
        signer,
        event,
        form,
        section="themes",
        model=ThemeCreate,
        fields=("name", "description"),
        action=add,
    )


@router.post("/events/{event_id}/themes/{theme_id}/delete")
def remove_theme(
    request: Request,
    theme_id: int,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    event_service.remove_theme(session, event, theme_id)
    return section_response(request, session, settings, signer, event, "themes")


@router.post("/events/{event_id}/team")
def add_team_member(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    form: FormDep,
) -> Response:
    def add(data: TeamForm) -> str | None:
        member, password = event_service.add_team_member(
            session, event, data.email, data.name, data.role
        )
        if password is None:
            return None
        return (
            f"We made an account for {member.email}. Give them this first password "
            f"(shown only now) and ask them to change it after logging in: {password}"
        )

    return apply_form(
        request,
        session,
        settings,
        signer,
        event,
        form,
        section="team",
        model=TeamForm,
        fields=("email", "name", "role"),
        action=add,
    )


@router.post("/events/{event_id}/team/{organiser_id}/delete")
def remove_team_member(
    request: Request,
    organiser_id: int,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    try:
        event_service.remove_team_member(session, event, organiser_id)
    except Refused as refused:
        return section_response(
            request,
            session,
            settings,
            signer,
            event,
            "team",
            errors={"__all__": refused.message},
        )
    return section_response(request, session, settings, signer, event, "team")


@router.post("/events/{event_id}/facilitator-links")
def create_facilitator_link(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    form: FormDep,
) -> Response:
    def create(data: TokenForm) -> None:
        event_service.create_facilitator_link(session, event, data.name)

    return apply_form(
        request,
        session,
        settings,
        signer,
        event,
        form,
        section="links",
        model=TokenForm,
        fields=("name",),
        action=create,
    )


@router.post("/events/{event_id}/facilitator-links/{link_id}/revoke")
def revoke_facilitator_link(
    request: Request,
    link_id: int,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    event_service.revoke_facilitator_link(session, event, link_id)
    return section_response(request, session, settings, signer, event, "links")


@router.post("/events/{event_id}/projector-link/renew")
def renew_projector_link(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    event_service.renew_projector_link(session, event)
    return section_response(request, session, settings, signer, event, "links")


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
    data, _ = validate(TokenForm, form_values(form, "name"))
    _token, secret = accounts.create_api_token(session, organiser, data.name if data else "")
    ctx = account_context(session, organiser)
    ctx["new_token"] = secret
    return render(request, "organiser/account.html", ctx, block="tokens")


@router.post("/account/tokens/{token_id}/revoke")
def revoke_api_token(
    request: Request, token_id: int, session: SessionDep, organiser: CurrentOrganiser
) -> Response:
    accounts.revoke_api_token(session, organiser, token_id)
    if wants_fragment(request):
        return render(
            request, "organiser/account.html", account_context(session, organiser), block="tokens"
        )
    return see_other("/organiser/account#tokens")


@router.post("/account/password")
def change_password(
    request: Request, session: SessionDep, organiser: CurrentOrganiser, form: FormDep
) -> Response:
    values = form_values(form, "current_password", "new_password")
    data, errors = validate(PasswordForm, values)
    if (
        data is not None
        and accounts.authenticate(session, organiser.email, data.current_password) is None
    ):
        errors = {"current_password": "This is not your current password."}
    ctx = account_context(session, organiser)
    if errors or data is None:
        ctx["errors"] = errors
        return render(request, "organiser/account.html", ctx, block="password", status_code=422)
    accounts.set_password(session, organiser, data.new_password)
    ctx["notice"] = "Your password has been changed."
    return render(request, "organiser/account.html", ctx, block="password")
