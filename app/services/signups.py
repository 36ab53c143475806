"""Sign-ups: one seat per person per slot, never more people than the room takes, waitlists.

Every change to the seats of a slot first locks that slot's row (PostgreSQL: SELECT … FOR
UPDATE; SQLite: the write lock every write transaction takes up front), so counting the seats
and taking one is atomic, and switching sessions in one slot cannot deadlock with another.

The queries of sign-ups and of the pages that show seats run on every tap and every page of
the busiest half hour, so each is built once, here, with its values as parameters: building
a statement costs more than running it on SQLite (marks_of: 1.1 ms built each time, 0.15 ms
built once). They name the tables, not the models, so they do not flush the session's pending
changes first: the functions a facilitator's change calls (moving, merging) flush them.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.i18n import _, lazy
from app.models import (
    CoConvener,
    ConvenerElsewhere,
    Event,
    Participant,
    SeatChange,
    SeatNotice,
    SignUp,
    Slot,
    SlotKind,
    Space,
    Topic,
    WaitlistEntry,
)
from app.models.base import utcnow
from app.services import day_mail
from app.services.agenda import agenda_changed
from app.services.errors import NotFound, Refused

MOVED = lazy("This session has just been moved. Look at the wall again and choose.")
NO_SUCH_TOPIC = lazy("There is no such topic: it may have been merged or removed.")
NO_SUCH_SLOT = lazy("There is no such time slot: it may have been removed.")


class Placed(Protocol):
    """What a seat change reads of its session: a Topic, or its TopicPlace."""

    @property
    def id(self) -> int | None: ...
    @property
    def event_id(self) -> int: ...
    @property
    def slot_id(self) -> int | None: ...
    @property
    def space_id(self) -> int | None: ...
    @property
    def hidden(self) -> bool: ...


@dataclass(frozen=True)
class TopicPlace:
    """A topic's place on the wall as plain values, read without building a Topic: a tap
    on a session needs no more (building the object cost a tenth of a sign-up)."""

    id: int
    event_id: int
    slot_id: int | None
    space_id: int | None
    hidden: bool


class SessionFull(Refused):
    """Every seat is taken; the participant may join the waitlist instead."""

    def __init__(self, topic: Placed) -> None:
        super().__init__(_("This session is full. You can join its waitlist."))
        self.topic = topic


@dataclass
class Seat:
    slot: Slot
    space: Space
    topic: Topic


# They name the tables, not the models: the rows come back as plain values and writes go
# straight to the database, without the ORM's objects and unit of work (a selection through
# the models cost twice as much here, and adding a seat as an object four times as much).
# No code keeps SignUp or WaitlistEntry objects around a seat change, so none goes stale.
_SIGN_UPS = SignUp.__table__  # type: ignore[attr-defined]
_WAITLIST = WaitlistEntry.__table__  # type: ignore[attr-defined]
_SLOTS = Slot.__table__  # type: ignore[attr-defined]
_SPACES = Space.__table__  # type: ignore[attr-defined]
_TOPICS = Topic.__table__  # type: ignore[attr-defined]
_CO = CoConvener.__table__  # type: ignore[attr-defined]
_ELSEWHERE = ConvenerElsewhere.__table__  # type: ignore[attr-defined]
_NOTICES = SeatNotice.__table__  # type: ignore[attr-defined]
_SEAT_CHANGES = SeatChange.__table__  # type: ignore[attr-defined]

_TOPIC_PLACE = sa_select(
    _TOPICS.c.id, _TOPICS.c.event_id, _TOPICS.c.slot_id, _TOPICS.c.space_id, _TOPICS.c.hidden
).where(_TOPICS.c.id == bindparam("topic_id"))
_LOCK_SLOT = sa_select(_SLOTS.c.id).where(_SLOTS.c.id == bindparam("slot_id")).with_for_update()
# The slot's row is locked; what a sign-up needs to know of it and the space comes along.
_LOCK_SESSION = (
    sa_select(_SLOTS.c.ends_at, _SPACES.c.capacity)
    .join(_SPACES, _SPACES.c.event_id == _SLOTS.c.event_id)
    .where(_SLOTS.c.id == bindparam("slot_id"), _SPACES.c.id == bindparam("space_id"))
    .with_for_update(of=_SLOTS)
)
_SEATS_TAKEN = (
    sa_select(func.count())
    .select_from(_SIGN_UPS)
    .where(_SIGN_UPS.c.topic_id == bindparam("topic_id"))
)
# Where a person stands towards one session, once its slot is locked, in one round trip:
# its seats taken, the person's seat in the slot (its id and session), whether they wait
# for it, and whether it is still in that slot.
_IN_SLOT = (
    _SIGN_UPS.c.participant_id == bindparam("participant_id"),
    _SIGN_UPS.c.slot_id == bindparam("slot_id"),
)
_IN_LINE = (
    _WAITLIST.c.topic_id == bindparam("topic_id"),
    _WAITLIST.c.participant_id == bindparam("participant_id"),
)
_MY_SEAT = sa_select(_SIGN_UPS.c.id, _SIGN_UPS.c.topic_id).where(*_IN_SLOT)
_STANDING = sa_select(
    _SEATS_TAKEN.scalar_subquery(),
    sa_select(_SIGN_UPS.c.id).where(*_IN_SLOT).scalar_subquery(),
    sa_select(_SIGN_UPS.c.topic_id).where(*_IN_SLOT).scalar_subquery(),
    sa_select(_WAITLIST.c.id).where(*_IN_LINE).exists(),
    # The topic's slot now: it was read before the slot was locked, and may have moved.
    sa_select(_TOPICS.c.slot_id).where(_TOPICS.c.id == bindparam("topic_id")).scalar_subquery(),
)
_SEAT = insert(_SIGN_UPS)
_SEAT_CHANGED = insert(_SEAT_CHANGES)
_GIVE_UP_SEAT = delete(_SIGN_UPS).where(_SIGN_UPS.c.id == bindparam("seat_id"))
_QUEUE = insert(_WAITLIST)
_WAITING_ID = sa_select(_WAITLIST.c.id).where(*_IN_LINE)
_DEQUEUE = delete(_WAITLIST).where(*_IN_LINE)
_WAITING = sa_select(_WAITLIST.c.participant_id).where(
    _WAITLIST.c.topic_id == bindparam("topic_id")
)
_WAITING_COUNT = (
    sa_select(func.count())
    .select_from(_WAITLIST)
    .where(_WAITLIST.c.topic_id == bindparam("topic_id"))
)
_FIRST_WAITING = (
    sa_select(_WAITLIST.c.participant_id)
    .where(_WAITLIST.c.topic_id == bindparam("topic_id"))
    .order_by(_WAITLIST.c.id)
    .limit(1)
)
_PLACE = (
    sa_select(func.count())
    .select_from(_WAITLIST)
    .where(_WAITLIST.c.topic_id == bindparam("topic_id"), _WAITLIST.c.id <= bindparam("id"))
)


def topic_place(session: Session, event: Event, topic_id: int) -> TopicPlace:
    """Where one of the event's topics is on the wall."""
    place = _place(session, topic_id)
    if place is None or place.event_id != event.id:
        raise NotFound(str(NO_SUCH_TOPIC))
    return place


def _place(session: Session, topic_id: int) -> TopicPlace | None:
    row = session.execute(_TOPIC_PLACE, params={"topic_id": topic_id}).first()
    return None if row is None else TopicPlace(*row)


def _lock_slot(session: Session, slot_id: int) -> None:
    if session.execute(_LOCK_SLOT, params={"slot_id": slot_id}).first() is None:
        raise NotFound(str(NO_SUCH_SLOT))


def lock_slots(session: Session, slot_ids: Iterable[int | None]) -> None:
    """Lock the rows of these slots, always in the same order, before changing which topic
    is where in them or who sits in them. A seat's row checks its topic's row, so a change
    that locked a topic's row before its slot could deadlock with a sign-up in that slot
    (PostgreSQL found one: a facilitator swapping two sessions of one slot while people
    signed up to them)."""
    for slot_id in sorted({slot_id for slot_id in slot_ids if slot_id}):
        _lock_slot(session, slot_id)


def _open_session(
    session: Session, event: Event, topic: Placed, now: datetime | None = None
) -> tuple[int, int]:
    """The slot of a topic people can sign up to now and its room's capacity, or the reason
    they cannot."""
    if event.closed_at is not None:
        raise Refused(_("The event is closed: sign-ups have ended."))
    if topic.hidden or topic.event_id != event.id:
        raise Refused(_("This topic has been taken off the wall."))
    if topic.slot_id is None or topic.space_id is None:
        raise Refused(_("This topic has no time and room yet, so nobody can sign up to it."))
    params = {"slot_id": topic.slot_id, "space_id": topic.space_id}
    ends_at, capacity = session.execute(_LOCK_SESSION, params=params).one()
    if ends_at <= (now or utcnow()):
        raise Refused(_("This session has already ended."))
    return topic.slot_id, capacity


def seats_taken(session: Session, topic_id: int) -> int:
    return int(session.execute(_SEATS_TAKEN, params={"topic_id": topic_id}).scalar_one())


def waiting_for(session: Session, topic_id: int) -> int:
    """How many people are on the topic's waitlist."""
    return int(session.execute(_WAITING_COUNT, params={"topic_id": topic_id}).scalar_one())


@dataclass
class _Standing:
    """Where a person stands towards one session, read once its slot is locked."""

    taken: int  # the session's seats taken
    seat: tuple[int, int] | None  # the person's seat in the slot: its id, and its session
    waiting: bool  # in the session's waitlist


def _standing(session: Session, topic_id: int, slot_id: int, participant_id: int) -> _Standing:
    params = {"topic_id": topic_id, "slot_id": slot_id, "participant_id": participant_id}
    taken, seat_id, seat_topic, waiting, now_in = session.execute(_STANDING, params=params).one()
    if now_in != slot_id:
        raise Refused(str(MOVED))
    seat = (seat_id, seat_topic) if seat_id is not None else None
    return _Standing(taken, seat, bool(waiting))


def _seat_in_slot(session: Session, participant_id: int, slot_id: int) -> tuple[int, int] | None:
    """The person's seat in the slot: its id, and its session."""
    params = {"participant_id": participant_id, "slot_id": slot_id}
    seat = session.execute(_MY_SEAT, params=params).first()
    return None if seat is None else (seat[0], seat[1])


def _waiting_id(session: Session, topic_id: int, participant_id: int) -> int | None:
    """The person's entry in the session's waitlist, if they wait for it."""
    params = {"topic_id": topic_id, "participant_id": participant_id}
    return session.execute(_WAITING_ID, params=params).scalar()


def _queue(session: Session, topic_id: int, participant_id: int) -> None:
    params = {"topic_id": topic_id, "participant_id": participant_id, "created_at": utcnow()}
    session.execute(_QUEUE, params=params)


def _seat(
    session: Session, topic_id: int, slot_id: int, participant_id: int, promoted: bool = False
) -> None:
    params = {"topic_id": topic_id, "slot_id": slot_id, "participant_id": participant_id}
    session.execute(_SEAT, params={**params, "created_at": utcnow(), "promoted": promoted})


def _seat_changed(
    session: Session,
    event_id: int,
    slot_id: int,
    participant_id: int,
    left: int | None,
    taken: int | None,
    promoted: bool = False,
) -> None:
    """Keep what the person did (or the waitlist did for them), for "how the day went"."""
    params = {
        "event_id": event_id,
        "slot_id": slot_id,
        "participant_id": participant_id,
        "from_topic_id": left,
        "to_topic_id": taken,
        "promoted": promoted,
        "at": utcnow(),
    }
    session.execute(_SEAT_CHANGED, params=params)


def _take_seat(
    session: Session,
    topic: Placed,
    slot_id: int,
    participant_id: int,
    old: tuple[int, int] | None,
    waiting: bool,
    promoted: bool = False,
) -> int | None:
    """Seat the person, moving them out of `old`, their seat in the slot if they have one
    (its id and session), and out of the session's waitlist if they are `waiting` in it.
    A seat `promoted` from the waitlist is news to its holder until they say they saw it.

    Returns the topic whose seat they left, which then has a seat to give to its waitlist.
    """
    assert topic.id is not None
    left = None
    if old is not None:
        seat_id, left = old
        session.execute(_GIVE_UP_SEAT, params={"seat_id": seat_id})
        _gone_elsewhere(session, left, participant_id)
    _seat(session, topic.id, slot_id, participant_id, promoted)
    _seat_changed(session, topic.event_id, slot_id, participant_id, left, topic.id, promoted)
    session.execute(_BACK_HERE, params={"topic_id": topic.id, "participant_id": participant_id})
    if waiting:
        session.execute(_DEQUEUE, params={"topic_id": topic.id, "participant_id": participant_id})
        _queue_moved(session, topic)
    agenda_changed(session, topic.event_id, [participant_id])
    return left


# A convener who takes a seat in her session is there again; one who leaves it for another
# at the same time (or just leaves) will be elsewhere, and a move does not seat her again.
_BACK_HERE = delete(_ELSEWHERE).where(
    _ELSEWHERE.c.topic_id == bindparam("topic_id"),
    _ELSEWHERE.c.participant_id == bindparam("participant_id"),
)
_CONVENES = sa_select(
    sa_select(_TOPICS.c.id)
    .where(
        _TOPICS.c.id == bindparam("topic_id"),
        _TOPICS.c.convener_id == bindparam("participant_id"),
    )
    .exists()
    | sa_select(_CO.c.id)
    .where(
        _CO.c.topic_id == bindparam("topic_id"), _CO.c.participant_id == bindparam("participant_id")
    )
    .exists()
)
_CONVENERS = sa_select(_TOPICS.c.convener_id).where(_TOPICS.c.id == bindparam("topic_id"))
_CO_CONVENERS = (
    sa_select(_CO.c.participant_id)
    .where(_CO.c.topic_id == bindparam("topic_id"))
    .order_by(_CO.c.id)
)
_AWAY = sa_select(_ELSEWHERE.c.participant_id).where(_ELSEWHERE.c.topic_id == bindparam("topic_id"))


def _gone_elsewhere(session: Session, topic_id: int, participant_id: int) -> None:
    """The person left this session by their own choice: if they convene it, they said
    they will be elsewhere at its time."""
    params = {"topic_id": topic_id, "participant_id": participant_id}
    if session.execute(_CONVENES, params=params).scalar():
        session.execute(_BACK_HERE, params=params)
        session.execute(insert(_ELSEWHERE), params=params)


def conveners_in_order(session: Session, topic_id: int) -> list[int]:
    """The topic's conveners, the one who proposed it first."""
    params = {"topic_id": topic_id}
    first = session.execute(_CONVENERS, params=params).scalar()
    rest = session.execute(_CO_CONVENERS, params=params).scalars().all()
    return [p for p in [first, *rest] if p is not None]


def has_place(session: Session, topic: Topic, participant_id: int) -> bool:
    """The person has a seat in the session or waits for one."""
    assert topic.id is not None
    seated = session.exec(
        select(SignUp.id).where(
            SignUp.topic_id == topic.id, SignUp.participant_id == participant_id
        )
    ).first()
    return seated is not None or _waiting_id(session, topic.id, participant_id) is not None


def convener_elsewhere(
    session: Session, topic: Topic, participant_id: int, elsewhere: bool
) -> None:
    """A convener says she will be elsewhere at her session's time (or that she will be
    there after all): the seat kept for her is not kept."""
    params = {"topic_id": topic.id, "participant_id": participant_id}
    session.execute(_BACK_HERE, params=params)
    if elsewhere:
        session.execute(insert(_ELSEWHERE), params=params)


def seat_conveners(session: Session, topic: Topic) -> None:
    """A placed session's conveners each hold a seat in it, counted like any other, unless
    she said she will be elsewhere. A seat she already has in another session at that time
    stays hers (she chose it; the facilitator's wall warns of it); in a full room she is
    first on its waitlist, and has the next seat that comes free."""
    if topic.id is None or topic.slot_id is None or topic.space_id is None or topic.hidden:
        return
    session.flush()
    away = set(session.execute(_AWAY, params={"topic_id": topic.id}).scalars())
    space = session.get(Space, topic.space_id)
    assert space is not None
    for participant_id in conveners_in_order(session, topic.id):
        if participant_id in away or _seat_in_slot(session, participant_id, topic.slot_id):
            continue
        waiting = _waiting_id(session, topic.id, participant_id) is not None
        if seats_taken(session, topic.id) < space.capacity:
            _take_seat(session, topic, topic.slot_id, participant_id, None, waiting)
        elif not waiting:
            _queue_first(session, topic.id, [participant_id])
            agenda_changed(session, topic.event_id, [participant_id])


def _queue_moved(session: Session, topic: Placed) -> None:
    """Everyone left in the topic's waitlist has a new place in line: their pages update."""
    waiting = session.execute(_WAITING, params={"topic_id": topic.id}).scalars().all()
    agenda_changed(session, topic.event_id, waiting)


def _promote(session: Session, topic_id: int | None) -> list[int]:
    """Give freed seats to the waitlists, in order, following every seat that frees on the way."""
    promoted: list[int] = []
    queue = [topic_id] if topic_id is not None else []
    while queue:
        topic = _place(session, queue.pop(0))
        if topic is None or topic.space_id is None or topic.slot_id is None or topic.hidden:
            continue
        while True:
            first = session.execute(_FIRST_WAITING, params={"topic_id": topic.id}).scalar()
            if first is None:
                break
            space = session.get(Space, topic.space_id)
            assert space is not None
            if seats_taken(session, topic.id or 0) >= space.capacity:
                break
            old = _seat_in_slot(session, first, topic.slot_id)
            day_mail.note(session, topic.id, [first])  # they wait: a seat is news
            left = _take_seat(session, topic, topic.slot_id, first, old, True, promoted=True)
            promoted.append(first)
            if left is not None and left != topic.id:
                queue.append(left)
    return promoted


def sign_up(session: Session, event: Event, topic: Placed, participant: Participant) -> None:
    """Take a seat in the session; a seat elsewhere in the same slot is given up at once."""
    assert topic.id is not None and participant.id is not None
    slot_id, capacity = _open_session(session, event, topic)
    here = _standing(session, topic.id, slot_id, participant.id)
    if here.seat is not None and here.seat[1] == topic.id:
        return  # already there: a second tap changes nothing
    if here.taken >= capacity:
        raise SessionFull(topic)
    left = _take_seat(session, topic, slot_id, participant.id, here.seat, here.waiting)
    _promote(session, left)
    agenda_changed(session, event.id)


def leave(session: Session, event: Event, topic: Placed, participant: Participant) -> None:
    """Give up the seat; the first person waiting gets it."""
    assert topic.id is not None and participant.id is not None
    if topic.slot_id is None:
        return
    _lock_slot(session, topic.slot_id)
    seat = _seat_in_slot(session, participant.id, topic.slot_id)
    if seat is None or seat[1] != topic.id:
        return
    session.execute(_GIVE_UP_SEAT, params={"seat_id": seat[0]})
    _seat_changed(session, topic.event_id, topic.slot_id, participant.id, topic.id, None)
    _gone_elsewhere(session, topic.id, participant.id)
    _promote(session, topic.id)
    agenda_changed(session, event.id, [participant.id])


def join_waitlist(session: Session, event: Event, topic: Placed, participant: Participant) -> int:
    """Queue for a full session (or take a seat if one is free); returns the place in line."""
    assert topic.id is not None and participant.id is not None
    slot_id, capacity = _open_session(session, event, topic)
    here = _standing(session, topic.id, slot_id, participant.id)
    if here.seat is not None and here.seat[1] == topic.id:
        raise Refused(_("You already have a seat in this session."))
    if here.taken < capacity:
        left = _take_seat(session, topic, slot_id, participant.id, here.seat, here.waiting)
        _promote(session, left)
        agenda_changed(session, event.id)
        return 0
    if not here.waiting:
        _queue(session, topic.id, participant.id)
        # A convener who waits for a seat in her own session will be there after all.
        session.execute(_BACK_HERE, params={"topic_id": topic.id, "participant_id": participant.id})
        agenda_changed(session, event.id, [participant.id])
    return waitlist_place(session, topic.id, participant.id) or 0


def leave_waitlist(session: Session, event: Event, topic: Placed, participant: Participant) -> None:
    """Step out of the queue."""
    params = {"topic_id": topic.id, "participant_id": participant.id}
    if session.execute(_DEQUEUE, params=params).rowcount:  # type: ignore[attr-defined]
        _gone_elsewhere(session, topic.id or 0, participant.id or 0)
        _queue_moved(session, topic)
        agenda_changed(session, topic.event_id, [participant.id])


def waitlist_place(session: Session, topic_id: int, participant_id: int) -> int | None:
    """1 for the first in line; None if not waiting."""
    entry_id = _waiting_id(session, topic_id, participant_id)
    if entry_id is None:
        return None
    return int(session.execute(_PLACE, params={"topic_id": topic_id, "id": entry_id}).scalar_one())


def place_person(session: Session, event: Event, topic: Topic, participant: Participant) -> bool:
    """Bring someone into a session without double-booking them: a seat if there is one
    and they are free in that slot, otherwise a place on its waitlist (used by merges; a
    topic off the wall has only its waitlist, whose places become seats when it is placed).
    Returns whether they have a seat in it."""
    assert topic.id is not None and participant.id is not None
    session.flush()
    if topic.slot_id is None or topic.space_id is None:
        if _waiting_id(session, topic.id, participant.id) is None:
            _queue(session, topic.id, participant.id)
        return False
    _lock_slot(session, topic.slot_id)
    current = _seat_in_slot(session, participant.id, topic.slot_id)
    if current is not None and current[1] == topic.id:
        return True
    space = session.get(Space, topic.space_id)
    assert space is not None
    if current is None and seats_taken(session, topic.id) < space.capacity:
        waiting = _waiting_id(session, topic.id, participant.id) is not None
        _take_seat(session, topic, topic.slot_id, participant.id, None, waiting)
        return True
    if _waiting_id(session, topic.id, participant.id) is None:
        _queue(session, topic.id, participant.id)
    return False


# What a person is told of a change to their seat they did not make (SeatNotice.kind).
MOVED_KEPT = "moved"  # their session moved, and their seat with it
MOVED_WAITING = "waitlisted"  # it moved to a smaller room: they wait for a seat in it
MOVED_BOOKED = "booked"  # it moved to a time they have another session: they keep that one
OFF_WALL = "off_wall"  # it left the wall: they wait for it, and get a seat when it is back
OFF_WALL_CONVENING = "off_wall_own"  # … a session they convene: their seat comes back with it
FEWER_SEATS = "fewer_seats"  # its room now takes fewer people: they wait for a seat in it
MERGED_SEATED = "merged"  # the topic they followed was merged into one they have a seat in
MERGED_WAITING = "merged_waiting"  # … into one whose waitlist they are in
TIME_CHANGED = "time_changed"  # its slot's times changed: same room, a new time
OWNER_GONE = "owner_gone"  # to its convener: an action's owner erased their data, it has none
NOTICES = (
    MOVED_KEPT,
    MOVED_WAITING,
    MOVED_BOOKED,
    OFF_WALL,
    OFF_WALL_CONVENING,
    FEWER_SEATS,
    MERGED_SEATED,
    MERGED_WAITING,
    TIME_CHANGED,
    OWNER_GONE,
)


@dataclass
class SeatPlan:
    """What moving one session does to its seats, worked out before it is done (for the
    facilitator to see) and done exactly so: its conveners and then the people in the order
    they signed up keep a seat while the room has one (last signed up, last kept); the rest
    go to the front of its waitlist; whoever has another session at the new time keeps it."""

    topic: Topic
    slot_id: int | None
    space_id: int | None
    keep: list[int] = field(default_factory=list)
    wait: list[int] = field(default_factory=list)
    booked: list[int] = field(default_factory=list)
    off: list[int] = field(default_factory=list)  # conveners of a session leaving the wall
    others_seated: bool = False  # someone besides its conveners had a seat in it

    @property
    def people(self) -> list[int]:
        """Everyone whose seat this move changes."""
        return [*self.keep, *self.wait, *self.booked, *self.off]

    @property
    def asks_first(self) -> bool:
        """The facilitator sees it before it is done: someone besides its conveners has a
        seat, or someone loses theirs."""
        return self.others_seated or bool(self.wait or self.booked)


def _in_order(session: Session, topic_id: int, holders: list[int]) -> tuple[list[int], set[int]]:
    """The seat holders of a session in the order they keep their seats (its conveners first,
    then by sign-up), and its conveners."""
    conveners = conveners_in_order(session, topic_id)
    held = set(holders)
    first = [p for p in conveners if p in held]
    return first + [p for p in holders if p not in set(first)], set(conveners)


def plan_moves(
    session: Session, moves: list[tuple[Topic, int | None, int | None]]
) -> list[SeatPlan]:
    """What moving these sessions together (to a slot and space each, or off the wall) does
    to their seats; the topics are still where they are now."""
    session.flush()
    ids = [topic.id for topic, _slot, _space in moves]
    seats = session.exec(
        select(SignUp.topic_id, SignUp.participant_id)
        .where(col(SignUp.topic_id).in_(ids))
        .order_by(col(SignUp.id))
    ).all()
    targets = {slot_id for _topic, slot_id, _space in moves if slot_id is not None}
    busy = set(
        session.exec(
            select(SignUp.participant_id, SignUp.slot_id).where(
                col(SignUp.slot_id).in_(targets), col(SignUp.topic_id).not_in(ids)
            )
        ).all()
    )
    plans = []
    for topic, slot_id, space_id in moves:
        assert topic.id is not None
        plan = SeatPlan(topic, slot_id, space_id)
        holders, conveners = _in_order(session, topic.id, [p for t, p in seats if t == topic.id])
        plan.others_seated = any(p not in conveners for p in holders)
        if slot_id is None or space_id is None:
            # Its people wait for it; its conveners get their seats back when it is placed.
            plan.wait = [p for p in holders if p not in conveners]
            plan.off = [p for p in holders if p in conveners]
        else:
            space = session.get(Space, space_id)
            assert space is not None
            for participant_id in holders:
                if (participant_id, slot_id) in busy:
                    plan.booked.append(participant_id)
                elif len(plan.keep) < space.capacity:
                    plan.keep.append(participant_id)
                    busy.add((participant_id, slot_id))
                else:
                    plan.wait.append(participant_id)
        plans.append(plan)
    return plans


def move_seats(session: Session, plans: list[SeatPlan]) -> None:
    """Do what `plan_moves` worked out, and tell each person whose seat changed.

    The caller has locked the slots these sessions leave and enter (`lock_slots`), before it
    changed the topics."""
    ids = [plan.topic.id for plan in plans]
    if not ids:
        return
    kept = {
        (topic_id, participant_id): (created_at, promoted)
        for topic_id, participant_id, created_at, promoted in session.exec(
            select(
                SignUp.topic_id, SignUp.participant_id, SignUp.created_at, SignUp.promoted
            ).where(col(SignUp.topic_id).in_(ids))
        )
    }
    session.execute(delete(SignUp).where(col(SignUp.topic_id).in_(ids)))
    session.flush()
    for plan in plans:
        topic_id = plan.topic.id or 0
        for participant_id in plan.keep:
            assert plan.slot_id is not None
            created_at, promoted = kept[(topic_id, participant_id)]
            # A seat that came free from the waitlist is still news, at its new time.
            session.execute(
                _SEAT,
                params={
                    "topic_id": topic_id,
                    "slot_id": plan.slot_id,
                    "participant_id": participant_id,
                    "created_at": created_at,
                    "promoted": promoted,
                },
            )
        _queue_first(session, topic_id, plan.wait)
        off_wall = plan.slot_id is None
        _tell(session, plan.topic, plan.keep, MOVED_KEPT)
        _tell(session, plan.topic, plan.wait, OFF_WALL if off_wall else MOVED_WAITING)
        _tell(session, plan.topic, plan.off, OFF_WALL_CONVENING)
        _tell(session, plan.topic, plan.booked, MOVED_BOOKED)
        agenda_changed(session, plan.topic.event_id, plan.people)


def _queue_first(session: Session, topic_id: int, people: list[int]) -> None:
    """Put these people, in this order, at the front of the session's waitlist: they had a
    seat, and lost it by no choice of theirs."""
    if not people:
        return
    waiting = session.exec(
        select(WaitlistEntry.participant_id, WaitlistEntry.created_at)
        .where(WaitlistEntry.topic_id == topic_id)
        .order_by(col(WaitlistEntry.id))
    ).all()
    session.execute(delete(WaitlistEntry).where(col(WaitlistEntry.topic_id) == topic_id))
    now = utcnow()
    line = [(p, now) for p in people] + [(p, at) for p, at in waiting if p not in set(people)]
    for participant_id, created_at in line:
        params = {"topic_id": topic_id, "participant_id": participant_id, "created_at": created_at}
        session.execute(_QUEUE, params=params)


def _tell(session: Session, topic: Topic, people: list[int], kind: str) -> None:
    """News for each of these people about their seat in the session (the latest replaces
    what they were told of it before and have not seen)."""
    if not people:
        return
    session.execute(
        delete(SeatNotice).where(
            col(SeatNotice.topic_id) == topic.id, col(SeatNotice.participant_id).in_(people)
        )
    )
    now = utcnow()
    for participant_id in people:
        session.execute(
            insert(_NOTICES),
            params={
                "event_id": topic.event_id,
                "participant_id": participant_id,
                "topic_id": topic.id,
                "kind": kind,
                "created_at": now,
            },
        )


def tell(session: Session, topic: Topic, people: list[int], kind: str) -> None:
    """Tell these people of a change to their seat in the session (one of NOTICES)."""
    assert kind in NOTICES
    _tell(session, topic, people, kind)
    agenda_changed(session, topic.event_id, people)


def trim_to_capacity(session: Session, topic: Topic, capacity: int) -> list[int]:
    """The session's room now takes fewer people: the last to sign up go to the front of its
    waitlist (its conveners keep theirs first), and are told. The caller has locked its slot.
    Returns who now waits."""
    assert topic.id is not None
    session.flush()
    holders = list(
        session.exec(
            select(SignUp.participant_id)
            .where(SignUp.topic_id == topic.id)
            .order_by(col(SignUp.id))
        )
    )
    order, _conveners = _in_order(session, topic.id, holders)
    out = order[capacity:]
    if not out:
        return []
    day_mail.note(session, topic.id, out)
    session.execute(
        delete(SignUp).where(col(SignUp.topic_id) == topic.id, col(SignUp.participant_id).in_(out))
    )
    _queue_first(session, topic.id, out)
    tell(session, topic, out, FEWER_SEATS)
    return out


def fill_free_seats(session: Session, topic: Topic) -> None:
    """Give the topic's free seats to its waitlist, in order (after it was placed or moved)."""
    session.flush()
    _promote(session, topic.id)


@dataclass
class MySlot:
    slot: Slot
    seat: Seat | None
    waiting: list[tuple[Topic, int]]
    running: list[Seat] = field(default_factory=list)  # the sessions here they convene

    @property
    def here(self) -> Seat | None:
        """Where they are at this time: the session they convene, else their seat."""
        return self.running[0] if self.running else self.seat

    @property
    def seat_elsewhere(self) -> Seat | None:
        """Their seat, unless it is in a session they convene (said once, as convening)."""
        ours = {run.topic.id for run in self.running}
        return self.seat if self.seat is not None and self.seat.topic.id not in ours else None


def my_agenda(
    session: Session, event: Event, participant: Participant, marks: "Marks | None" = None
) -> list[MySlot]:
    """Per slot: where the participant sits, and the waitlists they are in with their place
    (`marks`: their seats and places, if the caller has read them already)."""
    slots = session.exec(
        select(Slot).where(Slot.event_id == event.id).order_by(col(Slot.starts_at))
    ).all()
    seats = {
        seat.slot_id: (topic, space)
        for seat, topic, space in session.exec(
            select(SignUp, Topic, Space)
            .join(Topic, col(Topic.id) == SignUp.topic_id)
            .join(Space, col(Space.id) == Topic.space_id)
            # A session withdrawn or hidden is on nobody's agenda (its seats wait, kept, in
            # case it is put back).
            .where(SignUp.participant_id == participant.id, col(Topic.hidden).is_(False))
        )
    }
    places = (marks or marks_of(session, participant)).waits
    waiting: dict[int, list[tuple[Topic, int]]] = {}
    if places:
        for topic in session.exec(
            select(Topic).where(col(Topic.id).in_(places), col(Topic.hidden).is_(False))
        ):
            if topic.slot_id is not None:
                waiting.setdefault(topic.slot_id, []).append((topic, places[topic.id or 0]))
    co_convened = select(CoConvener.topic_id).where(CoConvener.participant_id == participant.id)
    running: dict[int, list[tuple[Topic, Space]]] = {}
    for topic, space in session.exec(
        select(Topic, Space)
        .join(Space, col(Space.id) == Topic.space_id)
        .where(
            Topic.event_id == event.id,
            col(Topic.hidden).is_(False),
            or_(col(Topic.convener_id) == participant.id, col(Topic.id).in_(co_convened)),
        )
        .order_by(col(Topic.id))
    ):
        running.setdefault(topic.slot_id or 0, []).append((topic, space))
    return _agenda(slots, seats, waiting, running)


class Card(Protocol):
    """What an agenda reads of a visible topic's card (marketplace.TopicCard)."""

    topic: Topic
    space: Space | None

    @property
    def convener_ids(self) -> set[int]: ...


def agenda_from(
    slots: Iterable[Slot], cards: Iterable[Card], participant_id: int, marks: "Marks"
) -> list[MySlot]:
    """my_agenda without a query, from what a page has read already: the event's slots in
    time order, the cards of its visible topics (read once per agenda version and shared)
    and the participant's marks. A phone's home asks it on every visit."""
    by_id = {card.topic.id: card for card in cards}
    seats = {
        slot_id: (card.topic, card.space)
        for slot_id, topic_id in marks.seats.items()
        if (card := by_id.get(topic_id)) is not None and card.space is not None
    }
    waiting: dict[int, list[tuple[Topic, int]]] = {}
    running: dict[int, list[tuple[Topic, Space]]] = {}
    for topic_id, card in sorted(by_id.items(), key=lambda item: item[0] or 0):
        topic = card.topic
        if topic_id in marks.waits and topic.slot_id is not None:
            waiting.setdefault(topic.slot_id, []).append((topic, marks.waits[topic_id]))
        if card.space is not None and participant_id in card.convener_ids:
            running.setdefault(topic.slot_id or 0, []).append((topic, card.space))
    return _agenda(slots, seats, waiting, running)


def _agenda(
    slots: Iterable[Slot],
    seats: dict[int, tuple[Topic, Space]],
    waiting: dict[int, list[tuple[Topic, int]]],
    running: dict[int, list[tuple[Topic, Space]]],
) -> list[MySlot]:
    result = []
    for slot in slots:
        if slot.kind == SlotKind.plenary:
            result.append(MySlot(slot, None, []))
            continue
        held = seats.get(slot.id or 0)
        seat = Seat(slot, held[1], held[0]) if held else None
        runs = [Seat(slot, space, topic) for topic, space in running.get(slot.id or 0, [])]
        result.append(MySlot(slot, seat, waiting.get(slot.id or 0, []), runs))
    return result


@dataclass
class NowAndNext:
    """Where a participant should be now, and next: what the first screen of their page says."""

    now: MySlot | None  # the slot going on, if any
    next: MySlot | None  # the first slot still to start, if any
    next_today: bool  # the next slot starts today at the venue (its time alone says when)
    over: bool  # every slot has ended


def now_and_next(agenda: list[MySlot], moment: datetime, zone: ZoneInfo) -> NowAndNext:
    """The slot of `agenda` going on at `moment`, and the one after it."""
    going = next((row for row in agenda if row.slot.starts_at <= moment < row.slot.ends_at), None)
    coming = next((row for row in agenda if row.slot.starts_at > moment), None)
    today = moment.astimezone(zone).date()
    return NowAndNext(
        now=going,
        next=coming,
        next_today=coming is not None and coming.slot.starts_at.astimezone(zone).date() == today,
        over=bool(agenda) and all(row.slot.ends_at <= moment for row in agenda),
    )


_SEATS_OF = sa_select(_SIGN_UPS.c.slot_id, _SIGN_UPS.c.topic_id, _SIGN_UPS.c.promoted).where(
    _SIGN_UPS.c.participant_id == bindparam("participant_id")
)
_SEEN = (
    update(_SIGN_UPS)
    .where(_SIGN_UPS.c.participant_id == bindparam("holder"), _SIGN_UPS.c.promoted)
    .values(promoted=False)
)
_TOLD = delete(_NOTICES).where(_NOTICES.c.participant_id == bindparam("holder"))


def saw_news(session: Session, event: Event, participant: Participant) -> None:
    """The participant has seen that seats came free for them: their pages stop saying so."""
    result = session.execute(_SEEN, params={"holder": participant.id})
    told = session.execute(_TOLD, params={"holder": participant.id})
    if getattr(result, "rowcount", 0) or getattr(told, "rowcount", 0):
        agenda_changed(session, event.id, [participant.id])


@dataclass
class Marks:
    """Where a participant stands: a seat per slot, and their places in waitlists."""

    seats: dict[int, int]  # slot id → topic id
    waits: dict[int, int]  # topic id → place in line (1 is next)
    wait_slots: dict[int, int | None]  # topic id → its slot
    news: tuple[int, ...] = ()  # topics whose seat came from the waitlist, not yet seen
    notices: tuple[tuple[int, str], ...] = ()  # other changes to their seats, not yet seen

    def in_slot(self, slot_id: int) -> tuple[int | None, tuple[tuple[int, int], ...]]:
        """What of this participant shows in one slot: their seat and waitlist places."""
        waiting = sorted((t, p) for t, p in self.waits.items() if self.wait_slots[t] == slot_id)
        return self.seats.get(slot_id), tuple(waiting)


_EARLIER = _WAITLIST.alias("earlier")
_WAITS_OF = (
    sa_select(
        _WAITLIST.c.topic_id,
        _TOPICS.c.slot_id,
        sa_select(func.count())  # the place in line
        .select_from(_EARLIER)
        .where(_EARLIER.c.topic_id == _WAITLIST.c.topic_id, _EARLIER.c.id <= _WAITLIST.c.id)
        .scalar_subquery(),
    )
    .join(_TOPICS, _TOPICS.c.id == _WAITLIST.c.topic_id)
    .where(_WAITLIST.c.participant_id == bindparam("participant_id"))
)


def marks_of(session: Session, participant: Participant) -> Marks:
    """The participant's seats and waitlist places, in two queries."""
    waits: dict[int, int] = {}
    wait_slots: dict[int, int | None] = {}
    params = {"participant_id": participant.id}
    for topic_id, slot_id, position in session.execute(_WAITS_OF, params=params):
        waits[topic_id], wait_slots[topic_id] = position, slot_id
    seats: dict[int, int] = {}
    news = []
    for slot_id, topic_id, promoted in session.execute(_SEATS_OF, params=params):
        seats[slot_id] = topic_id
        if promoted:
            news.append(topic_id)
    notices = tuple(
        (topic_id, kind) for topic_id, kind in session.execute(_NOTICES_OF, params=params)
    )
    return Marks(seats, waits, wait_slots, tuple(sorted(news)), notices)


_NOTICES_OF = (
    sa_select(_NOTICES.c.topic_id, _NOTICES.c.kind)
    .where(_NOTICES.c.participant_id == bindparam("participant_id"))
    .order_by(_NOTICES.c.id)
)


def agenda_printed(session: Session, event: Event, participant_id: int) -> None:
    """The desk printed this person's agenda: it is right as of now."""
    person = session.get(Participant, participant_id)
    if person is not None and person.event_id == event.id:
        person.agenda_printed_at = utcnow()
        session.add(person)


def printed_agendas_changed(session: Session, event: Event) -> list[Participant]:
    """The people whose agenda the desk printed, and whose seats changed since by no doing
    of theirs: without a phone, they only know from a new sheet."""
    since = col(SeatNotice.created_at) > col(Participant.agenda_printed_at)
    return list(
        session.exec(
            select(Participant)
            .where(
                Participant.event_id == event.id,
                col(Participant.agenda_printed_at).is_not(None),
                select(SeatNotice.id)
                .where(SeatNotice.participant_id == Participant.id, since)
                .exists(),
            )
            .order_by(col(Participant.display_name))
        )
    )


def printed(session: Session, people: Iterable[int]) -> list[int]:
    """Those of these people whose agenda the desk has printed."""
    wanted = list(people)
    if not wanted:
        return []
    found = session.exec(
        select(Participant.id).where(
            col(Participant.id).in_(wanted), col(Participant.agenda_printed_at).is_not(None)
        )
    )
    return [participant_id for participant_id in found if participant_id is not None]
