"""A day going on now, as a participant's phone sees it in the busiest case: a session now, a
waitlist next, a seat that came free for them, an announcement."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.models import Event, Participant, SlotKind, Space, Topic
from app.models.agenda import TopicCreate
from app.models.event import SlotCreate
from app.models.live import AnnouncementCreate
from app.services import events as event_service
from app.services import live as live_service
from app.services import marketplace, signups, wall
from tests.factories import Factory

ANNOUNCEMENT = (
    "Lunch is served in the atrium from 12:30; please bring your plate back to the kitchen "
    "hatch afterwards"
)


def midday_zone() -> str:
    """A time zone where it is late morning now, so that slots two hours either side of now
    fall on one day at the venue, whenever the tests run."""
    now = datetime.now(UTC)
    for offset in range(-12, 15):
        name = f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "Etc/GMT"
        if 10 <= now.astimezone(ZoneInfo(name)).hour < 12:
            return name
    raise AssertionError("some zone has late morning now")


def at(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


@dataclass
class PhoneDay:
    event: Event
    amira: Participant
    hall: Space
    now_topic: Topic  # Amira's seat now (it came free for her from its waitlist)
    next_topic: Topic  # Amira waits for a seat in it, next
    slots: list[int]  # the opening plenary, the round now, the round next


def _slot(session: Session, event: Event, start: int, end: int, kind: SlotKind, title: str) -> int:
    slot = event_service.add_slot(
        session, event, SlotCreate(starts_at=at(start), ends_at=at(end), kind=kind, title=title)
    )
    assert slot.id is not None
    return slot.id


def _topic(
    session: Session, event: Event, who: Participant, title: str, slot: int, room: Space
) -> Topic:
    topic = marketplace.propose_topic(
        session, event, who, TopicCreate(title=title), at_the_desk=True
    )
    assert who.id is not None
    signups.convener_elsewhere(session, topic, who.id, True)
    wall.move_by_facilitator(session, event, topic, slot, room.id)
    return topic


def phone_day(
    make: Factory, *, name: str = "Reducing inequalities together", **fields: object
) -> PhoneDay:
    """The busy case: Amira sits in a session now that came free for her (a seat notice),
    waits for a seat in the next round's, and an announcement stands."""
    zone = str(fields.pop("timezone", None) or midday_zone())
    event = make.event(
        name=name, timezone=zone, starts_on=datetime.now(ZoneInfo(zone)).date(), **fields
    )
    hall = make.space(event, "Main hall", 120)
    corner = make.space(event, "Café corner", 1)
    garden = make.space(event, "Garden", 1)
    amira = make.participant(event, "Amira Hussain")
    ben = make.participant(event, "Ben Okafor")
    chen = make.participant(event, "Chen Wei")
    with make.database.write() as session:
        event_service.set_plenary_space(session, event, hall.id)
        opening = _slot(session, event, -150, -90, SlotKind.plenary, "Opening circle")
        now = _slot(session, event, -30, 30, SlotKind.breakout, "Round 1")
        following = _slot(session, event, 45, 105, SlotKind.breakout, "Round 2")
        now_topic = _topic(session, event, chen, "Warm spaces this winter", now, corner)
        next_topic = _topic(session, event, ben, "Digital exclusion", following, garden)
        signups.sign_up(session, event, now_topic, ben)
        signups.join_waitlist(session, event, now_topic, amira)
        signups.leave(session, event, now_topic, ben)  # the seat comes free for Amira
        signups.sign_up(session, event, next_topic, chen)
        signups.join_waitlist(session, event, next_topic, amira)
        live_service.announce(session, event, AnnouncementCreate(text=ANNOUNCEMENT))
    return PhoneDay(event, amira, hall, now_topic, next_topic, [opening, now, following])
