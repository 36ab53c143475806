"""Participants: joining an event without an account, and coming back on another device."""

from sqlmodel import Session

from app.models import Event, Participant
from app.models.people import ParticipantJoin


def join_event(session: Session, event: Event, data: ParticipantJoin) -> Participant:
    """A new participant in the event."""
    assert event.id is not None
    participant = Participant.model_validate(data, update={"event_id": event.id})
    session.add(participant)
    session.flush()
    return participant


def participant_in(
    session: Session, event: Event, participant_id: int, link_version: int
) -> Participant | None:
    """The participant, if they belong to the event and the link they hold is current."""
    participant = session.get(Participant, participant_id)
    if participant is None or participant.event_id != event.id:
        return None
    return participant if participant.link_version == link_version else None


def revoke_device_links(session: Session, participant: Participant) -> None:
    """Sign the participant out everywhere else and void old "continue" links."""
    participant.link_version += 1
    session.add(participant)
