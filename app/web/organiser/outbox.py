"""The organiser's Outbox: an event's messages, each as its recipient reads it, and as a file."""

from datetime import date, timedelta
from email.message import EmailMessage
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.config import Settings
from app.i18n import _
from app.models import Event
from app.models.base import utcnow
from app.models.mail import (
    NOT_PLACED_LABELS,
    STATE_LABELS,
    InboundMail,
    Message,
    MessageState,
    PlaceReplyForm,
)
from app.security import LinkSigner
from app.services import actions, mail, mail_replies, outbox, pledges
from app.services.errors import Refused
from app.templating import render
from app.web.kit.audit import audited
from app.web.kit.common import download, qr_inline, see_other
from app.web.kit.deps import (
    CurrentOrganiser,
    FormDep,
    OrganisedEvent,
    RowId,
    SessionDep,
    SettingsDep,
    SignerDep,
    verify_csrf,
)
from app.web.kit.forms import valid
from app.web.kit.routing import Router
from app.web.mail_links import mail_links
from app.web.participant.pledge_answer import answer_link

router = Router(prefix="/organiser", dependencies=[Depends(audited)])

EML = "message/rfc822"
# The printed postcards: those falling due within this many days, unless another day is asked.
PRINT_AHEAD_DAYS = 31


@router.get("/events/{event_id}/outbox")
def outbox_page(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    organiser: CurrentOrganiser,
    settings: SettingsDep,
    error: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """What the event's messages are doing: waiting, sent, failed; filtered by state. And the
    replies by e-mail that could not be placed on an action by themselves."""
    assert event.id is not None
    state = request.query_params.get("state", "")
    states = [MessageState(state)] if state in MessageState.__members__.values() else []
    counts = outbox.counts(session, event.id)
    return render(
        request,
        "organiser/outbox.html",
        {
            "replies": mail_replies.unplaced(session, event),
            "reply_reasons": NOT_PLACED_LABELS,
            "reply_options": [("", _("Choose an action"))]
            + [
                (str(line.action.id), f"{line.action.title} — {line.owner}".removesuffix(" — "))
                for line in actions.action_lines(session, event)
            ],
            "reply_error": error or next(iter((errors or {}).values()), ""),
            "placed": request.query_params.get("placed", ""),
            "organiser": organiser,
            "event": event,
            "messages": outbox.messages(session, event_id=event.id, states=states),
            "state": states[0] if states else "",
            "counts": counts,
            "total": sum(counts.values()),
            "state_labels": STATE_LABELS,
            "mail_server": bool(settings.smtp_url),
            "to_print": len(
                pledges.postcards_to_print(session, event, _print_until(request, event))
            ),
            "print_until": _print_until(request, event),
        },
        status_code=status_code,
    )


def kept_reply(event: OrganisedEvent, reply_id: RowId, session: SessionDep) -> InboundMail:
    """The reply the form is about, looked up before its fields are read: 404 comes first."""
    return mail_replies.waiting(session, event, reply_id)


@router.post(
    "/events/{event_id}/outbox/replies/{reply_id}",
    dependencies=[Depends(verify_csrf)],
    again=outbox_page,
)
def settle_reply(
    event: OrganisedEvent,
    reply: Annotated[InboundMail, Depends(kept_reply)],
    session: SessionDep,
    form: FormDep,
    organiser: CurrentOrganiser,
    settings: SettingsDep,
) -> Response:
    """Post a kept reply as an update on the action the organiser chose, or dismiss it."""
    dismissed = form.get("do") == "dismiss"
    chosen = None if dismissed else valid(PlaceReplyForm, form, "action_id").action_id
    placed = mail_replies.settle(session, event, reply, chosen)
    return see_other(f"/organiser/events/{event.id}/outbox?placed={int(placed)}#replies")


@router.get("/events/{event_id}/postcards")
def printed_postcards(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    """Pledges to post or hand out on paper (A6, four to an A4 page): for authors with no
    address, or whose e-mailed postcard could not be delivered; each with a QR code to answer
    "How did it go?"."""
    until = _print_until(request, event)
    cards = []
    for card in pledges.postcards_to_print(session, event, until):
        link = answer_link(settings, signer, card.pledge)
        cards.append((card, link, qr_inline(link, _("QR code to answer how it went"))))
    return render(request, "print/postcards.html", {"event": event, "cards": cards, "until": until})


def _print_until(request: Request, event: Event) -> date:
    """The last reminder day of the postcards to print: asked in the address, or a month on."""
    try:
        return date.fromisoformat(request.query_params.get("until", ""))
    except ValueError:
        return utcnow().astimezone(event.zone).date() + timedelta(days=PRINT_AHEAD_DAYS)


@router.get("/events/{event_id}/outbox/{message_id}")
def message_page(
    request: Request,
    event: OrganisedEvent,
    message_id: RowId,
    session: SessionDep,
    organiser: CurrentOrganiser,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    """One message as its recipient reads it, with every try at sending it."""
    message, email, reason = _drawn(session, settings, signer, event, message_id)
    return render(
        request,
        "organiser/message.html",
        {
            "organiser": organiser,
            "event": event,
            "message": message,
            "state_labels": STATE_LABELS,
            "attempts": outbox.attempts(session, message),
            "html": _part(email, "html"),
            "text": _part(email, "plain"),
            "reason": reason,
        },
    )


@router.get("/events/{event_id}/outbox/{message_id}/eml")
def message_file(
    event: OrganisedEvent,
    message_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    """The message as an .eml file, with the headers it is sent with."""
    message, email, reason = _drawn(session, settings, signer, event, message_id)
    if email is None:
        raise Refused(reason)
    return download(bytes(email), EML, f"message-{message.id}.eml")


def _drawn(
    session: Session, settings: Settings, signer: LinkSigner, event: Event, message_id: int
) -> tuple[Message, EmailMessage | None, str]:
    """The message, drawn as it would go now (or why there is nothing to send)."""
    assert event.id is not None
    message = outbox.event_message(session, event.id, message_id)
    try:
        return message, mail.compose(session, settings, message, mail_links(settings, signer)), ""
    except mail.NothingToSend as reason:
        return message, None, str(reason)


def _part(email: EmailMessage | None, subtype: str) -> str:
    body = email.get_body(preferencelist=(subtype,)) if email is not None else None
    return str(body.get_content()) if body is not None else ""
