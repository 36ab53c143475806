"""Participants: joining an event without an account, and coming back on another device."""

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import and_, bindparam
from sqlmodel import Session, col, select

from app.models import Event, Participant
from app.models.mail import Purpose
from app.models.people import ParticipantJoin
from app.security import normalise_join_code
from app.services import outbox
from app.services.rows import add_once


def join_event(
    session: Session, event: Event, data: ParticipantJoin, join_key: str | None = None
) -> Participant:
    """A new participant in the event; the same join form sent twice gives the same person."""
    assert event.id is not None
    participant = Participant.model_validate(
        data, update={"event_id": event.id, "join_key": join_key or None}
    )
    if not join_key:
        session.add(participant)
        session.flush()
        new = True
    else:
        participant, new = add_once(
            session, participant, lambda: _joined_with(session, event, join_key)
        )
    asked = {
        Purpose.actions: data.mail_actions,
        Purpose.sessions: data.mail_sessions,
        Purpose.book: data.mail_book,
    }
    for purpose, ticked in asked.items():
        if new and ticked:
            assert participant.id is not None
            outbox.set_consent(session, participant.id, purpose, True)
    return participant


def _joined_with(session: Session, event: Event, join_key: str) -> Participant | None:
    return session.exec(
        select(Participant).where(
            Participant.event_id == event.id, Participant.join_key == join_key
        )
    ).first()


def participant_in(
    session: Session, event: Event, participant_id: int, link_version: int
) -> Participant | None:
    """The participant, if they belong to the event and the link they hold is current."""
    participant = session.get(Participant, participant_id)
    if participant is None or participant.event_id != event.id:
        return None
    return participant if participant.link_version == link_version else None


# Built once, for every participant page and tap (see app.services.signups).
_EVENT_AND_PERSON = (
    select(Event, Participant)
    .outerjoin(
        Participant,
        and_(
            col(Participant.event_id) == Event.id,
            col(Participant.id).in_(bindparam("held", expanding=True)),
        ),
    )
    .where(Event.join_code == bindparam("code"))
)


def event_and_participant(
    session: Session, typed_code: str, held: dict[str, list[int]]
) -> tuple[Event | None, Participant | None]:
    """The event a join code names, and who this browser is in it, in one query.

    `held` is what the browser holds: per event id, a participant id and the version of
    the link that signed them in; a person whose link has been renewed since is nobody."""
    code = normalise_join_code(typed_code)
    if not code:
        return None, None
    ids = [pair[0] for pair in held.values() if len(pair) == 2]
    row = session.exec(_EVENT_AND_PERSON, params={"code": code, "held": ids}).first()
    if row is None:
        return None, None
    event, person = row
    if person is None or held.get(str(event.id)) != [person.id, person.link_version]:
        return event, None
    return event, person


def still_signed_in_to_write(session: Session, person: Participant) -> bool:
    """Before a write in their name: whether the person is still who the browser signed in
    as. On PostgreSQL their row is held (FOR KEY SHARE) until the write commits, so an erasure
    (which holds it FOR UPDATE) either waits for this write — and then takes what it wrote —
    or went first, and then the write is refused: nothing is written for someone erased
    (issue 26). SQLite's one writer already keeps the two apart."""
    if session.get_bind().dialect.name == "sqlite":
        return True
    version = session.exec(
        select(Participant.link_version)
        .where(Participant.id == person.id)
        .with_for_update(key_share=True)
    ).first()
    return version == person.link_version


def revoke_device_links(session: Session, participant: Participant) -> None:
    """Sign the participant out everywhere else and void old "continue" links."""
    participant.link_version += 1
    session.add(participant)


def named(session: Session, event: Event, name: str) -> Participant | None:
    """Someone in the event who goes by this name (whatever its case, in any script), if
    anyone does. Compared here: SQLite's lower() knows only ASCII."""

    def plain(text: str) -> str:  # "  joy  Thompson " is Joy Thompson
        return " ".join(text.split()).casefold()

    wanted = plain(name)
    names = session.exec(
        select(Participant.id, Participant.display_name).where(Participant.event_id == event.id)
    )
    found = next((pid for pid, shown in names if plain(shown) == wanted), None)
    return None if found is None else session.get(Participant, found)


# Letters whose accent is part of the letter in Unicode (no decomposition takes it off).
_BARE = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)


def folded(text: str) -> str:
    """Text as a search compares it: without case or accents, in any script."""
    apart = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in apart if not unicodedata.combining(char)).translate(_BARE)


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Orders names as people read them: Guest 2 before Guest 10, whatever the case."""
    # re.split with a group puts the runs of digits at the odd places.
    parts = re.split(r"(\d+)", folded(name))
    return tuple((0, int(part)) if odd % 2 else (1, part) for odd, part in enumerate(parts) if part)


@dataclass(frozen=True)
class Person:
    """Someone in the event as a list of names shows them."""

    id: int
    display_name: str
    organisation: str


@dataclass
class Found:
    """The people a search found, the first `limit` of them in natural order, and how many."""

    people: list[Person]
    total: int


def find(session: Session, event: Event, typed: str, limit: int) -> Found:
    """The people whose name holds every word typed (parts of words too), in any case, with
    or without accents. Compared here: SQLite's lower() knows only ASCII, and neither
    database drops accents."""
    words = folded(typed).split()
    if not words:
        return Found([], 0)
    ranked = []
    for pid, name, organisation in session.exec(
        select(Participant.id, Participant.display_name, Participant.organisation).where(
            Participant.event_id == event.id
        )
    ):
        plain = folded(name)
        if pid is None or not all(word in plain for word in words):
            continue
        # Names whose words start with what was typed come first: "guest 17" lists Guest 17
        # and Guest 170 before Guest 117.
        starts = all(any(part.startswith(word) for part in plain.split()) for word in words)
        ranked.append((not starts, natural_key(name), pid, Person(pid, name, organisation or "")))
    ranked.sort(key=lambda row: row[:3])
    return Found([row[3] for row in ranked[:limit]], len(ranked))


def of_event(session: Session, event: Event, participant_id: int | None) -> Participant | None:
    """The participant with this id, if they belong to the event."""
    person = session.get(Participant, participant_id) if participant_id else None
    return person if person is not None and person.event_id == event.id else None


def watching(session: Session, code: str, claims: dict[str, list[int]]) -> tuple[int, int] | None:
    """The event a join code names and the participant a browser holds in it, if the link
    is current: (event id, participant id), in one query (live streams reconnect in waves)."""
    held = {
        int(pid): version
        for pid, version in (v for v in claims.values() if isinstance(v, list) and len(v) == 2)
        if isinstance(pid, int) and isinstance(version, int)
    }
    if not held:
        return None
    for event_id, participant_id, link_version in session.exec(
        select(Event.id, Participant.id, Participant.link_version)
        .join(Participant, col(Participant.event_id) == Event.id)
        .where(Event.join_code == normalise_join_code(code), col(Participant.id).in_(held))
    ):
        if held[participant_id or 0] == link_version and event_id is not None:
            return event_id, participant_id or 0
    return None


def contacts(session: Session, event: Event) -> dict[int, tuple[str, str]]:
    """Every participant's name, and their e-mail where they agreed to share it (else "")."""
    return {
        pid: (name, email if shared else "")
        for pid, name, email, shared in session.exec(
            select(
                Participant.id,
                Participant.display_name,
                Participant.email,
                Participant.share_email,
            ).where(Participant.event_id == event.id)
        )
        if pid is not None
    }
