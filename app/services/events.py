"""Setting an event up: the event, its team and links, spaces, slots and themes."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, SQLModel, col, select

from app import i18n
from app.i18n import _, lazy, ngettext
from app.models import (
    Event,
    EventStaff,
    FacilitatorLink,
    Organiser,
    Participant,
    Role,
    SignUp,
    Slot,
    SlotKind,
    Space,
    Theme,
    Topic,
)
from app.models.base import utcnow
from app.models.event import (
    EventCreate,
    EventUpdate,
    SlotCreate,
    SlotShift,
    SpaceCreate,
    ThemeCreate,
)
from app.models.people import OrganiserCreate
from app.security import new_join_code, new_secret, normalise_join_code
from app.services import day_mail, signups, wall
from app.services.accounts import create_organiser, organiser_by_email
from app.services.agenda import agenda_changed
from app.services.agenda import trial as agenda_trial
from app.services.errors import NotFound, Refused

T = TypeVar("T", bound=SQLModel)


def free_join_code(session: Session) -> str:
    """A join code no event has yet."""
    code = new_join_code()
    while event_by_code(session, code) is not None:
        code = new_join_code()
    return code


def create_event(session: Session, organiser: Organiser, data: EventCreate) -> Event:
    """A new event with a fresh join code; its creator is its first organiser."""
    assert organiser.id is not None
    event = Event.model_validate(data, update={"join_code": free_join_code(session)})
    session.add(event)
    session.flush()
    assert event.id is not None
    session.add(EventStaff(event_id=event.id, organiser_id=organiser.id, role=Role.organiser))
    session.flush()
    return event


def update_event(session: Session, event: Event, data: EventUpdate) -> Event:
    """Change the event's details."""
    for key, value in data.model_dump().items():
        setattr(event, key, value)
    session.add(event)
    session.flush()
    agenda_changed(session, event.id)
    return event


# Built once, for every participant page (see app.services.signups).
_BY_CODE = select(Event).where(Event.join_code == bindparam("code"))


def event_by_code(session: Session, typed_code: str) -> Event | None:
    """The event a typed join code belongs to (any case, spaces and dashes ignored)."""
    code = normalise_join_code(typed_code)
    if not code:
        return None
    return session.exec(_BY_CODE, params={"code": code}).first()


def events_of(session: Session, organiser: Organiser) -> list[tuple[Event, Role]]:
    """The events this organiser is on, with their role, soonest last."""
    rows = session.exec(
        select(Event, EventStaff.role)
        .join(EventStaff, col(EventStaff.event_id) == Event.id)
        .where(EventStaff.organiser_id == organiser.id)
        .order_by(col(Event.starts_on).desc(), col(Event.id).desc())
    )
    return [(event, Role(role)) for event, role in rows]


def role_of(session: Session, event: Event, organiser: Organiser) -> Role | None:
    """The organiser's role on this event, if any."""
    role = session.exec(
        select(EventStaff.role).where(
            EventStaff.event_id == event.id, EventStaff.organiser_id == organiser.id
        )
    ).first()
    return Role(role) if role else None


def team(session: Session, event: Event) -> list[tuple[Organiser, Role]]:
    """Everyone with an account on this event's team."""
    rows = session.exec(
        select(Organiser, EventStaff.role)
        .join(EventStaff, col(EventStaff.organiser_id) == Organiser.id)
        .where(EventStaff.event_id == event.id)
        .order_by(col(EventStaff.id))
    )
    return [(organiser, Role(role)) for organiser, role in rows]


def add_team_member(
    session: Session, event: Event, email: str, name: str, role: Role
) -> tuple[Organiser, str | None]:
    """Give an account a role on the event, creating the account if there is none.

    Returns the account and, when it was created here, its first password to pass on.
    """
    assert event.id is not None
    organiser = organiser_by_email(session, email)
    password = None
    if organiser is None:
        password = new_secret()[:16]
        organiser = create_organiser(
            session,
            OrganiserCreate(email=email, name=name or email.split("@")[0], password=password),
        )
        # Someone else saw this password: its owner replaces it at first log-in.
        organiser.must_change_password = True
    assert organiser.id is not None
    if role_of(session, event, organiser) is not None:
        raise Refused(_("This person is already on the team."), "email")
    session.add(EventStaff(event_id=event.id, organiser_id=organiser.id, role=role))
    session.flush()
    return organiser, password


def remove_team_member(session: Session, event: Event, organiser_id: int) -> None:
    """Take someone off the team; the last organiser cannot be removed."""
    staff = session.exec(
        select(EventStaff).where(
            EventStaff.event_id == event.id, EventStaff.organiser_id == organiser_id
        )
    ).first()
    if staff is None:
        raise NotFound(_("This person is not on the team."))
    organisers = session.exec(
        select(func.count())
        .select_from(EventStaff)
        .where(EventStaff.event_id == event.id, EventStaff.role == Role.organiser)
    ).one()
    if staff.role == Role.organiser and organisers <= 1:
        raise Refused(_("An event needs at least one organiser."))
    session.delete(staff)


def create_facilitator_link(session: Session, event: Event, label: str) -> FacilitatorLink:
    """A new secret facilitator link for the event."""
    assert event.id is not None
    link = FacilitatorLink(event_id=event.id, label=label or _("Facilitator link"))
    session.add(link)
    session.flush()
    return link


def facilitator_links(session: Session, event: Event) -> list[FacilitatorLink]:
    """The event's facilitator links that still work."""
    return list(
        session.exec(
            select(FacilitatorLink)
            .where(FacilitatorLink.event_id == event.id, col(FacilitatorLink.revoked_at).is_(None))
            .order_by(col(FacilitatorLink.id))
        )
    )


def live_facilitator_link(session: Session, link_id: int) -> FacilitatorLink | None:
    """The facilitator link with this id, unless it has been revoked."""
    link = session.get(FacilitatorLink, link_id)
    return link if link is not None and link.revoked_at is None else None


def revoke_facilitator_link(session: Session, event: Event, link_id: int) -> None:
    """Stop a facilitator link from working, at once, for everyone holding it."""
    link = _of_event(session, FacilitatorLink, link_id, event)
    link.revoked_at = utcnow()
    session.add(link)


def renew_projector_link(session: Session, event: Event) -> None:
    """Revoke the projector link; a new one replaces it."""
    event.projector_version += 1
    session.add(event)


_SPACES = (
    select(Space)
    .where(Space.event_id == bindparam("event_id"))
    .order_by(col(Space.position), col(Space.id))
)


def spaces(session: Session, event: Event) -> list[Space]:
    """The event's spaces in the organiser's order."""
    return list(session.exec(_SPACES, params={"event_id": event.id}))


def _space_name_taken(session: Session, event: Event, name: str, except_id: int | None) -> bool:
    # Both sides folded by the database: SQLite's lower() folds only A–Z, Python's far more.
    query = select(Space.id).where(
        Space.event_id == event.id, func.lower(Space.name) == func.lower(name)
    )
    if except_id is not None:
        query = query.where(Space.id != except_id)
    return session.exec(query).first() is not None


def add_space(session: Session, event: Event, data: SpaceCreate) -> Space:
    """A new space at the end of the list; names are unique within the event."""
    assert event.id is not None
    if _space_name_taken(session, event, data.name, None):
        raise Refused(_("There is already a space with this name."), "name")
    last = session.exec(select(func.max(Space.position)).where(Space.event_id == event.id)).one()
    space = Space.model_validate(data, update={"event_id": event.id, "position": (last or 0) + 1})
    session.add(space)
    session.flush()
    agenda_changed(session, event.id)
    return space


# Why a row of the event cannot be found, by its table.
GONE = {
    "Space": lazy("No such space: it may have been removed already."),
    "Slot": lazy("No such slot: it may have been removed already."),
    "Theme": lazy("No such theme: it may have been removed already."),
    "FacilitatorLink": lazy("No such facilitator link: it may have been removed already."),
}


def _of_event(session: Session, model: type[T], row_id: int, event: Event) -> T:
    """The row with this id, if it belongs to the event."""
    row = session.get(model, row_id)
    if row is None or getattr(row, "event_id", None) != event.id:
        gone = GONE.get(model.__name__)
        raise NotFound(str(gone) if gone else _("It may have been removed already."))
    return row


def space_of(session: Session, event: Event, space_id: int) -> Space:
    """One of the event's spaces."""
    return _of_event(session, Space, space_id, event)


def plenary_space(spaces: Iterable[Space]) -> Space | None:
    """The space where everyone meets together, if the organiser has chosen one."""
    return next((space for space in spaces if space.hosts_plenaries), None)


def set_plenary_space(session: Session, event: Event, space_id: int | None) -> Space | None:
    """Choose the space that hosts the plenaries (None: no one space does)."""
    chosen = space_of(session, event, space_id) if space_id is not None else None
    # The old one first: the database allows one such space per event at any moment.
    session.execute(
        update(Space)
        .where(col(Space.event_id) == event.id, col(Space.hosts_plenaries))
        .values(hosts_plenaries=False)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    if chosen is not None:
        chosen.hosts_plenaries = True
        session.add(chosen)
        session.flush()
    agenda_changed(session, event.id)
    return chosen


def update_space(session: Session, event: Event, space_id: int, data: SpaceCreate) -> Space:
    """Change a space's name, capacity or access notes. Seats a larger room adds go to the
    waitlists of its sessions, in order, before anyone else can take them; a smaller room
    sends the last to sign up to the front of the waitlist, and tells them."""
    space = space_of(session, event, space_id)
    if _space_name_taken(session, event, data.name, space_id):
        raise Refused(_("There is already a space with this name."), "name")
    change = data.capacity - space.capacity
    placed = session.exec(
        select(Topic).where(Topic.space_id == space.id, col(Topic.slot_id).is_not(None))
    ).all()
    # Locked before the capacity changes: a sign-up counts the seats under the same lock.
    signups.lock_slots(session, [topic.slot_id for topic in placed] if change else [])
    for key, value in data.model_dump().items():
        setattr(space, key, value)
    session.add(space)
    session.flush()
    for topic in placed if change else []:
        if change > 0:  # its conveners first, then whoever waits
            signups.seat_conveners(session, topic)
            signups.fill_free_seats(session, topic)
        else:
            signups.trim_to_capacity(session, topic, space.capacity)
    agenda_changed(session, event.id)
    return space


def remove_space(session: Session, event: Event, space_id: int) -> None:
    """Delete a space; its sessions leave the wall first (see wall.clear_place)."""
    space = space_of(session, event, space_id)
    wall.clear_place(session, event, space_id=space_id)
    session.delete(space)
    agenda_changed(session, event.id)


_SLOTS = (
    select(Slot)
    .where(Slot.event_id == bindparam("event_id"))
    .order_by(col(Slot.starts_at), col(Slot.id))
)


def slots(session: Session, event: Event) -> list[Slot]:
    """The event's slots in time order."""
    return list(session.exec(_SLOTS, params={"event_id": event.id}))


def local_moment(event: Event, day: date, at: time) -> datetime:
    """A wall-clock time at the event's venue, as an aware datetime."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(event.timezone))


def in_event_zone(event: Event, moment: datetime) -> datetime:
    """A moment as the clock at the venue shows it; a naive one is taken as venue time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=event.zone)
    return moment.astimezone(event.zone)


def _refuse_overlap(
    event: Event, starts_at: datetime, ends_at: datetime, others: Iterable[Slot]
) -> None:
    """Slots of an event never overlap: refuse a time that would."""
    for other in others:
        if starts_at < other.ends_at and other.starts_at < ends_at:
            local = in_event_zone(event, other.starts_at)
            raise Refused(
                _(
                    "This overlaps the slot starting at %(time)s on %(day)s.",
                    time=i18n.when(local, None, "time"),
                    day=i18n.when(local, None, "short_date"),
                ),
                "starts_at",
            )


def add_slot(session: Session, event: Event, data: SlotCreate) -> Slot:
    """A new time slot; it may not overlap another slot of the event."""
    assert event.id is not None
    starts_at = in_event_zone(event, data.starts_at)
    ends_at = in_event_zone(event, data.ends_at)
    _refuse_overlap(event, starts_at, ends_at, slots(session, event))
    slot = Slot(
        event_id=event.id,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        kind=data.kind,
        title=data.title,
    )
    session.add(slot)
    session.flush()
    agenda_changed(session, event.id)
    return slot


def slot_of(session: Session, event: Event, slot_id: int) -> Slot:
    """One of the event's slots."""
    return _of_event(session, Slot, slot_id, event)


def update_slot(session: Session, event: Event, slot_id: int, data: SlotCreate) -> list[Topic]:
    """Change a slot in place: its sessions and their seats stay in it, and the people with
    a seat in one are told of a new time. A breakout made a plenary cannot hold sessions, so
    they leave the wall first, as when the slot is removed (see wall.clear_place). Returns
    the sessions that left the wall."""
    every = _locked_slots(session, event)
    slot = next((slot for slot in every if slot.id == slot_id), None)
    if slot is None:
        raise NotFound(str(GONE["Slot"]))
    starts_at = in_event_zone(event, data.starts_at).astimezone(UTC)
    ends_at = in_event_zone(event, data.ends_at).astimezone(UTC)
    _refuse_overlap(event, starts_at, ends_at, (other for other in every if other is not slot))
    off = []
    if data.kind == SlotKind.plenary and slot.kind != SlotKind.plenary:
        off = wall.clear_place(session, event, slot_id=slot_id)
    retimed = (starts_at, ends_at) != (slot.starts_at, slot.ends_at)
    if retimed:
        day_mail.note_slots(session, [slot_id])
    slot.starts_at, slot.ends_at = starts_at, ends_at
    slot.kind, slot.title = data.kind, data.title
    session.add(slot)
    session.flush()
    if retimed:
        _tell_time_changed(session, [slot_id])
    agenda_changed(session, event.id)
    return off


def _locked_slots(session: Session, event: Event) -> list[Slot]:
    """The event's slots in time order, as they are once locked: locked under the locks a
    sign-up takes (it reads whether its slot has ended under them), and read again, so two
    changes at once never both start from the same times."""
    signups.lock_slots(session, [slot.id for slot in slots(session, event)])
    fresh = _SLOTS.execution_options(populate_existing=True)
    return list(session.exec(fresh, params={"event_id": event.id}))


def _tell_time_changed(session: Session, slot_ids: list[int]) -> list[int]:
    """Tell everyone with a seat in a session of these slots that its time changed; returns
    who was told."""
    held: dict[int, list[int]] = {}
    for topic_id, participant_id in session.exec(
        select(SignUp.topic_id, SignUp.participant_id)
        .where(col(SignUp.slot_id).in_(slot_ids))
        .order_by(col(SignUp.id))
    ):
        held.setdefault(topic_id, []).append(participant_id)
    for topic_id, people in held.items():
        signups.tell(session, session.get_one(Topic, topic_id), people, signups.TIME_CHANGED)
    return [person for people in held.values() for person in people]


@dataclass
class Shifted:
    """What moving the rest of a day did: the slots moved, and who was told of a new time."""

    slots: list[Slot]
    told: list[int]
    how: str  # "20 minutes later", in the request's language

    def summary(self) -> str:
        """What the facilitator or organiser is told it did."""
        moved = ngettext(
            "Moved %(num)d slot %(how)s: every phone and the projector show the new times.",
            "Moved %(num)d slots %(how)s: every phone and the projector show the new times.",
            len(self.slots),
            how=self.how,
        )
        if not self.told:
            return moved
        told = ngettext(
            "%(num)d person with a seat in a moved session is told on their phone.",
            "%(num)d people with a seat in a moved session are told on their phones.",
            len(self.told),
        )
        return f"{moved} {told}"


def upcoming_slots(session: Session, event: Event, now: datetime | None = None) -> list[Slot]:
    """The event's slots that have not started yet, in time order."""
    now = now or utcnow()
    return [slot for slot in slots(session, event) if slot.starts_at > now]


def shift_slots(
    session: Session, event: Event, data: SlotShift, now: datetime | None = None
) -> Shifted:
    """Move the rest of a day by some minutes in one step: every slot of that day that has
    not started yet, from the chosen one on (else from the next to start). Slots that have
    started stay as they are, and a slot never crosses midnight or runs into one that stays."""
    every = _locked_slots(session, event)
    now = now or utcnow()
    upcoming = [slot for slot in every if slot.starts_at > now]
    if data.from_slot_id is None:
        if not upcoming:
            raise Refused(_("Every slot has started already: there is nothing left to move."))
        first = upcoming[0]
    else:
        chosen = next((slot for slot in upcoming if slot.id == data.from_slot_id), None)
        if chosen is None:
            raise Refused(
                _("That slot has started already or was removed: please choose another."),
                "from_slot_id",
            )
        first = chosen
    day = in_event_zone(event, first.starts_at).date()
    moving = [
        slot
        for slot in upcoming
        if slot.starts_at >= first.starts_at and in_event_zone(event, slot.starts_at).date() == day
    ]
    staying = [slot for slot in every if slot not in moving]
    by = timedelta(minutes=data.minutes)
    later = ngettext("%(num)d minute later", "%(num)d minutes later", data.minutes)
    earlier = ngettext("%(num)d minute earlier", "%(num)d minutes earlier", -data.minutes)
    how = later if data.minutes > 0 else earlier
    changes = []
    for slot in moving:
        starts_at, ends_at = slot.starts_at + by, slot.ends_at + by
        at = i18n.when(in_event_zone(event, slot.starts_at), None, "time")
        # Ending at midnight counts as the next day: a slot is typed as one day, two times.
        if {in_event_zone(event, starts_at).date(), in_event_zone(event, ends_at).date()} != {day}:
            raise Refused(
                _(
                    "Moved %(how)s, the slot at %(time)s would cross midnight into another day.",
                    how=how,
                    time=at,
                ),
                "minutes",
            )
        for other in staying:
            if starts_at < other.ends_at and other.starts_at < ends_at:
                raise Refused(
                    _(
                        "Moved %(how)s, the slot at %(time)s would overlap the slot at "
                        "%(other)s, which stays where it is.",
                        how=how,
                        time=at,
                        other=i18n.when(in_event_zone(event, other.starts_at), None, "time"),
                    ),
                    "minutes",
                )
        changes.append((slot, starts_at, ends_at))
    day_mail.note_slots(session, [slot.id for slot, _start, _end in changes if slot.id is not None])
    for slot, starts_at, ends_at in changes:
        slot.starts_at, slot.ends_at = starts_at, ends_at
        session.add(slot)
    session.flush()
    told = _tell_time_changed(session, [slot.id for slot in moving if slot.id is not None])
    agenda_changed(session, event.id)
    return Shifted(moving, told, how)


@dataclass
class ShiftPreview:
    """What moving the rest of a day would do: each slot's times now and then, and how many
    people with a seat in a moved session would be told."""

    slots: list[tuple[Slot, datetime, datetime]]  # the slot (as it is now), its new times
    told: int
    how: str


def shift_outcome(session: Session, event: Event, data: SlotShift) -> ShiftPreview:
    """What shift_slots would do, found by doing it and taking it back (nothing stored, no
    page told), so the preview cannot say other than the shift does."""
    with agenda_trial(session):
        shifted = shift_slots(session, event, data)
        after = [(slot.id, slot.starts_at, slot.ends_at) for slot in shifted.slots]
        told, how = len(shifted.told), shifted.how
    session.expire_all()
    slots = {slot.id: slot for slot in _locked_slots(session, event)}
    return ShiftPreview(
        [(slots[i], start, end) for i, start, end in after if i in slots], told, how
    )


def remove_slot(session: Session, event: Event, slot_id: int) -> None:
    """Delete a slot; its sessions leave the wall first (see wall.clear_place)."""
    slot = _of_event(session, Slot, slot_id, event)
    wall.clear_place(session, event, slot_id=slot_id)
    session.delete(slot)
    agenda_changed(session, event.id)


def themes(session: Session, event: Event) -> list[Theme]:
    """The event's framework of themes, in order."""
    return list(
        session.exec(
            select(Theme)
            .where(Theme.event_id == event.id)
            .order_by(col(Theme.position), col(Theme.id))
        )
    )


def add_theme(session: Session, event: Event, data: ThemeCreate) -> Theme:
    """A new theme at the end of the framework."""
    assert event.id is not None
    last = session.exec(select(func.max(Theme.position)).where(Theme.event_id == event.id)).one()
    theme = Theme.model_validate(data, update={"event_id": event.id, "position": (last or 0) + 1})
    session.add(theme)
    session.flush()
    return theme


def remove_theme(session: Session, event: Event, theme_id: int) -> None:
    """Delete a theme."""
    session.delete(_of_event(session, Theme, theme_id, event))


def participant_count(session: Session, event: Event) -> int:
    """How many people have joined."""
    return session.exec(
        select(func.count()).select_from(Participant).where(Participant.event_id == event.id)
    ).one()
