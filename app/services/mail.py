"""Messages as the recipient reads them: an EmailMessage with a text and an HTML part.

A message is drawn when it is sent (or shown to the organiser), from what its causes name
now: an action moved to someone else or a pledge taken back leaves nothing to send.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as default_policy
from email.utils import format_datetime, parseaddr
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session, col, select

from app import i18n
from app.config import ROOT, Settings
from app.i18n import lazy
from app.models import Action, Event, Organiser, Participant, Pledge, Topic
from app.models.base import utcnow
from app.models.mail import Message, MessageCause, MessageKind, Purpose
from app.models.outcomes import STATUS_LABELS, ActionStatus
from app.models.people import LinkState, PasswordReset, TeamInvite
from app.security import password_mark
from app.services import day_mail, digest, outbox

NAME_MAX = 120
SUBJECT_MAX = 200

SUBJECTS = {
    MessageKind.pledge_postcard: lazy("Your pledge from %(event)s"),
    MessageKind.action_owner: lazy("Your actions from %(event)s: your private link"),
    MessageKind.due_soon: lazy("Due soon: your actions from %(event)s"),
    MessageKind.overdue: lazy("Past the due date: your actions from %(event)s"),
    MessageKind.reminder: lazy("A reminder from the organisers: your actions from %(event)s"),
    MessageKind.action_carried: lazy("Your actions from %(event)s go on to the next event"),
    MessageKind.book: lazy("The book of %(event)s is ready"),
    MessageKind.digest: lazy("This week's actions from %(event)s"),
    MessageKind.team_invite: lazy("You are invited to the team of %(event)s"),
    MessageKind.password_reset: lazy("Set a new password for OpenSpace"),
    MessageKind.test: lazy("A test message from OpenSpace"),
}
# Which consent each kind needs (the test message goes only to who runs the test).
PURPOSE = {
    MessageKind.pledge_postcard: Purpose.pledge,
    MessageKind.action_owner: Purpose.actions,
    MessageKind.due_soon: Purpose.actions,
    MessageKind.overdue: Purpose.actions,
    MessageKind.reminder: Purpose.actions,
    MessageKind.action_carried: Purpose.actions,
    MessageKind.session_news: Purpose.sessions,
    MessageKind.book: Purpose.book,
}
OPEN = (ActionStatus.proposed, ActionStatus.agreed, ActionStatus.in_progress)
# What an action's owner hears about it.
OWNER_KINDS = (
    MessageKind.action_owner,
    MessageKind.due_soon,
    MessageKind.overdue,
    MessageKind.reminder,
    MessageKind.action_carried,
)

_env = Environment(
    loader=FileSystemLoader(ROOT / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_callables(  # type: ignore[attr-defined]
    lambda message: i18n.translations(i18n.current()).gettext(message),
    lambda singular, plural, n: i18n.translations(i18n.current()).ngettext(singular, plural, n),
    newstyle=True,
)

# Line breaks, other control characters and the like never reach a header.
_NOT_IN_HEADER = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text: str, limit: int) -> str:
    """Text fit for a header: one line, spaces collapsed, at most `limit` characters."""
    return " ".join(_NOT_IN_HEADER.sub(" ", text).split())[:limit]


def subject(kind: MessageKind, event: Event | None, language: str) -> str:
    """A kind's subject line in the recipient's language."""
    with i18n.speaking(language):
        return one_line(str(SUBJECTS[kind]) % {"event": event.name if event else ""}, SUBJECT_MAX)


@dataclass(frozen=True)
class Links:
    """The addresses a message carries (made by the web layer, which owns the routes)."""

    base_url: str
    action: Callable[[Action], str]
    # A person's page of what they get by e-mail, where they stop it.
    choices: Callable[[int], str]
    # Where a mail program posts RFC 8058's one-click unsubscribe, for one purpose.
    stop: Callable[[int, Purpose], str]
    # Where a pledge's author answers "How did it go?".
    pledge_answer: Callable[[Pledge], str]
    # The event's privacy notice: what is kept, and how to see, take and erase it.
    privacy: Callable[[Event], str]
    # Where an invitee joins an event's team (single use, until it runs out).
    team_invite: Callable[[TeamInvite], str]
    # Where an organiser sets a new password (single use, within the hour).
    password_reset: Callable[[PasswordReset], str]
    # Where an owner's reply to the message goes, to become an update ("": not set up).
    reply_to: Callable[[Message], str] | None = None
    # Where an organiser turns their weekly digest off (one click, signed).
    digest_stop: Callable[[int], str] | None = None


class OneLineHeader(UnstructuredHeader):
    """A header always written on one line: a folded List-Unsubscribe breaks some senders'
    DKIM signatures, and Python would fold a long address into encoded words."""

    max_count = 1

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"  # type: ignore[attr-defined]


_headers = HeaderRegistry()
_headers.map_to_type("list-unsubscribe", OneLineHeader)  # type: ignore[arg-type]
POLICY = default_policy.clone(header_factory=_headers)


class NothingToSend(Exception):
    """What caused the message is gone or changed: it is not to be sent."""


def compose(session: Session, settings: Settings, message: Message, links: Links) -> EmailMessage:
    """The message as it goes out now; raises NothingToSend when its causes no longer hold."""
    purpose = PURPOSE.get(message.kind)
    if purpose is not None and not outbox.has_consent(session, message.participant_id, purpose):
        raise NothingToSend("The person has not asked for this (or no longer does).")
    event = session.get(Event, message.event_id) if message.event_id else None
    context: dict[str, Any] = {"event_name": event.name if event else "", "site": links.base_url}
    person = message.participant_id
    if person is not None:
        context["choices_link"] = links.choices(person)
    if event is not None:
        context["privacy_link"] = links.privacy(event)
    with i18n.speaking(message.language):
        if message.kind == MessageKind.pledge_postcard:
            context.update(_pledge(session, message, links))
        elif message.kind in OWNER_KINDS:
            context["actions"] = _actions(session, message, links)
        elif message.kind == MessageKind.session_news:
            context.update(_session_news(session, message, event, links))
        elif message.kind == MessageKind.book:
            context.update(_book(message, event, links))
        elif message.kind == MessageKind.digest:
            context.update(_digest(session, message, event, links))
        elif message.kind == MessageKind.team_invite:
            context.update(_team_invite(session, message, links, event))
        elif message.kind == MessageKind.password_reset:
            context.update(_password_reset(session, message, links))
    reply_to = links.reply_to(message) if links.reply_to and message.kind in OWNER_KINDS else ""
    context["reply_by_mail"] = bool(reply_to)
    email = draw(settings, message, context)
    if reply_to:
        # The owner's reply comes back to `openspace receive-mail` and becomes an update.
        email["Reply-To"] = Address(email["From"].addresses[0].display_name, addr_spec=reply_to)
    if purpose is not None and person is not None:
        # RFC 8058: the mail program posts "List-Unsubscribe=One-Click" to this address.
        email["List-Unsubscribe"] = f"<{links.stop(person, purpose)}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    elif context.get("digest_stop_link"):
        email["List-Unsubscribe"] = f"<{context['digest_stop_link']}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return email


def draw(settings: Settings, message: Message, context: dict[str, Any]) -> EmailMessage:
    """The message of its kind's templates, in its language, with the context given."""
    with i18n.speaking(message.language):
        context = {
            "event_name": "",
            **context,
            "subject": one_line(message.subject, SUBJECT_MAX),
            "language": message.language,
            "dir": i18n.direction(message.language),
        }
        text = _env.get_template(f"mail/{message.kind}.txt").render(context)
        html = _env.get_template(f"mail/{message.kind}.html").render(context)
    return envelope(settings, message, text, html)


def envelope(settings: Settings, message: Message, text: str, html: str) -> EmailMessage:
    """The headers and the two parts; no typed name or subject can add a header."""
    email = EmailMessage(policy=POLICY)
    sender_name, sender_address = parseaddr(settings.mail_from)
    email["From"] = Address(one_line(sender_name, NAME_MAX), addr_spec=sender_address)
    email["To"] = Address(one_line(message.to_name, NAME_MAX), addr_spec=message.to_address)
    email["Subject"] = one_line(message.subject, SUBJECT_MAX)
    # A sent message shown again (the organiser's outbox) keeps the moment it went.
    email["Date"] = format_datetime(message.sent_at or utcnow())
    email["Message-ID"] = message_id_header(settings, message)
    # Out-of-office replies and the like are not sent back to an automatic message.
    email["Auto-Submitted"] = "auto-generated"
    email["Content-Language"] = message.language
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    return email


def message_id_header(settings: Settings, message: Message) -> str:
    """The Message-ID: the message's own key at the sender's domain, the same on every try."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<{message.message_id}@{domain}>"


def _pledge(session: Session, message: Message, links: Links) -> dict[str, Any]:
    pledge_id = session.exec(
        select(MessageCause.pledge_id).where(
            MessageCause.message_id == message.id, col(MessageCause.pledge_id).is_not(None)
        )
    ).first()
    pledge = session.get(Pledge, pledge_id) if pledge_id else None
    if pledge is None:
        raise NothingToSend("The pledge was taken back.")
    person = session.get(Participant, pledge.participant_id)
    return {
        "pledge_text": pledge.text,
        "name": person.display_name if person else "",
        "made_on": i18n.when(pledge.created_at, None, "date"),
        "answer_link": links.pledge_answer(pledge),
    }


def _session_news(
    session: Session, message: Message, event: Event | None, links: Links
) -> dict[str, Any]:
    topic_id = session.exec(
        select(MessageCause.topic_id).where(
            MessageCause.message_id == message.id, col(MessageCause.topic_id).is_not(None)
        )
    ).first()
    topic = session.get(Topic, topic_id) if topic_id else None
    if topic is None or event is None:
        raise NothingToSend("The session is no longer kept.")
    news = day_mail.news(session, message, topic, event)
    if news is None:
        raise NothingToSend("The session is back where it was: there is nothing to tell.")
    return {**news, "agenda_link": f"{links.base_url}/e/{event.join_code}"}


def _book(message: Message, event: Event | None, links: Links) -> dict[str, Any]:
    if event is None or event.book_sent_at is None or message.participant_id is None:
        raise NothingToSend("The event is no longer kept.")
    return {"book_link": f"{links.choices(message.participant_id)}/book"}


def _digest(
    session: Session, message: Message, event: Event | None, links: Links
) -> dict[str, Any]:
    """The organiser's digest; nothing once they or the event turned it off, or once no
    action is open."""
    organiser_id = int(message.group_key.split(":")[1])
    organiser = session.get(Organiser, organiser_id)
    if event is None or organiser is None or organiser.email != message.to_address:
        raise NothingToSend("The organiser or the event is no longer kept.")
    if not (organiser.weekly_digest and event.weekly_digest):
        raise NothingToSend("The weekly digest was turned off.")
    found = digest.of(session, event, utcnow())
    if not found.still_open:
        raise NothingToSend("No action of the event is open.")
    base = f"{links.base_url}/organiser/events/{event.id}"
    return {
        "digest": found,
        "tracker_link": f"{base}/actions",
        "pledges_link": f"{base}/pledges",
        "settings_link": f"{links.base_url}/organiser/account",
        "digest_stop_link": links.digest_stop(organiser_id) if links.digest_stop else "",
    }


@dataclass
class ActionItem:
    title: str
    first_step: str
    due_on: str
    status: str
    link: str


def _actions(session: Session, message: Message, links: Links) -> list[ActionItem]:
    actions = session.exec(
        select(Action)
        .join(MessageCause, col(MessageCause.action_id) == Action.id)
        .where(MessageCause.message_id == message.id)
        .order_by(col(Action.due_on), col(Action.id))
    ).all()
    distinct = {action.id: action for action in actions}.values()
    owned = [
        action
        for action in distinct
        if action.owner_id == message.participant_id
        and not action.hidden
        and (message.kind == MessageKind.action_owner or action.status in OPEN)
    ]
    if not owned:
        raise NothingToSend("None of its actions is still open and owned by this person.")
    return [
        ActionItem(
            title=action.title,
            first_step=action.first_step,
            due_on=i18n.when(action.due_on, None, "date") if action.due_on else "",
            status=str(STATUS_LABELS[action.status]),
            link=links.action(action),
        )
        for action in owned
    ]


# The causes of the messages about an organiser's account: their keys name the row.
INVITE_CAUSE = "team-invite"
RESET_CAUSE = "password-reset"


def _named_by_cause(session: Session, message: Message, prefix: str) -> list[int]:
    """The numbers in the key of the message's cause `prefix:n:m…` (empty if it has none)."""
    keys = session.exec(select(MessageCause.key).where(MessageCause.message_id == message.id))
    for key in keys:
        head, _sep, rest = key.partition(":")
        if head == prefix and all(part.isdecimal() for part in rest.split(":")):
            return [int(part) for part in rest.split(":")]
    return []


def _team_invite(
    session: Session, message: Message, links: Links, event: Event | None
) -> dict[str, Any]:
    named = _named_by_cause(session, message, INVITE_CAUSE)
    invite = session.get(TeamInvite, named[0]) if len(named) == 2 else None
    if invite is None or event is None or invite.state(utcnow(), named[1]) != LinkState.open:
        raise NothingToSend("The invitation was accepted, cancelled, renewed or ran out.")
    inviter = session.get(Organiser, invite.invited_by_id) if invite.invited_by_id else None
    return {
        "name": invite.name,
        "inviter": inviter.name if inviter else "",
        "role": invite.role,
        "link": links.team_invite(invite),
        "until": i18n.when(invite.expires_at, event.zone, "date"),
    }


def _password_reset(session: Session, message: Message, links: Links) -> dict[str, Any]:
    named = _named_by_cause(session, message, RESET_CAUSE)
    reset = session.get(PasswordReset, named[0]) if len(named) == 1 else None
    account = session.get(Organiser, reset.organiser_id) if reset else None
    if reset is None or account is None:
        raise NothingToSend("The account is gone.")
    mark = password_mark(account.password_hash)
    if reset.state(utcnow(), reset.password_mark, mark) != LinkState.open:
        raise NothingToSend("The link was used, ran out, or the password changed since.")
    return {"name": account.name, "link": links.password_reset(reset)}
