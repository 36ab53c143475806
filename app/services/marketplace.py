"""The marketplace: topics proposed by participants."""

from sqlmodel import Session, col, select

from app.models import Event, Participant, Topic
from app.models.agenda import TopicCreate


def propose_topic(
    session: Session, event: Event, convener: Participant, data: TopicCreate
) -> Topic:
    """A new topic with the participant as its convener."""
    assert event.id is not None and convener.id is not None
    topic = Topic.model_validate(data, update={"event_id": event.id, "convener_id": convener.id})
    session.add(topic)
    session.flush()
    return topic


def topics(session: Session, event: Event) -> list[tuple[Topic, Participant]]:
    """The event's topics with their conveners, in the order they were proposed."""
    rows = session.exec(
        select(Topic, Participant)
        .join(Participant, col(Participant.id) == Topic.convener_id)
        .where(Topic.event_id == event.id)
        .order_by(col(Topic.id))
    )
    return list(rows)
