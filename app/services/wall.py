"""The agenda wall: slot × space cells, topics placed in them, and what to warn about."""

from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import i18n
from app.i18n import _, ngettext
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
from app.services import day_mail, policy, signups
from app.services.agenda import agenda_changed, time_style
from app.services.agenda import trial as agenda_trial
from app.services.errors import Refused
from app.services.marketplace import TopicCard


def _cell(session: Session, event: Event, slot_id: int, space_id: int) -> tuple[Slot, Space]:
    slot = session.get(Slot, slot_id)
    space = session.get(Space, space_id)
    if slot is None or space is None or slot.event_id != event.id or space.event_id != event.id:
        raise Refused(_("There is no such place on the wall."))
    if slot.kind == SlotKind.plenary:
        raise Refused(_("Plenary slots are for everyone together: they cannot take topics."))
    return slot, space


def _occupant(session: Session, slot_id: int, space_id: int) -> Topic | None:
    return session.exec(
        select(Topic).where(Topic.slot_id == slot_id, Topic.space_id == space_id)
    ).first()


def _put(
    session: Session, moves: list[tuple[Topic, int | None, int | None]]
) -> list[signups.SeatPlan]:
    """Move topics to cells (or off the wall) together; their seats follow them as far as
    the new room takes them (see signups.SeatPlan), and everyone whose seat changed is told.

    Returns what became of the seats of each session that changed place.
    """
    signups.lock_slots(session, [slot for _, slot, _ in moves] + [t.slot_id for t, _, _ in moves])
    for topic, slot_id, space_id in moves:
        if (topic.slot_id, topic.space_id) != (slot_id, space_id):
            day_mail.note(session, topic.id)  # what its people knew, before it moves
    plans = signups.plan_moves(
        session,
        [
            (topic, slot_id, space_id)
            for topic, slot_id, space_id in moves
            if (topic.slot_id, topic.space_id) != (slot_id, space_id)
        ],
    )
    signups.move_seats(session, plans)
    for topic, _slot_id, _space_id in moves:  # free the cells first: one topic per cell
        topic.slot_id = topic.space_id = None
        session.add(topic)
    session.flush()
    for topic, slot_id, space_id in moves:
        topic.slot_id, topic.space_id = slot_id, space_id
        session.add(topic)
        session.flush()
    for topic, _slot_id, _space_id in moves:
        if topic.placed:  # its conveners first, then whoever waits for it
            signups.seat_conveners(session, topic)
            signups.fill_free_seats(session, topic)
        agenda_changed(session, topic.event_id)
    return plans


def place_by_convener(
    session: Session,
    event: Event,
    topic: Topic,
    slot_id: int,
    space_id: int,
    who: policy.Asker,
) -> list[signups.SeatPlan]:
    """Put a topic in a free cell, as on the paper wall; first come wins. Its conveners may
    (and move it so while nobody else has signed up to it); the facilitator's suggested
    places come this way too."""
    if event.closed_at is not None:
        raise Refused(_("The event is closed."))
    if topic.hidden:
        raise Refused(_("This topic has been taken off the wall."))
    slot, _space = _cell(session, event, slot_id, space_id)
    if slot.ends_at <= utcnow():
        raise Refused(_("That slot is over."))
    was_in = topic.slot_id
    signups.lock_slots(session, [slot_id, was_in])
    session.refresh(topic)
    if topic.slot_id != was_in:
        raise Refused(str(signups.MOVED))
    # Asked once the slots are locked: nobody signs up to it between the question and the move.
    policy.check_may_place(session, who, topic)
    taken = _occupant(session, slot_id, space_id)
    moves: list[tuple[Topic, int | None, int | None]] = [(topic, slot_id, space_id)]
    if taken is not None and taken.id != topic.id and taken.hidden:
        moves.append((taken, None, None))  # a hidden topic gives its place up
    elif taken is not None and taken.id != topic.id:
        raise Refused(
            _(
                "Someone has just put “%(title)s” there. Choose another free place.",
                title=taken.title,
            )
        )
    try:
        with session.begin_nested():
            return _put(session, moves)
    except IntegrityError:
        # Another convener's topic went into this cell a moment earlier.
        session.refresh(topic)
        raise Refused(_("Someone has just taken that place. Choose another free place.")) from None


def _moves_for(
    session: Session, event: Event, topic: Topic, slot_id: int | None, space_id: int | None
) -> tuple[list[tuple[Topic, int | None, int | None]], Topic | None]:
    """What a facilitator's move of the topic to a cell (or off the wall) moves: the topic,
    and the one in that cell, which swaps places with it (or, hidden, leaves the wall)."""
    if slot_id is None or space_id is None:
        return [(topic, None, None)], None
    _cell(session, event, slot_id, space_id)
    other = _occupant(session, slot_id, space_id)
    if other is not None and other.id == topic.id:
        return [], None
    moves: list[tuple[Topic, int | None, int | None]] = [(topic, slot_id, space_id)]
    if other is not None and other.hidden:  # nobody sees it there: it gives its place up
        return [*moves, (other, None, None)], None
    if other is not None:  # the two swap: the other takes this one's place, or leaves the wall
        moves.append((other, topic.slot_id, topic.space_id))
    return moves, other


def check_undo(
    session: Session,
    event: Event,
    topic: Topic,
    slot_id: int | None,
    space_id: int | None,
    swapped_id: int | None,
) -> None:
    """Refused, saying so, if the place a move is undone to was taken meanwhile by another
    topic than the one it swapped with (that one goes back as it came)."""
    if slot_id is None or space_id is None:
        return
    slot, space = _cell(session, event, slot_id, space_id)
    other = _occupant(session, slot_id, space_id)
    if other is None or other.hidden or other.id in (topic.id, swapped_id):
        return
    raise Refused(
        _(
            "“%(title)s” cannot go back to %(time)s, %(space)s: “%(other)s” has taken that "
            "place meanwhile. Choose another place from its Move page.",
            title=topic.title,
            time=i18n.when(slot.starts_at, event.zone),
            space=space.name,
            other=other.title,
        )
    )


def occupant(session: Session, slot_id: int | None, space_id: int | None) -> Topic | None:
    """The topic people see in a cell, if any (a hidden one gives its place up)."""
    if slot_id is None or space_id is None:
        return None
    found = _occupant(session, slot_id, space_id)
    return None if found is None or found.hidden else found


def plan_move(
    session: Session, event: Event, topic: Topic, slot_id: int | None, space_id: int | None
) -> tuple[Topic | None, list[signups.SeatPlan]]:
    """What a facilitator's move would do, without doing it: the topic it would swap with,
    and what becomes of the seats of each session that changes place."""
    policy.check_may_place(session, policy.FACILITATOR, topic)
    signups.lock_slots(session, [slot_id, topic.slot_id])  # and a slot since removed is said
    moves, other = _moves_for(session, event, topic, slot_id, space_id)
    changing = [(t, s, sp) for t, s, sp in moves if (t.slot_id, t.space_id) != (s, sp)]
    return other, signups.plan_moves(session, changing)


def seated_from_waitlists(
    session: Session, event: Event, topic: Topic, slot_id: int | None, space_id: int | None
) -> dict[int, list[int]]:
    """Who, waiting for a session that a move changes, would have a seat in it after the
    move (a move back to a bigger room, say): per topic, in waitlist order. Found by making
    the move and taking it back, so the preview cannot say other than the move does."""
    other = occupant(session, slot_id, space_id)
    topic_ids = [t.id for t in (topic, other) if t is not None and t.id is not None]
    waiting = {
        topic_id: list(
            session.exec(
                select(WaitlistEntry.participant_id)
                .where(WaitlistEntry.topic_id == topic_id)
                .order_by(col(WaitlistEntry.id))
            )
        )
        for topic_id in topic_ids
    }
    if not any(waiting.values()):
        return {}
    with agenda_trial(session):
        move_by_facilitator(session, event, topic, slot_id, space_id)
        seated = {
            topic_id: set(
                session.exec(select(SignUp.participant_id).where(SignUp.topic_id == topic_id))
            )
            for topic_id in topic_ids
        }
    session.expire_all()
    return {
        topic_id: [p for p in people if p in seated[topic_id]]
        for topic_id, people in waiting.items()
        if any(p in seated[topic_id] for p in people)
    }


def move_by_facilitator(
    session: Session, event: Event, topic: Topic, slot_id: int | None, space_id: int | None
) -> tuple[Topic | None, list[signups.SeatPlan]]:
    """Place, move or (with no cell) unplace a topic; a topic already in the cell swaps places.

    Returns the topic that was swapped, if any, and what became of the seats of each session
    that changed place (who kept one, who waits, who kept their seat at the new time).
    """
    was_in = topic.slot_id
    # The slots first, then the topics as they are now (two moves at once: the second sees
    # where the first put them; see signups.lock_slots).
    signups.lock_slots(session, [slot_id, was_in])
    session.refresh(topic)
    if topic.slot_id != was_in:
        raise Refused(str(signups.MOVED))
    moves, other = _moves_for(session, event, topic, slot_id, space_id)
    if not moves:
        return None, []
    return other, _put(session, moves)


def clear_place(
    session: Session, event: Event, *, slot_id: int | None = None, space_id: int | None = None
) -> list[Topic]:
    """Take the topics in a slot or a space off the wall before it is removed: their seats
    become places in their waitlists, so they come back when the topic is placed again (a
    removed slot would otherwise take its seats with it, unseen). Returns those topics."""
    where = Topic.slot_id == slot_id if slot_id is not None else Topic.space_id == space_id
    topics = session.exec(
        select(Topic).where(Topic.event_id == event.id, where).order_by(col(Topic.id))
    ).all()
    for topic in topics:
        move_by_facilitator(session, event, topic, None, None)
    return list(topics)


@dataclass
class Wall:
    """The grid as drawn: slots down, spaces across, the card in each cell, and warnings."""

    slots: list[Slot]
    spaces: list[Space]
    cells: dict[tuple[int, int], TopicCard]
    unplaced: list[TopicCard]
    warnings: dict[int, list[str]]
    # Who waits for each session with a queue, first in line first (the facilitator's wall).
    waiting: dict[int, list[str]] = field(default_factory=dict)

    def card(self, slot: Slot, space: Space) -> TopicCard | None:
        return self.cells.get((slot.id or 0, space.id or 0))

    def time_style(self, zone: ZoneInfo) -> str:
        """How a slot's start is written: with its day when the slots span several days."""
        return time_style(self.slots, zone)

    def free_cells(self) -> list[tuple[Slot, Space]]:
        now = utcnow()
        return [
            (slot, space)
            for slot in self.slots
            if slot.kind == SlotKind.breakout and slot.ends_at > now
            for space in self.spaces
            if (slot.id or 0, space.id or 0) not in self.cells
        ]


def convener_ids(session: Session, cards: list[TopicCard]) -> dict[int, set[int]]:
    """Each topic's conveners, co-conveners included."""
    result = {card.topic.id or 0: {card.topic.convener_id} for card in cards}
    ids = list(result)
    if ids:
        for topic_id, participant_id in session.exec(
            select(CoConvener.topic_id, CoConvener.participant_id).where(
                col(CoConvener.topic_id).in_(ids)
            )
        ):
            result[topic_id].add(participant_id)
    return result


def build_wall(
    session: Session,
    event: Event,
    cards: list[TopicCard],
    slots: list[Slot],
    spaces: list[Space],
    *,
    warn: bool = True,
) -> Wall:
    """Lay the cards out on the grid and work out the warnings a facilitator should see."""
    cells = {
        (card.topic.slot_id, card.topic.space_id): card
        for card in cards
        if card.topic.slot_id is not None and card.topic.space_id is not None
    }
    unplaced = sorted((card for card in cards if not card.topic.placed), key=lambda c: -c.interest)
    warnings: dict[int, list[str]] = defaultdict(list)
    if not warn:  # participants see the grid, not the facilitator's warnings
        return Wall(slots, spaces, cells, unplaced, {})
    people = convener_ids(session, cards)
    by_slot: dict[int, list[TopicCard]] = defaultdict(list)
    for (slot_id, _space_id), card in cells.items():
        by_slot[slot_id or 0].append(card)
    for slot_cards in by_slot.values():
        for card in slot_cards:
            mine = people[card.topic.id or 0]
            clashes = [
                other.topic.title
                for other in slot_cards
                if other is not card and mine & people[other.topic.id or 0]
            ]
            if clashes:
                titles = ", ".join(_("“%(title)s”", title=title) for title in clashes)
                warnings[card.topic.id or 0].append(
                    _("A convener also runs %(titles)s at this time.", titles=titles)
                )
    elsewhere = _conveners_seated_elsewhere(session, list(cells.values()))
    for card in cells.values():
        if card.topic.id in elsewhere:
            warnings[card.topic.id or 0].append(
                _(
                    "%(name)s (convener) has a seat in another session at this time.",
                    name=card.convener.display_name,
                )
            )
        assert card.space is not None
        if card.interest > card.space.capacity:
            warnings[card.topic.id or 0].append(
                ngettext(
                    "%(num)d is interested but %(space)s takes %(capacity)s.",
                    "%(num)d are interested but %(space)s takes %(capacity)s.",
                    card.interest,
                    space=card.space.name,
                    capacity=card.space.capacity,
                )
            )
        if card.waiting and card.full:
            warnings[card.topic.id or 0].append(
                ngettext(
                    "Full: %(num)d person waits for a seat.",
                    "Full: %(num)d people wait for a seat.",
                    card.waiting,
                )
            )
        if card.taken > card.space.capacity:
            warnings[card.topic.id or 0].append(
                _(
                    "Over capacity: %(taken)s signed up, %(space)s takes %(capacity)s.",
                    taken=card.taken,
                    space=card.space.name,
                    capacity=card.space.capacity,
                )
            )
    queued = [card.topic.id or 0 for card in cards if card.waiting]
    return Wall(slots, spaces, cells, unplaced, dict(warnings), waiting_names(session, queued))


def waiting_names(session: Session, topic_ids: list[int]) -> dict[int, list[str]]:
    """Who waits for each of these sessions, first in line first."""
    names: dict[int, list[str]] = defaultdict(list)
    if topic_ids:
        for topic_id, name in session.exec(
            select(WaitlistEntry.topic_id, Participant.display_name)
            .join(Participant, col(Participant.id) == WaitlistEntry.participant_id)
            .where(col(WaitlistEntry.topic_id).in_(topic_ids))
            .order_by(col(WaitlistEntry.id))
        ):
            names[topic_id].append(name)
    return dict(names)


def _conveners_seated_elsewhere(session: Session, cards: list[TopicCard]) -> set[int]:
    """The placed topics whose convener sits in a different session at the same time."""
    slots = {card.topic.slot_id for card in cards}
    conveners = {card.topic.convener_id for card in cards}
    if not cards:
        return set()
    seats: dict[tuple[int, int | None], int | None] = {
        (participant_id, slot_id): topic_id
        for participant_id, slot_id, topic_id in session.exec(
            select(SignUp.participant_id, SignUp.slot_id, SignUp.topic_id).where(
                col(SignUp.slot_id).in_(slots), col(SignUp.participant_id).in_(conveners)
            )
        )
    }
    return {
        card.topic.id or 0
        for card in cards
        if seats.get((card.topic.convener_id, card.topic.slot_id), card.topic.id) != card.topic.id
    }


def suggest_allocation(session: Session, wall: Wall) -> list[tuple[TopicCard, Slot, Space]]:
    """Most interest to the largest free space, never putting a convener in two places at once."""
    people = convener_ids(session, [*wall.unplaced, *wall.cells.values()])
    busy: dict[int, set[int]] = defaultdict(set)
    for (slot_id, _space_id), card in wall.cells.items():
        busy[slot_id].update(people[card.topic.id or 0])
    free = sorted(wall.free_cells(), key=lambda cell: (-cell[1].capacity, cell[0].starts_at))
    plan = []
    for card in sorted(wall.unplaced, key=lambda c: (-c.interest, c.topic.id or 0)):
        mine = people[card.topic.id or 0]
        for index, (slot, space) in enumerate(free):
            if not mine & busy[slot.id or 0]:
                plan.append((card, slot, space))
                busy[slot.id or 0].update(mine)
                del free[index]
                break
    return plan
