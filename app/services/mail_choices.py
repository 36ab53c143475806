"""What a person gets by e-mail, seen and stopped through their own signed link.

Stopping is honoured at once, also for messages already waiting. Starting again is done where
the address was given (the pledge, joining): a tick there, never a link in a message.
"""

from dataclasses import dataclass

from sqlmodel import Session

from app.i18n import _
from app.models import Event, Participant
from app.models.mail import Message, Purpose
from app.services import outbox, proceedings
from app.services.errors import NotFound


@dataclass(frozen=True)
class Choices:
    """A person's address, what they get, and what is on its way to them."""

    participant: Participant
    event: Event
    purposes: dict[Purpose, bool]
    waiting: list[Message]


def person(session: Session, participant_id: int | None) -> Participant:
    """The person a mail link names; a link for someone no longer kept is not found."""
    found = session.get(Participant, participant_id) if participant_id else None
    if found is None:
        raise NotFound(_("This link no longer works: what it was for is no longer kept."))
    return found


def choices(session: Session, participant: Participant) -> Choices:
    assert participant.id is not None
    ticked = outbox.consents(session, participant.id) if participant.email else set()
    return Choices(
        participant=participant,
        event=session.get_one(Event, participant.event_id),
        purposes={purpose: purpose in ticked for purpose in Purpose},
        waiting=outbox.waiting_for(session, participant.id),
    )


def book_of(session: Session, participant: Participant) -> proceedings.Book:
    """The book of the person's event, once it was sent to those who asked (without names:
    a link in a message travels)."""
    event = session.get_one(Event, participant.event_id)
    if event.book_sent_at is None:
        raise NotFound(_("The book of this event has not been sent yet."))
    try:
        return proceedings.book(session, event, personal=False)
    except proceedings.NoReportYet:
        raise NotFound(_("The book of this event has no report in it.")) from None


def stop(session: Session, participant: Participant, purpose: Purpose) -> None:
    """No more mail for this purpose; what waits for it is cancelled."""
    assert participant.id is not None
    outbox.set_consent(session, participant.id, purpose, False)


def remove_address(session: Session, participant: Participant) -> None:
    """Forget the address: no purpose is left, and nothing waiting goes."""
    for purpose in Purpose:
        stop(session, participant, purpose)
    participant.email, participant.share_email = "", False
    session.add(participant)
