"""Personal pledges: the one thing a participant will do differently, with a reminder."""

import calendar
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app.i18n import _
from app.models import Event, Participant, Pledge
from app.models.base import utcnow
from app.models.mail import Message, MessageCause, MessageState, Purpose
from app.models.outcomes import PledgeAnswerForm, PledgeForm
from app.services import mail_causes, outbox
from app.services.errors import Refused

REMIND_AFTER_MONTHS = 6


def months_after(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_reminder(event: Event) -> date:
    return months_after(event.starts_on, REMIND_AFTER_MONTHS)


def wants_postcard(session: Session, participant: Participant) -> bool:
    """Whether the participant asked for their pledge by e-mail."""
    return outbox.has_consent(session, participant.id, Purpose.pledge)


def pledge_of(session: Session, event: Event, participant: Participant) -> Pledge | None:
    return session.exec(
        select(Pledge).where(Pledge.event_id == event.id, Pledge.participant_id == participant.id)
    ).first()


def save_pledge(
    session: Session, event: Event, participant: Participant, data: PledgeForm
) -> Pledge:
    """Write (or rewrite) the participant's pledge."""
    remind_on = data.remind_on or default_reminder(event)
    if remind_on <= event.starts_on:
        raise Refused(_("Choose a reminder date after the event."), field="remind_on")
    if data.email:
        participant.email = data.email
        session.add(participant)
    if data.may_contact and not participant.email:
        raise Refused(
            _("Give an e-mail address so the organisers can reach you, or untick the box."),
            field="email",
        )
    if data.postcard and not participant.email:
        raise Refused(
            _("Give an e-mail address for your pledge to reach you, or untick the box."),
            field="email",
        )
    assert event.id is not None and participant.id is not None
    pledge = pledge_of(session, event, participant) or Pledge(
        event_id=event.id, participant_id=participant.id, text="", remind_on=remind_on
    )
    pledge.text, pledge.may_contact, pledge.remind_on = data.text, data.may_contact, remind_on
    pledge.updated_at = utcnow()
    session.add(pledge)
    session.flush()
    outbox.set_consent(session, participant.id, Purpose.pledge, data.postcard)
    mail_causes.pledge_saved(session, event, participant, pledge)
    return pledge


def pledge_from_link(session: Session, values: list[int] | None) -> Pledge | None:
    """The pledge a postcard's signed answer link names, if it is still kept."""
    if not values or len(values) != 1:
        return None
    return session.get(Pledge, values[0])


def answer_pledge(session: Session, pledge: Pledge, data: PledgeAnswerForm) -> None:
    """Keep the author's "how did it go?" with their pledge (a new answer replaces it)."""
    pledge.answer, pledge.answered_at = data.answer, utcnow()
    session.add(pledge)


@dataclass(frozen=True)
class Postcard:
    """A pledge's postcard printed on paper: for an author with no address, or whose
    e-mailed postcard could not be delivered."""

    pledge: Pledge
    name: str


def postcards_to_print(session: Session, event: Event, until: date) -> list[Postcard]:
    """The pledges due by `until` whose postcard does not go (or did not get) there by mail."""
    rows = session.exec(
        select(Pledge, Participant)
        .join(Participant, col(Participant.id) == Pledge.participant_id)
        .where(Pledge.event_id == event.id, col(Pledge.remind_on) <= until)
        .order_by(col(Pledge.remind_on), col(Pledge.id))
    ).all()
    by_mail = set(
        session.exec(
            select(MessageCause.pledge_id)
            .join(Message, col(Message.id) == MessageCause.message_id)
            .where(
                col(MessageCause.pledge_id).in_([pledge.id for pledge, _who in rows]),
                col(Message.state).in_(
                    [MessageState.waiting, MessageState.sending, MessageState.sent]
                ),
            )
        ).all()
    )
    return [Postcard(pledge, who.display_name) for pledge, who in rows if pledge.id not in by_mail]


def postcard_messages(session: Session, event: Event) -> dict[int, Message]:
    """Each pledge's latest postcard e-mail that was not cancelled (none: it goes on paper)."""
    rows = session.exec(
        select(MessageCause.pledge_id, Message)
        .join(Message, col(Message.id) == MessageCause.message_id)
        .join(Pledge, col(Pledge.id) == MessageCause.pledge_id)
        .where(Pledge.event_id == event.id, Message.state != MessageState.cancelled)
        .order_by(col(Message.id))
    ).all()
    return {pledge_id: message for pledge_id, message in rows if pledge_id is not None}


@dataclass
class PledgeLine:
    pledge: Pledge
    name: str
    organisation: str
    email: str  # empty unless the person agreed to be contacted


def pledges(session: Session, event: Event) -> list[PledgeLine]:
    """The event's pledges for the organiser; contact details only where consent was given."""
    rows = session.exec(
        select(Pledge, Participant)
        .join(Participant, col(Participant.id) == Pledge.participant_id)
        .where(Pledge.event_id == event.id)
        .order_by(col(Pledge.id))
    ).all()
    return [
        PledgeLine(p, who.display_name, who.organisation, who.email if p.may_contact else "")
        for p, who in rows
    ]
