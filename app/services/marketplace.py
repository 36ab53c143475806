"""The marketplace: topics proposed by participants, interest in them, and their upkeep."""

from dataclasses import dataclass, field, replace

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import (
    CoConvener,
    ConvenerElsewhere,
    Event,
    Interest,
    Participant,
    SignUp,
    Slot,
    Space,
    Theme,
    Topic,
    TopicTheme,
    WaitlistEntry,
)
from app.models.agenda import TopicCreate
from app.models.base import utcnow
from app.services import day_mail, policy, signups
from app.services.agenda import agenda_changed
from app.services.agenda import trial as agenda_trial
from app.services.errors import NotFound, Refused
from app.services.rows import add_once, copy_of
from app.services.signups import NO_SUCH_TOPIC


def open_marketplace(session: Session, event: Event, is_open: bool) -> None:
    """Open or close the marketplace for proposals."""
    event.marketplace_open = is_open
    session.add(event)
    agenda_changed(session, event.id)


def close_event(session: Session, event: Event, closed: bool) -> None:
    """Close the event to proposals and sign-ups (or reopen it)."""
    event.closed_at = utcnow() if closed else None
    if closed:
        event.marketplace_open = False
    session.add(event)
    agenda_changed(session, event.id)


def topic_of(session: Session, event: Event, topic_id: int) -> Topic:
    """One of the event's topics."""
    topic = session.get(Topic, topic_id)
    if topic is None or topic.event_id != event.id:
        raise NotFound(str(NO_SUCH_TOPIC))
    return topic


def _themes_of_event(session: Session, event: Event, theme_ids: list[int]) -> list[int]:
    if not theme_ids:
        return []
    known = session.exec(
        select(Theme.id).where(Theme.event_id == event.id, col(Theme.id).in_(theme_ids))
    ).all()
    return [theme_id for theme_id in known if theme_id is not None]


def propose_topic(
    session: Session,
    event: Event,
    convener: Participant,
    data: TopicCreate,
    *,
    theme_ids: list[int] | None = None,
    propose_key: str | None = None,
    at_the_desk: bool = False,
) -> Topic:
    """A new topic with the participant as convener; one form sent twice makes one topic.

    Outside the marketplace only a facilitator at the desk can add topics.
    """
    assert event.id is not None and convener.id is not None
    if event.closed_at is not None:
        raise Refused(_("The event is closed: no more topics can be proposed."))
    if not event.marketplace_open and not at_the_desk:
        raise Refused(
            _(
                "Proposing topics is not open right now. Topics can be proposed once the "
                "facilitator says so."
            )
        )
    topic, new = add_once(
        session,
        Topic.model_validate(
            data,
            update={"event_id": event.id, "convener_id": convener.id, "propose_key": propose_key},
        ),
        lambda: _proposed_with(session, event, propose_key) if propose_key else None,
    )
    if not new:
        return topic
    assert topic.id is not None
    for theme_id in _themes_of_event(session, event, theme_ids or []):
        session.add(TopicTheme(topic_id=topic.id, theme_id=theme_id))
    session.flush()
    agenda_changed(session, event.id)
    return topic


def _proposed_with(session: Session, event: Event, key: str) -> Topic | None:
    return session.exec(
        select(Topic).where(Topic.event_id == event.id, Topic.propose_key == key)
    ).first()


def edit_topic(
    session: Session,
    event: Event,
    topic: Topic,
    data: TopicCreate,
    theme_ids: list[int],
    who: policy.Asker,
) -> Topic:
    """Change a topic's words, language and themes."""
    policy.check_may_edit_topic(session, who, topic)
    topic.title, topic.description, topic.language = data.title, data.description, data.language
    session.add(topic)
    session.execute(delete(TopicTheme).where(col(TopicTheme.topic_id) == topic.id))
    assert topic.id is not None
    for theme_id in _themes_of_event(session, event, theme_ids):
        session.add(TopicTheme(topic_id=topic.id, theme_id=theme_id))
    session.flush()
    agenda_changed(session, event.id)
    return topic


def theme_ids_of(session: Session, topic: Topic) -> list[int]:
    """The themes the topic is tagged with."""
    return list(session.exec(select(TopicTheme.theme_id).where(TopicTheme.topic_id == topic.id)))


def set_hidden(session: Session, topic: Topic, hidden: bool) -> None:
    """Hide a topic from the wall and the lists (or restore it); nothing is deleted. A
    restored duplicate is a topic of its own again (its links no longer lead elsewhere)."""
    signups.lock_slots(session, [topic.slot_id])
    if topic.hidden != hidden:
        day_mail.note(session, topic.id)  # cancelled, or back on the wall
    topic.hidden = hidden
    if not hidden:
        topic.merged_into_id = None
        topic.withdrawn = False
    session.add(topic)
    if not hidden:
        # Back on the wall as a placement is: a co-convener who joined it while hidden gets
        # her seat, and a seat that came free meanwhile goes to whoever waits first.
        signups.seat_conveners(session, topic)
        signups.fill_free_seats(session, topic)
    agenda_changed(session, topic.event_id)


@dataclass(frozen=True)
class Withdrawn:
    """Who a withdrawn topic leaves behind: people with a seat in it, and waiting for one."""

    seated: int
    waiting: int


def left_behind(session: Session, topic: Topic) -> Withdrawn:
    """The people other than its conveners with a seat in the topic, and waiting for one."""
    conveners_of = conveners(session, topic)

    def count(model: type[SignUp] | type[WaitlistEntry]) -> int:
        return session.exec(
            select(func.count())
            .select_from(model)
            .where(col(model.topic_id) == topic.id, ~col(model.participant_id).in_(conveners_of))
        ).one()

    return Withdrawn(count(SignUp) if topic.placed else 0, count(WaitlistEntry))


def withdraw_topic(session: Session, topic: Topic, who: policy.Asker, withdrawn: bool) -> None:
    """Its convener withdraws her topic (or puts it back) by the facilitator's hide, so
    seats are kept as a hide keeps them: theirs again if it is back before another topic
    takes its place on the wall."""
    policy.check_may_withdraw_topic(who, topic)
    set_hidden(session, topic, withdrawn)
    topic.withdrawn = withdrawn
    session.add(topic)
    session.flush()


def conveners(session: Session, topic: Topic) -> list[int]:
    """The ids of everyone convening the topic."""
    extra = session.exec(select(CoConvener.participant_id).where(CoConvener.topic_id == topic.id))
    return [topic.convener_id, *extra]


def co_convene(session: Session, topic: Topic, participant: Participant) -> None:
    """The participant joins the topic's conveners."""
    assert topic.id is not None and participant.id is not None
    if participant.id in conveners(session, topic):
        return
    signups.lock_slots(session, [topic.slot_id])
    session.add(CoConvener(topic_id=topic.id, participant_id=participant.id))
    session.flush()
    signups.seat_conveners(session, topic)  # she holds a seat in it too, if she is free then
    agenda_changed(session, topic.event_id, [participant.id])


def set_interest(
    session: Session, topic: Topic, participant: Participant, interested: bool
) -> None:
    """Mark or unmark the participant's interest in the topic (idempotent)."""
    assert topic.id is not None and participant.id is not None
    if topic.hidden:
        raise Refused(_("This topic has been taken off the wall."))

    def marked() -> Interest | None:
        return session.exec(
            select(Interest).where(
                Interest.topic_id == topic.id, Interest.participant_id == participant.id
            )
        ).first()

    existing = marked()
    if interested and existing is None:
        add_once(session, Interest(topic_id=topic.id, participant_id=participant.id), marked)
    elif not interested and existing is not None:
        session.delete(existing)
        session.flush()
    else:
        return
    agenda_changed(session, topic.event_id)


@dataclass
class TopicCard:
    """A topic as lists and the wall show it."""

    topic: Topic
    convener: Participant
    interest: int = 0
    taken: int = 0
    waiting: int = 0
    themes: list[str] = field(default_factory=list)
    co_conveners: list[str] = field(default_factory=list)
    slot: Slot | None = None
    space: Space | None = None
    co_convener_ids: list[int] = field(default_factory=list)

    @property
    def convener_ids(self) -> set[int]:
        """Everyone convening it."""
        return {self.topic.convener_id, *self.co_convener_ids}

    @property
    def capacity(self) -> int | None:
        return self.space.capacity if self.space else None

    def detached(self) -> "TopicCard":
        """A copy whose rows belong to no session, to share between requests and threads
        (a row still in a session is expired by its rollback, and read again on next use)."""
        return replace(
            self,
            topic=copy_of(self.topic),
            convener=copy_of(self.convener),
            slot=copy_of(self.slot) if self.slot else None,
            space=copy_of(self.space) if self.space else None,
            themes=list(self.themes),
            co_conveners=list(self.co_conveners),
            co_convener_ids=list(self.co_convener_ids),
        )

    @property
    def full(self) -> bool:
        return self.space is not None and self.taken >= self.space.capacity

    @property
    def ended(self) -> bool:
        """Its slot is over: nobody can sign up any more."""
        return self.slot is not None and self.slot.ends_at <= utcnow()


def counts_by_topic(
    session: Session, model: type[Interest | SignUp | WaitlistEntry], ids: list[int]
) -> dict[int, int]:
    """How many rows of `model` (interest, seats, waiting) each of these topics has."""
    if not ids:
        return {}
    rows = session.exec(
        select(model.topic_id, func.count())
        .where(col(model.topic_id).in_(ids))
        .group_by(col(model.topic_id))
    )
    return dict(rows.all())


def topic_cards(
    session: Session,
    event: Event,
    *,
    include_hidden: bool = False,
    topic_id: int | None = None,
    slot_id: int | None = None,
) -> list[TopicCard]:
    """The event's topics with conveners, counts, themes and places, oldest first."""
    query = (
        select(Topic, Participant)
        .join(Participant, col(Participant.id) == Topic.convener_id)
        .where(Topic.event_id == event.id)
        .order_by(col(Topic.id))
    )
    if not include_hidden:
        query = query.where(col(Topic.hidden).is_(False))
    if topic_id is not None:
        query = query.where(Topic.id == topic_id)
    if slot_id is not None:
        query = query.where(Topic.slot_id == slot_id)
    rows = session.exec(query).all()
    ids = [topic.id for topic, _ in rows if topic.id is not None]
    interest = counts_by_topic(session, Interest, ids)
    taken = counts_by_topic(session, SignUp, ids)
    waiting = counts_by_topic(session, WaitlistEntry, ids)
    slots = {s.id: s for s in session.exec(select(Slot).where(Slot.event_id == event.id))}
    spaces = {s.id: s for s in session.exec(select(Space).where(Space.event_id == event.id))}
    themes: dict[int, list[str]] = {}
    co: dict[int, list[str]] = {}
    co_ids: dict[int, list[int]] = {}
    if ids:
        for topic_id, name in session.exec(
            select(TopicTheme.topic_id, Theme.name)
            .join(Theme, col(Theme.id) == TopicTheme.theme_id)
            .where(col(TopicTheme.topic_id).in_(ids))
            .order_by(col(Theme.position))
        ):
            themes.setdefault(topic_id, []).append(name)
        for topic_id, participant_id, name in session.exec(
            select(CoConvener.topic_id, CoConvener.participant_id, Participant.display_name)
            .join(Participant, col(Participant.id) == CoConvener.participant_id)
            .where(col(CoConvener.topic_id).in_(ids))
            .order_by(col(CoConvener.id))
        ):
            co.setdefault(topic_id, []).append(name)
            co_ids.setdefault(topic_id, []).append(participant_id)
    return [
        TopicCard(
            topic=topic,
            convener=convener,
            interest=interest.get(topic.id or 0, 0),
            taken=taken.get(topic.id or 0, 0),
            waiting=waiting.get(topic.id or 0, 0),
            themes=themes.get(topic.id or 0, []),
            co_conveners=co.get(topic.id or 0, []),
            co_convener_ids=co_ids.get(topic.id or 0, []),
            slot=slots.get(topic.slot_id),
            space=spaces.get(topic.space_id),
        )
        for topic, convener in rows
    ]


def interests_of(session: Session, participant: Participant) -> set[int]:
    """The topics this participant has marked."""
    return set(
        session.exec(select(Interest.topic_id).where(Interest.participant_id == participant.id))
    )


def check_mergeable(keep: Topic, duplicate: Topic) -> None:
    """Refused unless these are two topics (what a merge, and its preview, asks first)."""
    if keep.id == duplicate.id:
        raise Refused(_("Choose two different topics to merge."), "duplicate")


def merge_topics(session: Session, event: Event, keep: Topic, duplicate: Topic) -> tuple[int, int]:
    """Fold a duplicate into the kept topic: its people move over, nobody is lost or double-booked.

    Interest is united; the duplicate's conveners become co-conveners; its sign-ups move to the
    kept topic where that gives nobody two seats in one slot and the room has space, and onto
    its waitlist (in sign-up order) otherwise; the duplicate is hidden.

    Returns how many of the duplicate's people (seated or waiting) now have a seat in the
    kept topic, and how many wait for one.
    """
    seated, waiting = _merge(session, event, keep, duplicate)
    return len(seated), len(waiting)


@dataclass
class MergeOutcome:
    """What a merge would do to the duplicate's people: who would have a seat in the kept
    topic, and who would wait for one (busy at its time, or no room left)."""

    seated: list[int]
    waiting: list[int]


def merge_outcome(session: Session, event: Event, keep: Topic, duplicate: Topic) -> MergeOutcome:
    """What merging would do, found by doing it and taking it back (so that the preview can
    never say other than the merge does)."""
    with agenda_trial(session):
        seated, waiting = _merge(session, event, keep, duplicate)
    session.expire_all()
    return MergeOutcome(seated, waiting)


def _merge(
    session: Session, event: Event, keep: Topic, duplicate: Topic
) -> tuple[list[int], list[int]]:
    check_mergeable(keep, duplicate)
    assert keep.id is not None and duplicate.id is not None
    signups.lock_slots(session, [keep.slot_id, duplicate.slot_id])
    away = set(
        session.exec(
            select(ConvenerElsewhere.participant_id).where(
                ConvenerElsewhere.topic_id == duplicate.id
            )
        )
    )
    newcomers = []
    for participant_id in conveners(session, duplicate):
        if participant_id not in conveners(session, keep):
            session.add(CoConvener(topic_id=keep.id, participant_id=participant_id))
            newcomers.append(participant_id)
    kept_interest = set(
        session.exec(select(Interest.participant_id).where(Interest.topic_id == keep.id))
    )
    for interest in session.exec(select(Interest).where(Interest.topic_id == duplicate.id)).all():
        if interest.participant_id not in kept_interest:
            session.add(Interest(topic_id=keep.id, participant_id=interest.participant_id))
    moved = session.exec(
        select(SignUp).where(SignUp.topic_id == duplicate.id).order_by(col(SignUp.id))
    ).all()
    waiting = session.exec(
        select(WaitlistEntry)
        .where(WaitlistEntry.topic_id == duplicate.id)
        .order_by(col(WaitlistEntry.id))
    ).all()
    people = [s.participant_id for s in moved] + [w.participant_id for w in waiting]
    day_mail.note(session, keep.id, people)
    session.execute(delete(SignUp).where(col(SignUp.topic_id) == duplicate.id))
    session.execute(delete(WaitlistEntry).where(col(WaitlistEntry.topic_id) == duplicate.id))
    session.execute(
        update(Topic)
        .where(col(Topic.id) == duplicate.id)
        .values(hidden=True, slot_id=None, space_id=None, merged_into_id=keep.id)
    )
    session.flush()
    session.refresh(duplicate)
    seated: list[int] = []
    for participant_id in people:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        if signups.place_person(session, event, keep, participant):
            seated.append(participant_id)
    for participant_id in away.intersection(newcomers):
        # She said she will be elsewhere: still so, unless she has a place in it anyway.
        if not signups.has_place(session, keep, participant_id):
            signups.convener_elsewhere(session, keep, participant_id, True)
    signups.seat_conveners(session, keep)  # the duplicate's conveners now convene it too
    left_waiting = [p for p in people if p not in seated]
    signups.tell(session, keep, seated, signups.MERGED_SEATED)
    signups.tell(session, keep, left_waiting, signups.MERGED_WAITING)
    session.flush()
    agenda_changed(session, event.id)
    return seated, left_waiting
