"""Participant pages: join with a name, the event on a phone, continue on another device."""

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import i18n
from app.db import Database
from app.i18n import _
from app.models import Event, Participant
from app.models.base import utcnow
from app.models.people import ParticipantJoin
from app.security import LinkSigner, new_secret
from app.services import events as event_service
from app.services import participants as participant_service
from app.services import privacy, signups
from app.services.agenda import time_style
from app.templating import render, wants_fragment
from app.web.agenda import shared_cards, shared_slots, shared_spaces
from app.web.kit.common import absolute, qr_svg, see_other
from app.web.kit.deps import (
    FormDep,
    JoinedEvent,
    MaybeParticipant,
    RowId,
    SessionDep,
    SettingsDep,
    SignerDep,
    VisitorDep,
    remember_and_go,
    verify_csrf,
)
from app.web.kit.forms import form_values, once_key, validate
from app.web.kit.limits import rate_limited
from app.web.kit.routing import Router
from app.web.participant.attendee import AttendeeDep
from app.web.public import live

router = Router(
    prefix="/e/{code}",
    dependencies=[Depends(verify_csrf), Depends(rate_limited)],
)

JOIN_FIELDS = (
    "display_name",
    "organisation",
    "email",
    "share_email",
    "mail_actions",
    "mail_sessions",
    "mail_book",
)


def device_path(
    signer: LinkSigner, event: Event, participant: Participant, printed_by: int | None = None
) -> str:
    """The personal link that brings this participant back on another device. One printed at
    the desk through a facilitator link (`printed_by`) works only while that link does."""
    assert participant.id is not None
    values = [participant.id, participant.link_version]
    if printed_by is not None:
        values.append(printed_by)
    token = signer.sign("device", *values)
    return f"/e/{event.join_code}/continue/{token}"


@router.get("/join")
def join_form(
    request: Request, event: JoinedEvent, participant: MaybeParticipant, session: SessionDep
) -> Response:
    if participant is not None:
        return see_other(_after_join(event, request.query_params.get("next")))
    return render(
        request,
        "participant/join.html",
        {
            "event": event,
            "values": {},
            "errors": {},
            "join_key": new_secret(),
            "next": _after_join(event, request.query_params.get("next")),
            "kept_months": privacy.settings_of(session, event).retention_months,
        },
    )


def _after_join(event: Event, next_url: object) -> str:
    """Where to go once joined: a page of this event the person was going to, or its home."""
    home = f"/e/{event.join_code}"
    wanted = str(next_url or "")
    return wanted if wanted.startswith(home + "/") and "//" not in wanted else home


@router.post("/join")
def join(
    request: Request,
    event: JoinedEvent,
    participant: MaybeParticipant,
    session: SessionDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    form: FormDep,
) -> Response:
    after = _after_join(event, form.get("next"))
    if participant is not None:  # a second tap on "Join" must not make a second person
        return see_other(after)
    values = form_values(form, *JOIN_FIELDS)
    join_key = once_key(form.get("join_key")) or new_secret()
    data, errors = validate(ParticipantJoin, values)
    if data is None:
        return render(
            request,
            "participant/join.html",
            {
                "event": event,
                "values": values,
                "errors": errors,
                "join_key": join_key,
                "next": after,
                "kept_months": privacy.settings_of(session, event).retention_months,
            },
            status_code=422,
        )
    visitor.as_participant(participant_service.join_event(session, event, data, join_key))
    return _as_someone_new(remember_and_go(after, visitor, settings), event)


def _as_someone_new(response: Response, event: Event) -> Response:
    """The browser now acts as another person in the event: what the last one hid shows."""
    response.delete_cookie(live.HIDDEN_COOKIE, path=f"/e/{event.join_code}")
    return response


@router.get("")
def event_home(me: AttendeeDep) -> Response:
    def build() -> Response:
        session, event, participant = me.session, me.event, me.participant
        cards = shared_cards(me.request, session, event)
        slots = shared_slots(me.request, session, event)
        spaces = shared_spaces(me.request, session, event)
        marks = signups.marks_of(session, participant)  # for the agenda and the seat news
        agenda = signups.agenda_from(slots, cards, participant.id or 0, marks)
        now = utcnow()
        return render(
            me.request,
            "participant/home.html",
            {
                "event": event,
                "participant": participant,
                "spaces": spaces,
                "hall": event_service.plenary_space(spaces),
                "slots": slots,
                "time_style": time_style(slots, event.zone),
                "agenda": agenda,
                # The first screen answers "where should I be now, and next".
                "where": signups.now_and_next(agenda, now, event.zone),
                "my_topics": [c for c in cards if c.topic.convener_id == participant.id],
                "topic_count": len(cards),
                "now": now,  # an ended slot invites no choice
                "news": me.news(marks),
                "next": me.home,
                **live.page_parts(me.request, session, event),
            },
        )

    return me.fresh(build)


@router.post("/announcements/{announcement_id}/hide")
def hide_announcement(
    request: Request,
    announcement_id: RowId,
    event: JoinedEvent,
    participant: MaybeParticipant,
    settings: SettingsDep,
    form: FormDep,
) -> Response:
    """The participant has read an announcement: their pages stop showing it (a newer one
    shows). Kept in a cookie of this event's pages, as nothing else is kept about it."""
    if participant is None:
        return see_other(f"/e/{event.join_code}/join")
    hidden = [announcement_id, *live.hidden_announcements(request)][: live.HIDDEN_KEPT]
    # htmx takes the announcement off the page; a plain form goes back to the page it was on.
    response = (
        Response() if wants_fragment(request) else see_other(_after_join(event, form.get("next")))
    )
    response.set_cookie(
        live.HIDDEN_COOKIE,
        ".".join(str(number) for number in sorted(set(hidden), reverse=True)),
        max_age=settings.session_max_age_days * 86400,
        path=f"/e/{event.join_code}",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


@router.get("/live")
def live_stream(request: Request, code: str, visitor: VisitorDep) -> Response:
    """The page's live updates (Server-Sent Events); nothing for someone who has not joined.

    Thousands of phones reconnect at once after a restart, so this asks the database one
    question and holds no request session.
    """
    database: Database = request.app.state.database
    with database.read() as session:
        found = participant_service.watching(session, code, visitor.participants)
    if found is None:
        return Response(status_code=204)  # an event source stops asking after a 204
    event_id, participant_id = found
    messages = live.phone_messages(participant_id, i18n.current())
    return live.stream(request, event_id, messages, request.query_params.get("v"))


@router.get("/device")
def device_page(
    request: Request,
    event: JoinedEvent,
    participant: MaybeParticipant,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    if participant is None:
        return see_other(f"/e/{event.join_code}/join")
    link = absolute(settings, device_path(signer, event, participant))
    return render(
        request,
        "participant/device.html",
        {"event": event, "participant": participant, "link": link},
    )


@router.get("/device/qr.svg")
def device_qr(
    event: JoinedEvent,
    participant: MaybeParticipant,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    if participant is None:
        raise HTTPException(404)  # the error page, as for any address that names nothing
    return qr_svg(absolute(settings, device_path(signer, event, participant)))


@router.post("/device/revoke")
def revoke_device_links(
    event: JoinedEvent,
    participant: MaybeParticipant,
    session: SessionDep,
    settings: SettingsDep,
    visitor: VisitorDep,
) -> Response:
    """Void the old link (and sign out other devices); this device stays signed in."""
    if participant is None:
        return see_other(f"/e/{event.join_code}/join")
    participant_service.revoke_device_links(session, participant)
    visitor.as_participant(participant)
    return remember_and_go(f"/e/{event.join_code}/device?renewed=1", visitor, settings)


def _continuing(
    request: Request, token: str, event: Event, session: Session, signer: LinkSigner
) -> Participant | Response:
    """The participant a personal link brings back, or the page that says it does not work."""
    values = signer.read("device", token) or []
    participant = None
    if len(values) in (2, 3):
        participant = participant_service.participant_in(session, event, values[0], values[1])
    if len(values) == 3:
        printed_by = event_service.live_facilitator_link(session, values[2])
        if printed_by is None or printed_by.event_id != event.id:
            participant = None
    if participant is None:
        return render(
            request,
            "errors.html",
            {
                "status": 404,
                "title": _("This link no longer works"),
                "message": _(
                    "It may have been replaced by a newer one. "
                    "You can join the event again with your name."
                ),
                "action": (f"/e/{event.join_code}/join", _("Join the event")),
            },
            status_code=404,
        )
    return participant


@router.get("/continue/{token}")
def continue_page(
    request: Request, token: str, event: JoinedEvent, session: SessionDep, signer: SignerDep
) -> Response:
    """A personal link asks before it acts: opening it (from another site, a link checker)
    changes who this browser is for nobody; the button does."""
    participant = _continuing(request, token, event, session, signer)
    if isinstance(participant, Response):
        return participant
    return render(
        request,
        "public/link_sign_in.html",
        {
            "title": _("Continue as %(name)s", name=participant.display_name),
            "message": _(
                "This phone or computer will take part in %(event)s as %(name)s: your agenda, "
                "your topics and what you wrote.",
                event=event.name,
                name=participant.display_name,
            ),
            "action": f"/e/{event.join_code}/continue/{token}",
            "button": _("Continue as %(name)s", name=participant.display_name),
        },
    )


@router.post("/continue/{token}")
def continue_here(
    request: Request,
    token: str,
    event: JoinedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    visitor: VisitorDep,
) -> Response:
    participant = _continuing(request, token, event, session, signer)
    if isinstance(participant, Response):
        return participant
    visitor.as_participant(participant)
    return _as_someone_new(remember_and_go(f"/e/{event.join_code}", visitor, settings), event)


@router.get("/qr.svg")
def join_qr(event: JoinedEvent, settings: SettingsDep) -> Response:
    """The QR code people scan to join."""
    return qr_svg(absolute(settings, f"/j/{event.join_code}"))
