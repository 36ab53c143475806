"""Who took part in a session: those signed up, as the people there corrected it on its
report."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.i18n import _, lazy
from app.models import Attendance, Event, Participant, Report, SignUp, Topic
from app.models.base import utcnow
from app.models.event import as_typed
from app.services import policy
from app.services.agenda import agenda_changed
from app.services.errors import Refused
from app.services.marketplace import conveners
from app.services.report_writing import _open_for_writing, ensure_report, find_report


def _corrections(session: Session, report: Report | None) -> list[Attendance]:
    if report is None:
        return []
    return list(
        session.exec(
            select(Attendance).where(Attendance.report_id == report.id).order_by(col(Attendance.id))
        )
    )


def roll(session: Session, topic: Topic, corrections: list[Attendance]) -> policy.Roll:
    """The session's list of who took part and its conveners, as the policy sees them."""
    signed = set(session.exec(select(SignUp.participant_id).where(SignUp.topic_id == topic.id)))
    return policy.Roll(
        conveners=frozenset(conveners(session, topic)),
        taking_part=frozenset(taking_part_ids(signed, corrections)),
    )


def _changed(row: Attendance, by: policy.Asker, present: bool) -> None:
    row.present, row.changed_at = present, utcnow()
    row.changed_by_facilitator = by.facilitator
    row.changed_by_id = by.participant_id


ADD_RULE = lazy("Only someone who took part can add people to this list.")


TAKE_OFF_RULE = lazy(
    "Only the person themselves, the session's conveners and the facilitators "
    "can take someone off this list."
)


def set_taking_part(
    session: Session,
    event: Event,
    topic: Topic,
    by: policy.Asker,
    *,
    participant_id: int | None = None,
    attendance_id: int | None = None,
    name: str = "",
    present: bool = True,
) -> Attendance:
    """Correct who took part: add a participant or a typed name, take someone off the list,
    or put them back (a name typed by hand is named by its `attendance_id`)."""
    _open_for_writing(event)
    report = ensure_report(session, topic)
    assert report.id is not None
    corrections = _corrections(session, report)
    if participant_id is not None:
        person = session.get(Participant, participant_id)
        if person is None or person.event_id != event.id:
            raise Refused(_("There is no such participant."))
        row = next((r for r in corrections if r.participant_id == participant_id), None)
        typed_by = None
    elif attendance_id is not None:
        row = next((r for r in corrections if r.id == attendance_id and r.name), None)
        if row is None:  # named by the form: taken off meanwhile
            raise Refused(_("There is no such person on this list."))
        typed_by = row.changed_by_id if row.present else None
    else:
        row, typed_by = None, None
    allowed = (
        policy.may_add(by, participant_id, roll(session, topic, corrections))
        if present
        else policy.may_take_off(
            by, participant_id, roll(session, topic, corrections), typed_by=typed_by
        )
    )
    if not allowed:
        raise Refused(str(ADD_RULE if present else TAKE_OFF_RULE))
    if row is None and participant_id is not None:
        row = Attendance(report_id=report.id, participant_id=participant_id)
    elif row is None:
        name = as_typed(name).strip()
        if not name:
            raise Refused(_("Please type the person's name."), field="name")
        if len(name) > 120:
            raise Refused(_("Please keep the name to 120 characters or fewer."), field="name")
        row = Attendance(report_id=report.id, name=name)
    _changed(row, by, present)
    session.add(row)
    session.flush()
    agenda_changed(session, event.id)
    return row


@dataclass
class Person:
    name: str
    participant_id: int | None
    attendance_id: int | None = None  # for a name added by hand
    typed_by: int | None = None  # who typed that name


@dataclass
class Change:
    """A change to who took part, as the report shows it: whose, by whom, when."""

    row: Attendance
    name: str
    by: str  # empty when it was the person themselves

    @property
    def key(self) -> str:
        return f"p{self.row.participant_id}" if self.row.participant_id else f"a{self.row.id}"


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(
        select(Participant.id, Participant.display_name).where(col(Participant.id).in_(ids))
    )
    return {pid: name for pid, name in rows if pid is not None}


def _changes(corrections: list[Attendance], names: dict[int, str]) -> list[Change]:
    """The corrections to who took part, newest first, with who made them."""
    changes = []
    for row in sorted(corrections, key=lambda r: (r.changed_at, r.id or 0), reverse=True):
        if row.changed_by_facilitator:
            by = _("a facilitator")
        elif row.changed_by_id is not None and row.changed_by_id == row.participant_id:
            by = ""
        elif row.changed_by_id is not None:
            by = names.get(row.changed_by_id) or _("Someone who has left")
        else:
            continue  # a row from before changes were recorded, or its author erased
        name = names.get(row.participant_id or 0, "?") if row.participant_id else row.name
        changes.append(Change(row, name, by))
    return changes


def _people(session: Session, topic: Topic, corrections: list[Attendance]) -> list[Person]:
    """Who took part: the sign-ups, with the corrections made on the report."""
    ids = taking_part_ids(
        set(session.exec(select(SignUp.participant_id).where(SignUp.topic_id == topic.id))),
        corrections,
    )
    return who_took_part(ids, corrections, _names(session, ids))


def taking_part_ids(signed_up: set[int], corrections: list[Attendance]) -> set[int]:
    """The participants who took part: those signed up, corrected on the report."""
    ids = set(signed_up)
    for row in corrections:
        if row.participant_id is not None:
            (ids.add if row.present else ids.discard)(row.participant_id)
    return ids


def who_took_part(
    ids: set[int], corrections: list[Attendance], names: dict[int, str]
) -> list[Person]:
    """The participants by name, then the names added by hand."""
    people = sorted(
        (Person(names.get(pid, "?"), pid) for pid in ids), key=lambda p: p.name.casefold()
    )
    return people + [
        Person(row.name, None, row.id, row.changed_by_id)
        for row in corrections
        if row.participant_id is None and row.present
    ]


def people(session: Session, topic: Topic) -> list[Person]:
    """Who took part in the session (participants and names added by hand)."""
    return _people(session, topic, _corrections(session, find_report(session, topic)))


def my_session_ids(session: Session, participant: Participant) -> set[int]:
    """The sessions the participant signed up to, convenes, or took part in."""
    signed = select(SignUp.topic_id).where(SignUp.participant_id == participant.id)
    convened = select(Topic.id).where(Topic.convener_id == participant.id)
    attended = (
        select(Report.topic_id)
        .join(Attendance, col(Attendance.report_id) == Report.id)
        .where(Attendance.participant_id == participant.id, col(Attendance.present).is_(True))
    )
    return {
        topic_id
        for query in (signed, convened, attended)
        for topic_id in session.exec(query)
        if topic_id is not None
    }
