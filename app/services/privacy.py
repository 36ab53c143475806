"""People's data: what is kept about a person, erasing it, and retention that runs by itself.

Where a person's data is kept, table by table (`tests/integration/test_privacy.py` scans every
text column of every table, so a new one that holds a name is found):

- participant: their name, organisation and e-mail (the row stays, as "A participant", so
  the group's record keeps its shape);
- topic, contribution (and contributionrevision, its earlier texts), pledge: what they wrote;
- attendance.name, action.owner_name, actiongroup.initiator, actionupdate.written_by: a
  name typed by someone (theirs, when it matches theirs);
- message (to_address, to_name, subject, last_error), messageattempt.reply: mail to them;
- inboundmail (sender, subject, text): their replies by e-mail (deleted);
- mailconsent: what they ticked;
- auditentry.target: a form an organiser or facilitator sent with their name in it;
- signup, waitlistentry, interest, dot, seatnotice, coconvener, convenerelsewhere,
  seatchange: where they sat and what they chose (no text: anonymous once the name is off);
- checkout: an answer they put their name to (an anonymous one holds nothing of anyone: no
  participant, no time, and a hash whose key goes when the check-out closes).
"""

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.db import Database
from app.models import (
    Action,
    ActionGroup,
    ActionUpdate,
    Attendance,
    AuditEntry,
    CheckOut,
    CoConvener,
    Contribution,
    ContributionRevision,
    Dot,
    Event,
    Interest,
    Participant,
    Pledge,
    Report,
    Role,
    SeatChange,
    SeatNotice,
    SignUp,
    Slot,
    Topic,
    WaitlistEntry,
)
from app.models.base import utcnow
from app.models.mail import InboundMail, MailConsent, Message, MessageCause
from app.models.outcomes import ActionStatus
from app.models.privacy import (
    ERASED_NAME,
    RETENTION_MONTHS,
    ErasedBy,
    Erasure,
    ErasureMode,
    EventPrivacy,
    PrivacyForm,
)
from app.services import outbox, signups
from app.services.agenda import agenda_changed
from app.services.events import team
from app.services.pledges import months_after


class Kept(StrEnum):
    """What erasure does with a text column (see TEXT_COLUMNS)."""

    details = "the person's own details: taken off"
    typed_name = "a name someone typed: taken off where it is theirs"
    marked = "text that may quote their name or address: those marked erased"
    their_words = "what they wrote: kept without their name, or deleted with what they wrote"
    group_words = "written for the group (a title, a step): kept, without their name"
    not_personal = "no participant's data: set-up, codes, states, keys, the team"


# Every text column of every table, and what erasure does with it. A column added without a
# line here fails tests/unit/test_privacy_columns.py: say whether it can hold a person's data
# (and, if it can, make `erase` take it off, and the table-scan test prove it).
TEXT_COLUMNS: dict[str, Kept] = {
    "participant.display_name": Kept.details,
    "participant.organisation": Kept.details,
    "participant.email": Kept.details,
    "participant.join_key": Kept.details,
    "message.to_address": Kept.details,
    "message.to_name": Kept.details,
    "inboundmail.sender": Kept.details,
    "attendance.name": Kept.typed_name,
    "action.owner_name": Kept.typed_name,
    "actiongroup.initiator": Kept.typed_name,
    "actionupdate.written_by": Kept.typed_name,
    "auditentry.actor": Kept.marked,
    "auditentry.target": Kept.marked,
    "message.subject": Kept.marked,
    "message.last_error": Kept.marked,
    "messageattempt.reply": Kept.marked,
    "inboundmail.subject": Kept.marked,
    "contribution.body": Kept.their_words,
    "contributionrevision.body": Kept.their_words,
    "pledge.text": Kept.their_words,
    "pledge.answer": Kept.their_words,
    # Only a named answer is anyone's: an anonymous one is no one's to erase.
    "checkout.words": Kept.their_words,
    "actionupdate.note": Kept.their_words,
    "inboundmail.text": Kept.their_words,
    "topic.title": Kept.group_words,
    "topic.description": Kept.group_words,
    "action.title": Kept.group_words,
    "action.first_step": Kept.group_words,
    "actiongroup.name": Kept.group_words,
    "announcement.text": Kept.group_words,
    **{
        f"{table}.{column}": Kept.not_personal
        for table, columns in {
            "event": "name theme_question timezone venue principles languages join_code "
            "projector_view checkout_key",
            # Organiser accounts are the team's, kept as long as the installation keeps them.
            "organiser": "email name password_hash",
            "serversecret": "name value",
            "apitoken": "name token_hash",
            "auditentry": "action request_id",
            "eventprivacy": "controller contact notice",
            "eventstaff": "role",
            # Who the team invited (to become an organiser account), until they join.
            "teaminvite": "email name role",
            "facilitatorlink": "label",
            "slot": "kind title",
            "space": "name access_notes",
            "theme": "name description",
            "erasure": "mode asked_by fingerprint summary",
            "mailconsent": "purpose language",
            # A session's time, room id and a seat's standing, before a change of the day.
            "message": "kind language message_id group_key state baseline",
            "messageattempt": "outcome",
            "topic": "language propose_key",
            # The check-out's key, and each answer's keyed hash of its author (both go when
            # it closes; without the key the hash names no one).
            "checkout": "marker",
            "seatnotice": "kind",
            "action": "status write_key",
            "contribution": "kind write_key",
            "actionupdate": "status",
            "messagecause": "key",
            "inboundmail": "key state reason",
            # A keyed hash of an address or a browser, not the address: gone in two minutes.
            "ratecount": "kind who",
        }.items()
        for column in columns.split()
    },
}
# How often each server process looks for events whose retention is due.
PURGE_EVERY_SECONDS = 3600
# What stands where a name or an address was, in texts that are kept (the audit log).
MARK = "[erased]"
OPEN = (ActionStatus.proposed, ActionStatus.agreed, ActionStatus.in_progress)


# --- the event's notice and retention --------------------------------------------------------


def settings_of(session: Session, event: Event) -> EventPrivacy:
    """The event's privacy settings (the defaults, unsaved, if the organiser set none)."""
    assert event.id is not None
    found = session.exec(select(EventPrivacy).where(EventPrivacy.event_id == event.id)).first()
    return found or EventPrivacy(event_id=event.id)


def save_settings(session: Session, event: Event, data: PrivacyForm) -> EventPrivacy:
    row = settings_of(session, event)
    row.controller, row.contact = data.controller, data.contact
    row.notice, row.retention_months = data.notice, data.retention_months
    session.add(row)
    session.flush()
    return row


def organiser_names(session: Session, event: Event) -> list[str]:
    """Who to ask when the organiser named nobody: the event's organisers."""
    return [o.name for o, role in team(session, event) if role == Role.organiser]


@dataclass(frozen=True)
class Retention:
    """When the event's personal data goes: `due` (None while actions are open)."""

    months: int
    open_actions: int
    due: datetime | None
    purged_at: datetime | None


def retention(session: Session, event: Event) -> Retention:
    """When retention takes the names off: `months` after the event's last day or its last
    action done, whichever is later; not while an action is still open."""
    row = settings_of(session, event)
    open_actions = session.exec(
        select(func.count())
        .select_from(Action)
        .where(Action.event_id == event.id, col(Action.hidden).is_(False))
        .where(col(Action.status).in_(OPEN))
    ).one()
    last_done = session.exec(
        select(func.max(Action.updated_at)).where(
            Action.event_id == event.id, col(Action.status).not_in(OPEN)
        )
    ).one()
    last_slot = session.exec(select(func.max(Slot.ends_at)).where(Slot.event_id == event.id)).one()
    day = event.starts_on
    for moment in (last_done, last_slot):
        if moment is not None:
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            day = max(day, moment.astimezone(event.zone).date())
    due = None
    if not open_actions:
        due_day = months_after(day, row.retention_months)
        due = datetime.combine(due_day, time(0, 0), tzinfo=event.zone).astimezone(UTC)
    return Retention(row.retention_months, open_actions, due, row.purged_at)


# --- what is kept about a person --------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def my_data(session: Session, event: Event, person: Participant) -> dict[str, Any]:
    """Everything kept about the person in this event, as plain data (their JSON download)."""
    pid = person.id
    name = _plain(person.display_name)
    topics = list(
        session.exec(select(Topic).where(Topic.convener_id == pid).order_by(col(Topic.id)))
    )
    co = list(
        session.exec(
            select(Topic)
            .join(CoConvener, col(CoConvener.topic_id) == Topic.id)
            .where(CoConvener.participant_id == pid)
        )
    )
    titles = {
        tid: title
        for tid, title in session.exec(
            select(Topic.id, Topic.title).where(Topic.event_id == event.id)
        )
    }

    def seats(model: Any) -> list[dict[str, Any]]:
        rows = session.exec(select(model).where(model.participant_id == pid).order_by(model.id))
        return [{"topic": titles.get(row.topic_id, ""), "at": _iso(row.created_at)} for row in rows]

    contributions = []
    for row in session.exec(
        select(Contribution).where(Contribution.author_id == pid).order_by(col(Contribution.id))
    ):
        earlier = session.exec(
            select(ContributionRevision)
            .where(ContributionRevision.contribution_id == row.id)
            .order_by(col(ContributionRevision.version))
        )
        contributions.append(
            {
                "kind": str(row.kind),
                "text": row.body,
                "written_at": _iso(row.created_at),
                "edited_at": _iso(row.edited_at),
                "withdrawn": row.withdrawn,
                "hidden": row.hidden,
                "earlier_versions": [
                    {"version": r.version, "text": r.body, "written_at": _iso(r.written_at)}
                    for r in earlier
                ],
            }
        )
    owned = list(
        session.exec(
            select(Action)
            .where(Action.event_id == event.id)
            .where((col(Action.owner_id) == pid) | (col(Action.created_by_id) == pid))
            .order_by(col(Action.id))
        )
    )
    actions = []
    for action in owned:
        updates = session.exec(
            select(ActionUpdate)
            .where(ActionUpdate.action_id == action.id)
            .order_by(col(ActionUpdate.id))
        )
        actions.append(
            {
                "title": action.title,
                "first_step": action.first_step,
                "due_on": _iso(action.due_on),
                "status": str(action.status),
                "you_own_it": action.owner_id == pid,
                "you_wrote_it": action.created_by_id == pid,
                "updates": [
                    {
                        "status": str(u.status),
                        "note": u.note,
                        "at": _iso(u.created_at),
                        # Someone else's name is theirs, not this person's.
                        "by_you": u.via_link or u.via_mail or _plain(u.written_by) == name,
                    }
                    for u in updates
                ],
            }
        )
    pledge = session.exec(select(Pledge).where(Pledge.participant_id == pid)).first()
    named = session.exec(select(CheckOut).where(CheckOut.participant_id == pid)).all()
    moved = session.exec(
        select(SeatChange).where(SeatChange.participant_id == pid).order_by(col(SeatChange.id))
    ).all()
    took_part = session.exec(
        select(Attendance, Report)
        .join(Report, col(Report.id) == Attendance.report_id)
        .where(Attendance.participant_id == pid)
    ).all()
    dots = session.exec(select(Dot).where(Dot.participant_id == pid)).all()
    messages = session.exec(
        select(Message).where(Message.participant_id == pid).order_by(col(Message.id))
    ).all()
    consents = session.exec(select(MailConsent).where(MailConsent.participant_id == pid)).all()
    notices = session.exec(select(SeatNotice).where(SeatNotice.participant_id == pid)).all()
    return {
        "event": {"name": event.name, "starts_on": _iso(event.starts_on)},
        "you": {
            "name": person.display_name,
            "organisation": person.organisation,
            "email": person.email,
            "email_shared": person.share_email,
            "joined_at": _iso(person.created_at),
            "agenda_printed_at": _iso(person.agenda_printed_at),
        },
        "mail_consents": [{"purpose": str(c.purpose), "at": _iso(c.created_at)} for c in consents],
        "topics_proposed": [
            {"title": t.title, "description": t.description, "at": _iso(t.created_at)}
            for t in topics
        ],
        "topics_co_convened": [{"title": t.title} for t in co],
        "interests": seats(Interest),
        "sign_ups": seats(SignUp),
        "waitlists": seats(WaitlistEntry),
        "seat_changes": [
            {
                "left": titles.get(m.from_topic_id or 0, ""),
                "took": titles.get(m.to_topic_id or 0, ""),
                "from_a_waitlist": m.promoted,
                "at": _iso(m.at),
            }
            for m in moved
        ],
        "seat_news": [
            {"topic": titles.get(n.topic_id, ""), "what": n.kind, "at": _iso(n.created_at)}
            for n in notices
        ],
        "contributions": contributions,
        "took_part": [
            {
                "session": titles.get(report.topic_id, ""),
                "present": row.present,
                "at": _iso(row.changed_at),
            }
            for row, report in took_part
        ],
        "actions": actions,
        "dots": [
            {"on": "action" if d.action_id else "report", "at": _iso(d.created_at)} for d in dots
        ],
        "pledge": None
        if pledge is None
        else {
            "text": pledge.text,
            "remind_on": _iso(pledge.remind_on),
            "may_contact": pledge.may_contact,
            "written_at": _iso(pledge.created_at),
            "answer": pledge.answer,
            "answered_at": _iso(pledge.answered_at),
        },
        # Only answers they put their name to: an anonymous one cannot be told apart.
        "check_out": [{"words": c.words, "how_useful": c.usefulness} for c in named],
        "messages": [
            {
                "kind": str(m.kind),
                "to": m.to_address,
                "subject": m.subject,
                "state": str(m.state),
                "due_at": _iso(m.due_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in messages
        ],
        "erasures": [{"mode": str(e.mode), "at": _iso(e.at)} for e in erasures_of(session, person)],
    }


# --- erasure ----------------------------------------------------------------------------------


def erasures_of(session: Session, person: Participant) -> list[Erasure]:
    return list(
        session.exec(
            select(Erasure).where(Erasure.participant_id == person.id).order_by(col(Erasure.id))
        )
    )


def erasures_in(session: Session, event: Event) -> list[Erasure]:
    """The event's erasure log, newest first."""
    return list(
        session.exec(
            select(Erasure).where(Erasure.event_id == event.id).order_by(col(Erasure.id).desc())
        )
    )


def is_erased(session: Session, person: Participant) -> bool:
    return bool(erasures_of(session, person))


def _plain(text: str) -> str:
    """A name as compared: its words, without case ("  joy  THOMPSON " is Joy Thompson)."""
    return " ".join(text.split()).casefold()


def _pattern(needles: list[str]) -> re.Pattern[str] | None:
    """What to look for in kept texts: each name or address as a whole word, in any case."""
    words = sorted({" ".join(n.split()) for n in needles if len(n.strip()) >= 2}, key=len)
    if not words:
        return None
    either = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in reversed(words))
    return re.compile(rf"(?<!\w)(?:{either})(?!\w)", re.IGNORECASE)


def _scrubbed(text: str, pattern: re.Pattern[str] | None) -> str:
    return text if pattern is None or not text else pattern.sub(MARK, text)


@dataclass
class _Erasing:
    """One erasure under way: what to find, and what changed (counted, never kept)."""

    session: Session
    event: Event
    person: Participant
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def pid(self) -> int:
        assert self.person.id is not None
        return self.person.id


def fingerprint(person: Participant) -> str:
    """What recognises the person's row in a copy of the event made before their erasure
    (no name, no address: when the row was made, and the random key of the join form)."""
    made = person.created_at.astimezone(UTC).isoformat()
    return hashlib.sha256(f"{made}|{person.join_key or ''}".encode()).hexdigest()


def erase_again(session: Session, event: Event) -> int:
    """Erase again, in the same mode, the people of an imported event who were erased since
    the archive was made; how many."""
    people = list(session.exec(select(Participant).where(Participant.event_id == event.id)))
    prints = {fingerprint(person): person for person in people}
    found = session.exec(
        select(Erasure.fingerprint, Erasure.mode, Erasure.asked_by).where(
            col(Erasure.fingerprint).in_(prints), col(Erasure.event_id) != event.id
        )
    ).all()
    modes: dict[str, tuple[ErasureMode, ErasedBy]] = {}
    for known, mode, asked_by in found:
        if known not in modes or mode == ErasureMode.everything:
            modes[known] = (ErasureMode(mode), ErasedBy(asked_by))
    again = [(prints[known], how) for known, how in modes.items()]
    again = [(person, how) for person, how in again if not is_erased(session, person)]
    for person, (mode, asked_by) in again:
        erase(session, event, person, mode, asked_by)
    return len(again)


def _lock(session: Session, person: Participant) -> Participant:
    """The person's row, locked until the erasure commits (their own edit waits, or went
    first); on SQLite the one writer already makes it so."""
    if session.get_bind().dialect.name == "sqlite":
        return person
    session.exec(select(Participant.id).where(Participant.id == person.id).with_for_update())
    session.refresh(person)
    return person


def erase(
    session: Session,
    event: Event,
    person: Participant,
    mode: ErasureMode,
    asked_by: ErasedBy,
) -> Erasure:
    """Erase the person's data in the event, at once and for good; asked twice, harmless.

    `name_off`: they become "A participant"; their e-mail, organisation and consents go,
    their name goes from every text that holds it; what they wrote stays for the group.
    `everything`: what they wrote (contributions with their earlier versions, their pledge,
    their notes on actions they own) goes too; actions they own stay, without an owner.
    """
    assert person.event_id == event.id and event.id is not None
    person = _lock(session, person)
    earlier = erasures_of(session, person)
    if earlier and (
        mode == ErasureMode.name_off or any(e.mode == ErasureMode.everything for e in earlier)
    ):
        return earlier[-1]  # nothing is left that this mode would take
    known = earlier[0].fingerprint if earlier else fingerprint(person)
    work = _Erasing(session, event, person)
    needles = [person.display_name, person.email, person.organisation] if not earlier else []
    pattern = _pattern(needles)
    if mode == ErasureMode.everything:
        _delete_writing(work)
    _stop_mail(work, pattern)
    if not earlier:
        _unname_check_out(work)
        _rename_typed(work, person.display_name, person.email)
        _scrub_audit(work, pattern)
        person.display_name, person.organisation, person.email = ERASED_NAME, "", ""
        person.share_email, person.join_key, person.agenda_printed_at = False, None, None
        # Every browser and personal link that signed in as them is nobody now.
        person.link_version += 1
        session.add(person)
    # The wall, the book and live screens are drawn again; nobody's own seats changed.
    agenda_changed(session, event.id)
    summary = ", ".join(f"{what}: {n}" for what, n in sorted(work.counts.items()))
    erasure = Erasure(
        event_id=event.id,
        participant_id=person.id,
        mode=mode,
        asked_by=asked_by,
        fingerprint=known,
        summary=summary[:1000],
    )
    session.add(erasure)
    session.flush()
    return erasure


def _delete_writing(work: _Erasing) -> None:
    session, pid = work.session, work.pid
    written = list(session.exec(select(Contribution.id).where(Contribution.author_id == pid)))
    if written:
        session.execute(
            ContributionRevision.__table__.delete().where(  # type: ignore[attr-defined]
                col(ContributionRevision.contribution_id).in_(written)
            )
        )
        session.execute(
            Contribution.__table__.delete().where(  # type: ignore[attr-defined]
                col(Contribution.id).in_(written)
            )
        )
        work.counts["contributions deleted"] += len(written)
    pledge = session.exec(select(Pledge).where(Pledge.participant_id == pid)).first()
    if pledge is not None:
        for message in _messages(session, col(MessageCause.pledge_id) == pledge.id):
            outbox.cancel(session, message, "The person's data was erased.")
        session.delete(pledge)
        work.counts["pledges deleted"] += 1
    for answer in session.exec(select(CheckOut).where(CheckOut.participant_id == pid)):
        session.delete(answer)
        work.counts["check-out answers deleted"] += 1
    owned = list(session.exec(select(Action).where(Action.owner_id == pid)))
    for action in owned:
        notes = session.exec(
            select(ActionUpdate).where(
                ActionUpdate.action_id == action.id,
                col(ActionUpdate.via_link).is_(True) | col(ActionUpdate.via_mail).is_(True),
            )
        ).all()
        for note in notes:
            session.delete(note)
            work.counts["updates deleted"] += 1
        # Others may depend on the action: it stays, without an owner, for the group, and
        # the session's convener is told on their pages.
        action.owner_id, action.owner_name = None, ""
        action.link_version += 1
        session.add(action)
        work.counts["actions left without an owner"] += 1
        topic = session.exec(
            select(Topic)
            .join(Report, col(Report.topic_id) == Topic.id)
            .where(Report.id == action.report_id)
        ).one()
        if topic.convener_id != pid:
            signups.tell(session, topic, [topic.convener_id], signups.OWNER_GONE)
    # Notes they wrote in the app, found by their id (also after "take my name off"), and
    # notes from before authors were kept, by their name while it is still theirs.
    name = _plain(work.person.display_name) if work.person.display_name != ERASED_NAME else None
    for note in session.exec(
        select(ActionUpdate)
        .join(Action, col(Action.id) == ActionUpdate.action_id)
        .where(Action.event_id == work.event.id, ActionUpdate.note != "")
    ):
        by_them = note.author_id == pid
        by_name = note.author_id is None and name is not None and _plain(note.written_by) == name
        if by_them or by_name:
            session.delete(note)
            work.counts["updates deleted"] += 1
    session.flush()


def _messages(session: Session, condition: Any) -> list[Message]:
    return list(
        session.exec(
            select(Message)
            .join(MessageCause, col(MessageCause.message_id) == Message.id)
            .where(condition)
            .distinct()
        )
    )


def _theirs(work: _Erasing, table: Any, to_them: Callable[[str], Any]) -> Any:
    """The rows of `table` (mail) about the person: by their id, or in their event to their
    address (`to_them` is given the address in lower case)."""
    if not work.person.email:
        return select(table).where(table.participant_id == work.pid)
    return select(table).where(
        (col(table.participant_id) == work.pid)
        | ((col(table.event_id) == work.event.id) & to_them(work.person.email.lower()))
    )


def _stop_mail(work: _Erasing, pattern: re.Pattern[str] | None) -> None:
    """Cancel what waits to be sent to them, and take their address off every message."""
    session = work.session
    query = _theirs(work, Message, lambda email: func.lower(Message.to_address) == email)
    for message in session.exec(query):
        if message.to_address or message.to_name:
            work.counts["messages"] += 1
        outbox.cancel(session, message, "The person's data was erased.")
        message.to_address, message.to_name = "", ""
        message.subject = _scrubbed(message.subject, pattern)
        message.last_error = _scrubbed(message.last_error, pattern)
        session.add(message)
        for attempt in outbox.attempts(session, message):
            attempt.reply = _scrubbed(attempt.reply, pattern)
            session.add(attempt)
    replies = _theirs(
        work, InboundMail, lambda email: func.lower(InboundMail.sender).contains(email)
    )
    for reply in session.exec(replies):
        session.delete(reply)
        work.counts["replies by e-mail"] += 1
    consents = session.exec(select(MailConsent).where(MailConsent.participant_id == work.pid))
    for consent in consents:
        session.delete(consent)
        work.counts["consents"] += 1


def _unname_check_out(work: _Erasing) -> None:
    """A check-out answer they put their name to stays, as an anonymous one."""
    for answer in work.session.exec(select(CheckOut).where(CheckOut.participant_id == work.pid)):
        answer.participant_id = None
        work.session.add(answer)
        work.counts["check-out answers made anonymous"] += 1


def _rename_typed(work: _Erasing, name: str, email: str) -> None:
    """Their name where someone typed it (an owner, who took part, an initiator, an update)."""
    session, event = work.session, work.event
    wanted = {_plain(name), _plain(email)} - {""}
    by_report = col(Report.id) == Attendance.report_id
    by_action = col(Action.id) == ActionUpdate.action_id
    typed: list[tuple[Any, str]] = [
        (select(Attendance).join(Report, by_report).where(Report.event_id == event.id), "name"),
        (select(Action).where(Action.event_id == event.id), "owner_name"),
        (select(ActionGroup).where(ActionGroup.event_id == event.id), "initiator"),
        (
            select(ActionUpdate).join(Action, by_action).where(Action.event_id == event.id),
            "written_by",
        ),
    ]
    for query, column in typed:
        model = query.column_descriptions[0]["entity"]
        for row in session.exec(query.where(getattr(model, column) != "")):
            if _plain(getattr(row, column)) in wanted:
                setattr(row, column, ERASED_NAME)
                session.add(row)
                work.counts["names typed"] += 1


def _scrub_audit(work: _Erasing, pattern: re.Pattern[str] | None) -> None:
    """The audit log keeps what was done, with their name and address marked erased."""
    if pattern is None:
        return
    session = work.session
    for entry_id, actor, target in session.exec(
        select(AuditEntry.id, AuditEntry.actor, AuditEntry.target).where(
            AuditEntry.event_id == work.event.id
        )
    ):
        new_actor, new_target = _scrubbed(actor, pattern), _scrubbed(target, pattern)
        if (new_actor, new_target) != (actor, target):
            session.execute(
                update(AuditEntry)
                .where(col(AuditEntry.id) == entry_id)
                .values(actor=new_actor[:300], target=new_target[:1000])
            )
            work.counts["audit lines"] += 1


# --- retention ----------------------------------------------------------------------------------


def purge(session: Session, event: Event) -> int:
    """Take every name off the event (retention): each participant as by "take my name off",
    and every name typed by hand. How many people it erased."""
    erased = {
        e for e in session.exec(select(Erasure.participant_id).where(Erasure.event_id == event.id))
    }
    people = list(
        session.exec(
            select(Participant)
            .where(Participant.event_id == event.id)
            .order_by(col(Participant.id))
        )
    )
    done = 0
    for person in people:
        if person.id not in erased:
            erase(session, event, person, ErasureMode.name_off, ErasedBy.retention)
            done += 1
    session.execute(
        update(Action)
        .where(col(Action.event_id) == event.id, col(Action.owner_name) != "")
        .values(owner_name=ERASED_NAME)
    )
    session.execute(
        update(ActionGroup)
        .where(col(ActionGroup.event_id) == event.id, col(ActionGroup.initiator) != "")
        .values(initiator=ERASED_NAME)
    )
    reports = select(Report.id).where(Report.event_id == event.id)
    session.execute(
        update(Attendance)
        .where(col(Attendance.report_id).in_(reports), col(Attendance.name) != "")
        .values(name=ERASED_NAME)
    )
    actions = select(Action.id).where(Action.event_id == event.id)
    session.execute(
        update(ActionUpdate)
        .where(col(ActionUpdate.action_id).in_(actions), col(ActionUpdate.written_by) != "")
        .values(written_by=ERASED_NAME)
    )
    agenda_changed(session, event.id)
    return done


@dataclass(frozen=True)
class Purged:
    event_id: int
    name: str
    people: int


def due_events(session: Session, now: datetime) -> list[tuple[Event, Retention]]:
    """Events whose retention is due by `now` and not yet done."""
    purged = set(
        session.exec(select(EventPrivacy.event_id).where(col(EventPrivacy.purged_at).is_not(None)))
    )
    due = []
    for event in session.exec(select(Event).order_by(col(Event.id))):
        if event.id in purged:
            continue
        plan = retention(session, event)
        if plan.due is not None and plan.due <= now:
            due.append((event, plan))
    return due


def _claim(session: Session, event_id: int, now: datetime) -> bool:
    """Mark the event's retention done in this transaction; False if another got there."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    session.execute(
        insert(EventPrivacy)
        .values(
            event_id=event_id,
            controller="",
            contact="",
            notice="",
            retention_months=RETENTION_MONTHS,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    claimed = session.execute(
        update(EventPrivacy)
        .where(col(EventPrivacy.event_id) == event_id, col(EventPrivacy.purged_at).is_(None))
        .values(purged_at=now)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def purge_due(database: Database, *, dry_run: bool = False) -> list[Purged]:
    """Run retention for every event it is due for (each once, whichever process gets there
    first); with `dry_run`, only say which."""
    now = utcnow()
    with database.read() as session:
        due = [(event.id, event.name) for event, _plan in due_events(session, now)]
    done = []
    for event_id, name in due:
        assert event_id is not None
        if dry_run:
            done.append(Purged(event_id, name, 0))
            continue
        with database.write() as session:
            event = session.get(Event, event_id)
            if event is None or not _claim(session, event_id, now):
                continue
            done.append(Purged(event_id, name, purge(session, event)))
    return done
