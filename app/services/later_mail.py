"""Mail after the closing circle: the book for those who asked, and the organisers' weekly
digest while an event has open actions.

The book goes when a facilitator or organiser presses "send the book to those who asked":
one message per person and event, ever (its cause key), however often or at once it is
pressed. The digest is planned by every sender now and then (`plan_digests`), one per
organiser, event and ISO week (its cause key), so many workers plan it once.
"""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.db import Database
from app.i18n import _
from app.models import Action, Event, EventStaff, Organiser, Participant, Role
from app.models.base import utcnow
from app.models.mail import MailConsent, Message, MessageCause, MessageKind, MessageState, Purpose
from app.services import digest, mail, outbox, proceedings
from app.services.errors import NotFound, Refused
from app.services.outbox import Letter

# --- the book -------------------------------------------------------------------------------


def book_readers(session: Session, event: Event) -> list[tuple[Participant, str]]:
    """The event's people who asked for the book and gave an address, and their language."""
    return list(
        session.exec(
            select(Participant, MailConsent.language)
            .join(MailConsent, col(MailConsent.participant_id) == Participant.id)
            .where(
                Participant.event_id == event.id,
                MailConsent.purpose == Purpose.book,
                col(Participant.email) != "",
            )
            .order_by(col(Participant.id))
        )
    )


def send_book(session: Session, event: Event) -> int:
    """Queue the book for everyone who asked for it; how many messages are new (none for a
    person who was sent it before). Refused while no report is in."""
    try:
        proceedings.book(session, event, personal=False)
    except proceedings.NoReportYet:
        raise Refused(_("No session has a report yet: there is no book to send.")) from None
    assert event.id is not None
    if event.book_sent_at is None:
        event.book_sent_at = utcnow()
        session.add(event)
    made = 0
    for person, asked in book_readers(session, event):
        language = outbox.language_for(event.offered, asked)
        _message, new = outbox.enqueue(
            session,
            f"book:{event.id}:{person.id}",
            Letter(
                kind=MessageKind.book,
                to_address=person.email,
                to_name=person.display_name,
                language=language,
                subject=mail.subject(MessageKind.book, event, language),
                due_at=utcnow(),
                event_id=event.id,
                participant_id=person.id,
            ),
        )
        made += new
    return made


# --- the organisers' weekly digest ----------------------------------------------------------


def plan_digests(database: Database) -> int:
    """Write this week's digest for each organiser of each event with open actions, unless
    they or the event turned it off; how many are new. Safe in every process at once."""
    now = utcnow()
    with database.read() as session:
        wanted = _wanted(session, now)
    made = 0
    if not wanted:
        return 0
    with database.write() as session:
        for event_id, organiser_id in wanted:
            event = session.get(Event, event_id)
            organiser = session.get(Organiser, organiser_id)
            if event is None or organiser is None:
                continue
            language = event.offered[0]
            _message, new = outbox.enqueue(
                session,
                digest.cause_key(organiser_id, event, now),
                Letter(
                    kind=MessageKind.digest,
                    to_address=organiser.email,
                    to_name=organiser.name,
                    language=language,
                    subject=mail.subject(MessageKind.digest, event, language),
                    due_at=now,
                    event_id=event_id,
                    # A digest still waiting (no mail server yet) takes the next week's in.
                    group_key=f"digest:{organiser_id}:{event_id}",
                ),
            )
            made += new
    return made


def _wanted(session: Session, now: datetime) -> list[tuple[int, int]]:
    """(event, organiser) pairs owed this week's digest and not yet given it."""
    open_events = select(Action.event_id).where(
        col(Action.status).in_(digest.OPEN), col(Action.hidden).is_(False)
    )
    rows = session.exec(
        select(Event, EventStaff.organiser_id)
        .join(EventStaff, col(EventStaff.event_id) == Event.id)
        .join(Organiser, col(Organiser.id) == EventStaff.organiser_id)
        .where(
            col(Event.id).in_(open_events),
            col(Event.weekly_digest).is_(True),
            col(Organiser.weekly_digest).is_(True),
            EventStaff.role == Role.organiser,
        )
        .order_by(col(Event.id), col(EventStaff.organiser_id))
    ).all()
    pairs = [
        (event.id, organiser_id, digest.cause_key(organiser_id, event, now))
        for event, organiser_id in rows
        if event.id is not None and digest.after_the_day(session, event, now)
    ]
    if not pairs:
        return []
    keys = [key for _e, _o, key in pairs]
    taken = set(session.exec(select(MessageCause.key).where(col(MessageCause.key).in_(keys))))
    return [(event_id, organiser_id) for event_id, organiser_id, key in pairs if key not in taken]


def set_digest(session: Session, organiser: Organiser, wanted: bool) -> None:
    """An organiser turns their weekly digests on or off (for every event of theirs)."""
    organiser.weekly_digest = wanted
    session.add(organiser)
    if not wanted:
        _cancel_digests(session, col(Message.group_key).startswith(f"digest:{organiser.id}:"))


def set_event_digest(session: Session, event: Event, wanted: bool) -> None:
    """The event's organisers turn its weekly digest on or off (for all of them)."""
    event.weekly_digest = wanted
    session.add(event)
    if not wanted:
        _cancel_digests(session, col(Message.event_id) == event.id)


def _cancel_digests(session: Session, which: object) -> None:
    session.execute(
        update(Message)
        .where(
            col(Message.kind) == MessageKind.digest,
            col(Message.state) == MessageState.waiting,
            which,  # type: ignore[arg-type]
        )
        .values(state=MessageState.cancelled, last_error="The digest was turned off.")
    )


def organiser(session: Session, organiser_id: int | None) -> Organiser:
    """The organiser a digest link names; one no longer kept is not found."""
    found = session.get(Organiser, organiser_id) if organiser_id else None
    if found is None:
        raise NotFound(_("This link no longer works: the account is no longer kept."))
    return found
