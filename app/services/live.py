"""What the room sees together: announcements, the projector's view and the pitch queue."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import Announcement, Event, Participant, Pitch, ProjectorView, Topic
from app.models.base import utcnow
from app.models.live import AnnouncementCreate
from app.services import policy
from app.services.agenda import agenda_changed
from app.services.errors import NotFound, Refused

PITCH_SECONDS = (30, 300)  # the shortest and longest pitch a facilitator can set


def announce(session: Session, event: Event, data: AnnouncementCreate) -> Announcement:
    """Tell everyone: the message appears on every phone and on the projector."""
    assert event.id is not None
    announcement = Announcement(event_id=event.id, text=data.text)
    session.add(announcement)
    session.flush()
    agenda_changed(session, event.id)
    return announcement


def withdraw(session: Session, event: Event, announcement_id: int) -> None:
    """Take an announcement off every screen."""
    announcement = session.get(Announcement, announcement_id)
    if announcement is None or announcement.event_id != event.id:
        raise NotFound(_("There is no such announcement."))
    announcement.withdrawn = True
    session.add(announcement)
    agenda_changed(session, event.id)


# Built once: every participant page shows them (see app.services.signups).
_STANDING = (
    select(Announcement)
    .where(Announcement.event_id == bindparam("event_id"), col(Announcement.withdrawn).is_(False))
    .order_by(col(Announcement.id).desc())
    .limit(bindparam("limit"))
)


def announcements(session: Session, event: Event, limit: int = 3) -> list[Announcement]:
    """The newest announcements still standing, newest first."""
    return list(session.exec(_STANDING, params={"event_id": event.id, "limit": limit}))


def show_on_projector(session: Session, event: Event, view: str) -> None:
    """Switch what the projector shows."""
    if view not in ProjectorView.__members__:
        raise Refused(_("The projector cannot show that."))
    event.projector_view = view
    session.add(event)
    agenda_changed(session, event.id)


@dataclass
class PitchLine:
    """One place in the pitch queue, with what the room needs to see."""

    pitch: Pitch
    topic: Topic
    convener: Participant

    def ends_at(self, seconds: int) -> datetime | None:
        """When the running pitch's time is up (None while paused or not started)."""
        if self.pitch.started_at is None or self.pitch.paused_left is not None:
            return None
        return self.pitch.started_at + timedelta(seconds=seconds)


@dataclass
class PitchQueue:
    now: PitchLine | None
    waiting: list[PitchLine]


def pitch_queue(session: Session, event: Event) -> PitchQueue:
    """Who is pitching now, and who is waiting to, in order."""
    rows = session.exec(
        select(Pitch, Topic, Participant)
        .join(Topic, col(Topic.id) == Pitch.topic_id)
        .join(Participant, col(Participant.id) == Topic.convener_id)
        .where(Pitch.event_id == event.id, col(Pitch.done_at).is_(None))
        .where(col(Topic.hidden).is_(False))
        .order_by(col(Pitch.id))
    ).all()
    lines = [PitchLine(pitch, topic, convener) for pitch, topic, convener in rows]
    now = next((line for line in lines if line.pitch.started_at is not None), None)
    return PitchQueue(now, [line for line in lines if line is not now])


def queue_pitch(session: Session, event: Event, topic: Topic, participant: Participant) -> None:
    """A convener queues to pitch their topic to the room; a second tap changes nothing."""
    if not event.marketplace_open:
        raise Refused(_("The pitch queue opens when proposing topics starts."))
    if not policy.may_pitch(session, policy.participant(participant), topic):
        raise Refused(_("Only the topic's conveners can pitch it."))
    assert event.id is not None and topic.id is not None
    existing = session.exec(select(Pitch).where(Pitch.topic_id == topic.id)).first()
    if existing is not None:
        if existing.done_at is None:
            return
        raise Refused(_("This topic has been pitched already."))
    session.add(Pitch(event_id=event.id, topic_id=topic.id))
    session.flush()
    agenda_changed(session, event.id)


def leave_pitch_queue(
    session: Session, event: Event, topic: Topic, participant: Participant
) -> None:
    """A convener gives up her place in the pitch queue (she can queue again while the
    marketplace is open); a second tap changes nothing."""
    if not policy.may_pitch(session, policy.participant(participant), topic):
        raise Refused(_("Only the topic's conveners can pitch it."))
    waiting = session.exec(
        select(Pitch).where(Pitch.topic_id == topic.id, col(Pitch.done_at).is_(None))
    ).first()
    if waiting is None:
        return
    if waiting.started_at is not None:
        raise Refused(_("You are pitching now: the facilitator ends your turn."))
    session.delete(waiting)
    session.flush()
    agenda_changed(session, event.id)


def pitch_place(session: Session, event: Event, topic: Topic) -> int | None:
    """0 while the topic is being pitched, 1 when it is next, None when not in the queue."""
    queue = pitch_queue(session, event)
    if queue.now is not None and queue.now.topic.id == topic.id:
        return 0
    for place, line in enumerate(queue.waiting, start=1):
        if line.topic.id == topic.id:
            return place
    return None


def next_pitch(session: Session, event: Event) -> None:
    """The running pitch ends and the next in line starts, with the clock running."""
    queue = pitch_queue(session, event)
    now = utcnow()
    if queue.now is not None:
        queue.now.pitch.done_at = now
        session.add(queue.now.pitch)
    if queue.waiting:
        following = queue.waiting[0].pitch
        following.started_at, following.paused_left = now, None
        session.add(following)
    session.flush()
    agenda_changed(session, event.id)


def pause_pitch(session: Session, event: Event) -> None:
    """Stop the clock of the running pitch, or start it again where it stopped."""
    line = pitch_queue(session, event).now
    if line is None:
        raise Refused(_("Nobody is pitching."))
    pitch, now = line.pitch, utcnow()
    assert pitch.started_at is not None
    if pitch.paused_left is None:
        left = event.pitch_seconds - (now - pitch.started_at).total_seconds()
        pitch.paused_left = max(0, round(left))
    else:  # resume: started as long ago as had been used
        pitch.started_at = now - timedelta(seconds=event.pitch_seconds - pitch.paused_left)
        pitch.paused_left = None
    session.add(pitch)
    agenda_changed(session, event.id)


def set_pitch_length(session: Session, event: Event, seconds: int) -> None:
    low, high = PITCH_SECONDS
    if not low <= seconds <= high:
        raise Refused(
            _(
                "A pitch lasts between %(low)s seconds and %(high)s minutes.",
                low=low,
                high=high // 60,
            )
        )
    event.pitch_seconds = seconds
    session.add(event)
    agenda_changed(session, event.id)


def drop_pitch(session: Session, event: Event, pitch_id: int) -> None:
    """Take someone out of the queue (they left, or pitched already)."""
    pitch = session.get(Pitch, pitch_id)
    if pitch is None or pitch.event_id != event.id:
        raise NotFound(_("There is no such place in the queue."))
    session.delete(pitch)
    agenda_changed(session, event.id)
