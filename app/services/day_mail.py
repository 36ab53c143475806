"""News of the day by e-mail: a session of yours moved, was cancelled, or gave you a seat.

A change notes, before it is made, where each session it touches is and where each person it
touches stands in it (`note`). Just before the transaction commits, each person who asked
for news of their sessions gets one waiting message per session, written in that same
transaction: due `DEBOUNCE` after the last change and rewritten by each further change while
it waits (same cause, same Message-ID), so a session moved five times in two minutes makes
one message, drawn when it is sent from where the session is then. Changes that end where
they began cancel it. A preview (`agenda.trial`) takes its notes back with its savepoint.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import event as sa_event
from sqlmodel import Session, col, func, select

from app import i18n
from app.i18n import lazy
from app.models import Event, Participant, SignUp, Slot, Space, Topic, WaitlistEntry
from app.models.base import utcnow
from app.models.mail import MailConsent, Message, MessageKind, Purpose
from app.services import agenda, outbox
from app.services.outbox import Letter

# A message waits this long after the last change it tells of, in case another follows …
DEBOUNCE = timedelta(minutes=2)
# … but no longer than this after the first: a session moved all morning still gets told.
LONGEST = timedelta(minutes=10)
SUBJECT_MAX = 200

OFF = "off"  # the session is off the wall: cancelled (or hidden) for now
SEAT, WAITING, NONE = "seat", "wait", ""

_NOTES = "openspace.day_news"
# A preview's savepoint takes these notes back with its rows.
agenda.TAKEN_BACK.append(_NOTES)

SUBJECTS = {
    "cancelled": lazy("Cancelled: %(title)s"),
    "seat": lazy("You have a seat: %(title)s"),
    "moved": lazy("Moved: %(title)s"),
    "changed": lazy("Your seat has changed: %(title)s"),
}

Notes = dict[int, tuple[str, dict[int, str]]]


def _place(session: Session, topic: Topic) -> str:
    """Where the session is, as a person would notice: its slot's time and its room."""
    if topic.hidden or topic.slot_id is None or topic.space_id is None:
        return OFF
    slot = session.get(Slot, topic.slot_id)
    if slot is None:
        return OFF
    return f"{slot.starts_at.astimezone(UTC).isoformat()}@{topic.space_id}"


def _standings(session: Session, topic_id: int, people: set[int]) -> dict[int, str]:
    seated = set(
        session.exec(
            select(SignUp.participant_id).where(
                SignUp.topic_id == topic_id, col(SignUp.participant_id).in_(people)
            )
        )
    )
    waiting = set(
        session.exec(
            select(WaitlistEntry.participant_id).where(
                WaitlistEntry.topic_id == topic_id, col(WaitlistEntry.participant_id).in_(people)
            )
        )
    )
    return {p: SEAT if p in seated else WAITING if p in waiting else NONE for p in people}


def note(session: Session, topic_id: int | None, people: list[int] | None = None) -> None:
    """Before a change to the session: remember where it is and where these people (None:
    everyone with a seat in it or waiting for it) stand in it, unless already noted in this
    transaction (the first note is what they knew)."""
    if topic_id is None:
        return
    topic = session.get(Topic, topic_id)
    if topic is None:
        return
    notes: Notes = session.info.setdefault(_NOTES, {})
    if people is None:
        people = [
            *session.exec(select(SignUp.participant_id).where(SignUp.topic_id == topic_id)),
            *session.exec(
                select(WaitlistEntry.participant_id).where(WaitlistEntry.topic_id == topic_id)
            ),
        ]
    place, known = notes.get(topic_id, (_place(session, topic), {}))
    new = {p for p in people if p not in known}
    if new or topic_id not in notes:
        notes[topic_id] = (place, {**known, **_standings(session, topic_id, new)})


def note_slots(session: Session, slot_ids: list[int]) -> None:
    """Before the times of these slots change: note every session in them."""
    for topic_id in session.exec(select(Topic.id).where(col(Topic.slot_id).in_(slot_ids))):
        note(session, topic_id)


@sa_event.listens_for(Session, "before_commit", insert=True)
def _write_news(session: Session) -> None:
    notes: Notes | None = session.info.pop(_NOTES, None)
    if notes:
        now = utcnow()
        for topic_id, (place, people) in sorted(notes.items()):
            _write_topic_news(session, topic_id, place, people, now)


@sa_event.listens_for(Session, "after_rollback")
def _forget_notes(session: Session) -> None:
    session.info.pop(_NOTES, None)


def _write_topic_news(
    session: Session, topic_id: int, place: str, people: dict[int, str], now: datetime
) -> None:
    topic = session.get(Topic, topic_id)
    if topic is None:
        return
    asked = list(
        session.exec(
            select(Participant, MailConsent.language)
            .join(MailConsent, col(MailConsent.participant_id) == Participant.id)
            .where(
                col(Participant.id).in_(people),
                MailConsent.purpose == Purpose.sessions,
                col(Participant.email) != "",
            )
            .order_by(col(Participant.id))
        )
    )
    if not asked:
        return
    event = session.get_one(Event, topic.event_id)
    now_at = _place(session, topic)
    standings = _standings(session, topic_id, {p.id for p, _lang in asked if p.id is not None})
    for person, language in asked:
        assert person.id is not None
        before = f"{place}|{people[person.id]}"
        after = f"{now_at}|{standings[person.id]}"
        language = outbox.language_for(event.offered, language)
        _tell(session, event, topic, person, language, (before, after), now)


def _group(participant_id: int, topic_id: int) -> str:
    return f"day:{participant_id}:{topic_id}"


def _tell(
    session: Session,
    event: Event,
    topic: Topic,
    person: Participant,
    language: str,
    change: tuple[str, str],
    now: datetime,
) -> None:
    """Write, rewrite or cancel the person's waiting message about the session, for a change
    from what they knew (`before`) to what is now (`after`)."""
    before, after = change
    assert topic.id is not None and person.id is not None and event.id is not None
    group = _group(person.id, topic.id)
    pending = outbox.waiting_in_group(session, group)
    if pending is not None:
        if after == pending.baseline:
            outbox.cancel(session, pending, "Back where it was: there is nothing to tell.")
        else:
            pending.due_at = min(now + DEBOUNCE, pending.created_at + LONGEST)
            pending.subject = subject(topic, pending.baseline, after, pending.language)
            session.add(pending)
        return
    if after == before:
        return
    told = session.exec(select(func.count()).where(Message.group_key == group)).one()
    message, new = outbox.enqueue(
        session,
        f"day:{topic.id}:{person.id}:{told + 1}",
        Letter(
            kind=MessageKind.session_news,
            to_address=person.email,
            to_name=person.display_name,
            language=language,
            subject=subject(topic, before, after, language),
            due_at=now + DEBOUNCE,
            event_id=event.id,
            participant_id=person.id,
            group_key=group,
        ),
        topic_id=topic.id,
    )
    if new:
        message.baseline = before
        session.add(message)


def _what(before: str, after: str) -> str:
    """Which news it is: cancelled, a seat from the waitlist, moved, or a changed seat."""
    place_before, _, standing_before = before.partition("|")
    place_after, _, standing_after = after.partition("|")
    if place_after == OFF:
        return "cancelled"
    if standing_after == SEAT and standing_before != SEAT:
        return "seat"
    if place_after != place_before:
        return "moved"
    return "changed"


def subject(topic: Topic, before: str, after: str, language: str) -> str:
    """The subject in the recipient's language (the envelope keeps it to one line)."""
    with i18n.speaking(language):
        return (str(SUBJECTS[_what(before, after)]) % {"title": topic.title})[:SUBJECT_MAX]


def news(
    session: Session, message: Message, topic: Topic, event: Event
) -> dict[str, object] | None:
    """What the message says, drawn from where the session and the person are now; None
    when that is where they were before (nothing to tell)."""
    assert topic.id is not None and message.participant_id is not None
    person = message.participant_id
    standing = _standings(session, topic.id, {person})[person]
    after = f"{_place(session, topic)}|{standing}"
    if after == message.baseline:
        return None
    slot = session.get(Slot, topic.slot_id) if topic.slot_id else None
    space = session.get(Space, topic.space_id) if topic.space_id else None
    off = _place(session, topic) == OFF
    return {
        "what": _what(message.baseline, after),
        "title": topic.title,
        "when": "" if off or slot is None else i18n.when(slot.starts_at, event.zone, "day_time"),
        "room": "" if off or space is None else space.name,
        "standing": standing,
        "place_in_line": _line_place(session, topic.id, person) if standing == WAITING else 0,
    }


def _line_place(session: Session, topic_id: int, participant_id: int) -> int:
    ids = list(
        session.exec(
            select(WaitlistEntry.participant_id)
            .where(WaitlistEntry.topic_id == topic_id)
            .order_by(col(WaitlistEntry.id))
        )
    )
    return ids.index(participant_id) + 1 if participant_id in ids else 0
