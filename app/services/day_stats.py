"""How the day went, for the organiser the morning after: sign-ups and switches per slot,
rooms full and empty, seats from waitlists, moves once a session began (the law of two feet)
and proposals over the marketplace's minutes.

Every number comes from what people did in the app and the app keeps anyway: seats and
waitlists as they stand, each seat taken or given up (`SeatChange`, kept for this page) and
when each topic was proposed. Nothing else is watched.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app import i18n
from app.i18n import _, ngettext
from app.models import Event, SeatChange, SignUp, Slot, SlotKind, Topic, WaitlistEntry
from app.models.base import utcnow
from app.services import events as event_service
from app.services import marketplace, reports
from app.services.followup_stats import Figure
from app.services.reports import SessionLine

# Bucket sizes (minutes) for the proposals chart: the smallest that keeps it to this many bars.
BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 240)
MOST_BARS = 30


@dataclass
class SlotLine:
    """What people did with their seats in one breakout slot."""

    slot: Slot
    label: str
    sign_ups: int = 0  # a first seat in the slot, chosen by the person
    switches: int = 0  # a seat in another session of the slot than the one they had
    promotions: int = 0  # a seat given from a waitlist
    moves: int = 0  # seats changed once the slot had begun
    movers: int = 0  # people who changed session once the slot had begun


@dataclass
class RoomLine:
    """One session held: its seats taken against its room's, who still waited, and how many
    seats its waitlist gave."""

    line: SessionLine
    taken: int
    waiting: int
    promoted: int = 0

    @property
    def capacity(self) -> int:
        return self.line.space.capacity

    @property
    def full(self) -> bool:
        """Full at some time: every seat taken at the end, or someone had to wait for one
        (a waitlist is only joined when every seat is taken)."""
        return self.taken >= self.capacity or self.waiting > 0 or self.promoted > 0

    @property
    def empty(self) -> bool:
        return self.taken == 0


@dataclass
class DayReport:
    """How the day went, as at `now`; `ready` once the day has begun."""

    event: Event
    now: datetime
    begins_at: datetime
    slots: list[SlotLine]
    rooms: list[RoomLine]
    proposals: list[datetime]
    figures: list[Figure]

    @property
    def ready(self) -> bool:
        return self.now >= self.begins_at

    @property
    def full(self) -> list[RoomLine]:
        return [room for room in self.rooms if room.full]

    @property
    def empty(self) -> list[RoomLine]:
        return [room for room in self.rooms if room.empty]


def day_report(session: Session, event: Event) -> DayReport:
    """Everything "how the day went" shows of the event, as at the app's clock."""
    now = utcnow()
    slots = event_service.slots(session, event)
    first_day = datetime.combine(event.starts_on, time(), tzinfo=event.zone)
    begins_at = min((s.starts_at for s in slots), default=first_day)
    breakouts = [s for s in slots if s.kind == SlotKind.breakout and s.starts_at <= now]
    several_days = len({s.starts_at.astimezone(event.zone).date() for s in slots}) > 1
    style = "day_time" if several_days else "time"
    lines = {s.id: SlotLine(s, _slot_label(event, s, style)) for s in breakouts}
    _count_seats(session, event, lines)
    rooms = _rooms(session, event, now)
    last_day = max(
        (s.ends_at.astimezone(event.zone).date() for s in slots), default=event.starts_on
    )
    proposals = _proposals(session, event, first_day, last_day)
    report = DayReport(event, now, begins_at, list(lines.values()), rooms, proposals, [])
    report.figures = [
        seats_figure(report.slots),
        two_feet_figure(report.slots),
        rooms_figure(rooms),
        proposals_figure(event, proposals),
    ]
    return report


def _slot_label(event: Event, slot: Slot, style: str) -> str:
    return " ".join(filter(None, (i18n.when(slot.starts_at, event.zone, style), slot.title)))


def _count_seats(session: Session, event: Event, lines: dict[int | None, SlotLine]) -> None:
    """Walk each person's seat changes in each slot, in the order they happened."""
    changes: dict[tuple[int, int], list[SeatChange]] = defaultdict(list)
    for change in session.exec(
        select(SeatChange)
        .where(SeatChange.event_id == event.id)
        .order_by(col(SeatChange.at), col(SeatChange.id))
    ):
        if change.slot_id in lines:
            changes[(change.slot_id, change.participant_id)].append(change)
    for (slot_id, _person), theirs in changes.items():
        line = lines[slot_id]
        starts, ends = line.slot.starts_at, line.slot.ends_at
        last: int | None = None  # the session they last had a seat in, in this slot
        left_during: int | None = None  # the one they gave up after it began, seatless since
        moved = False
        for change in theirs:
            if change.to_topic_id is None:
                if change.at >= starts:
                    left_during = change.from_topic_id
                continue
            if change.promoted:
                line.promotions += 1
            elif last is None:
                line.sign_ups += 1
            elif last != change.to_topic_id:
                line.switches += 1
            came_from = change.from_topic_id if change.from_topic_id is not None else left_during
            if starts <= change.at < ends and came_from not in (None, change.to_topic_id):
                line.moves += 1
                moved = True
            last, left_during = change.to_topic_id, None
        line.movers += moved


def _rooms(session: Session, event: Event, now: datetime) -> list[RoomLine]:
    held = [
        line
        for line in reports.sessions(session, event)
        if line.slot.kind == SlotKind.breakout and line.slot.starts_at <= now
    ]
    ids = [line.topic.id or 0 for line in held]
    taken = marketplace.counts_by_topic(session, SignUp, ids)
    waiting = marketplace.counts_by_topic(session, WaitlistEntry, ids)
    promoted = Counter(
        session.exec(
            select(SeatChange.to_topic_id).where(
                SeatChange.event_id == event.id, col(SeatChange.promoted).is_(True)
            )
        ).all()
    )
    return [
        RoomLine(
            line,
            taken.get(line.topic.id or 0, 0),
            waiting.get(line.topic.id or 0, 0),
            promoted[line.topic.id],
        )
        for line in held
    ]


def _proposals(
    session: Session, event: Event, first_day: datetime, last_day: date
) -> list[datetime]:
    """When each topic of the event was proposed on the days of the event."""
    found = session.exec(
        select(Topic.created_at).where(Topic.event_id == event.id).order_by(col(Topic.created_at))
    ).all()
    return [at for at in found if first_day <= at and at.astimezone(event.zone).date() <= last_day]


# --- figures --------------------------------------------------------------------------------


def seats_figure(slots: list[SlotLine]) -> Figure:
    taken = sum(s.sign_ups for s in slots)
    switched = sum(s.switches for s in slots)
    promoted = sum(s.promotions for s in slots)
    return Figure(
        key="seats",
        title=_("Sign-ups and switches by slot"),
        summary=_(
            "Sign-ups: %(signed)d. Switches to another session of the same slot: "
            "%(switched)d. Seats given from a waitlist: %(promoted)d.",
            signed=taken,
            switched=switched,
            promoted=promoted,
        ),
        columns=[_("Sign-ups"), _("Switches"), _("From a waitlist")],
        rows=[(s.label, [s.sign_ups, s.switches, s.promotions]) for s in slots],
        label=_("Slot"),
    )


def two_feet_figure(slots: list[SlotLine]) -> Figure:
    movers = sum(s.movers for s in slots)
    moves = sum(s.moves for s in slots)
    return Figure(
        key="two-feet",
        title=_("The law of two feet"),
        summary=ngettext(
            "%(num)d person left a session after it began and joined another of the same "
            "slot (%(moves)d moves in all).",
            "%(num)d people left a session after it began and joined another of the same "
            "slot (%(moves)d moves in all).",
            movers,
            moves=moves,
        ),
        columns=[_("People who moved")],
        rows=[(s.label, [s.movers]) for s in slots],
        label=_("Slot"),
    )


def rooms_figure(rooms: list[RoomLine]) -> Figure:
    full = sum(room.full for room in rooms)
    empty = sum(room.empty for room in rooms)
    return Figure(
        key="rooms",
        title=_("Seats taken in each session"),
        summary=_(
            "%(full)d of %(num)d sessions were full at some time (every seat taken at the end, "
            "or someone waited for a seat); %(empty)d had nobody signed up at the end.",
            full=full,
            num=len(rooms),
            empty=empty,
        ),
        columns=[_("Seats taken"), _("Seats free")],
        rows=[
            (room.line.topic.title, [room.taken, max(0, room.capacity - room.taken)])
            for room in rooms
        ],
        label=_("Session"),
    )


def bucket_minutes(span: timedelta) -> int:
    """The smallest bucket that draws the span in at most MOST_BARS bars."""
    minutes = span.total_seconds() / 60
    return next((b for b in BUCKETS if math.floor(minutes / b) + 1 <= MOST_BARS), BUCKETS[-1])


def proposals_figure(event: Event, proposals: list[datetime]) -> Figure:
    rows: list[tuple[str, list[int]]] = []
    if proposals:
        first = proposals[0].astimezone(event.zone).replace(second=0, microsecond=0)
        size = bucket_minutes(proposals[-1] - first)
        counted = Counter(int((at - first).total_seconds() // (size * 60)) for at in proposals)
        rows = [
            (i18n.when(first + timedelta(minutes=n * size), event.zone), [counted[n]])
            for n in range(max(counted) + 1)
        ]
        busiest = max(rows, key=lambda row: row[1][0])
        summary = ngettext(
            "%(num)d topic proposed from %(first)s to %(last)s, counted by %(size)d minutes; "
            "the busiest from %(busiest)s (%(most)d).",
            "%(num)d topics proposed from %(first)s to %(last)s, counted by %(size)d minutes; "
            "the busiest from %(busiest)s (%(most)d).",
            len(proposals),
            first=i18n.when(proposals[0], event.zone),
            last=i18n.when(proposals[-1], event.zone),
            size=size,
            busiest=busiest[0],
            most=busiest[1][0],
        )
    else:
        summary = _("No topic was proposed on the day.")
    return Figure(
        key="proposals",
        title=_("Topics proposed over the marketplace"),
        summary=summary,
        columns=[_("Topics proposed")],
        rows=rows,
        label=_("From"),
    )
