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

from sqlalchemy import bindparam, delete, func, insert, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.i18n import _, lazy
from app.models import (
    CoConvener,
    Event,
    Participant,
    SignUp,
    Slot,
    SlotKind,
    Space,
    Topic,
    WaitlistEntry,
)
from app.models.base import utcnow
from app.services.errors import NotFound, Refused
from app.services.events import agenda_changed

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
    _seat(session, topic.id, slot_id, participant_id, promoted)
    if waiting:
        session.execute(_DEQUEUE, params={"topic_id": topic.id, "participant_id": participant_id})
        _queue_moved(session, topic)
    agenda_changed(session, topic.event_id, [participant_id])
    return left


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
        agenda_changed(session, event.id, [participant.id])
    return waitlist_place(session, topic.id, participant.id) or 0


def leave_waitlist(session: Session, event: Event, topic: Placed, participant: Participant) -> None:
    """Step out of the queue."""
    params = {"topic_id": topic.id, "participant_id": participant.id}
    if session.execute(_DEQUEUE, params=params).rowcount:  # type: ignore[attr-defined]
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


def move_sign_ups(session: Session, moves: list[tuple[Topic, int | None]]) -> int:
    """Seats follow their topics to new slots, all at once (a swap keeps a person's seats in
    both sessions). A seat whose holder is already booked at the new time is given up (their
    other seat stays); taking a topic off the wall turns its seats into waitlist places, so
    they come back when it is placed again. Returns how many seats were given up.

    The caller has locked the slots these topics leave and enter (`lock_slots`), before it
    changed the topics."""
    target = {topic.id: slot for topic, slot in moves}
    seats = session.exec(
        select(SignUp).where(col(SignUp.topic_id).in_(list(target))).order_by(col(SignUp.id))
    ).all()
    moved = [
        (seat.topic_id, seat.participant_id, target[seat.topic_id], seat.promoted) for seat in seats
    ]
    session.execute(delete(SignUp).where(col(SignUp.topic_id).in_(list(target))))
    session.flush()
    given_up = 0
    for topic_id, participant_id, slot_id, promoted in moved:
        if slot_id is None:
            if _waiting_id(session, topic_id, participant_id) is None:
                _queue(session, topic_id, participant_id)
        elif _seat_in_slot(session, participant_id, slot_id) is not None:
            given_up += 1
        else:  # a seat that came free from the waitlist is still news, at its new time
            _seat(session, topic_id, slot_id, participant_id, promoted)
    return given_up


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
            .where(SignUp.participant_id == participant.id)
        )
    }
    places = (marks or marks_of(session, participant)).waits
    waiting: dict[int, list[tuple[Topic, int]]] = {}
    if places:
        for topic in session.exec(select(Topic).where(col(Topic.id).in_(places))):
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


_SEATS_OF = sa_select(_SIGN_UPS.c.slot_id, _SIGN_UPS.c.topic_id, _SIGN_UPS.c.promoted).where(
    _SIGN_UPS.c.participant_id == bindparam("participant_id")
)
_SEEN = (
    update(_SIGN_UPS)
    .where(_SIGN_UPS.c.participant_id == bindparam("holder"), _SIGN_UPS.c.promoted)
    .values(promoted=False)
)


def saw_news(session: Session, event: Event, participant: Participant) -> None:
    """The participant has seen that seats came free for them: their pages stop saying so."""
    result = session.execute(_SEEN, params={"holder": participant.id})
    if getattr(result, "rowcount", 0):
        agenda_changed(session, event.id, [participant.id])


@dataclass
class Marks:
    """Where a participant stands: a seat per slot, and their places in waitlists."""

    seats: dict[int, int]  # slot id → topic id
    waits: dict[int, int]  # topic id → place in line (1 is next)
    wait_slots: dict[int, int | None]  # topic id → its slot
    news: tuple[int, ...] = ()  # topics whose seat came from the waitlist, not yet seen

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
    return Marks(seats, waits, wait_slots, tuple(sorted(news)))
