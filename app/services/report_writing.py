"""What every write to a session's report shares: the first write makes the report, writing
stops when the event closes, one form sent twice adds once, and whoever writes took part."""

from typing import TypeVar

from sqlmodel import Session, select

from app.i18n import _
from app.models import Action, Attendance, Contribution, Event, Report, Topic
from app.models.base import utcnow
from app.services.errors import Refused
from app.services.rows import add_once


def find_report(session: Session, topic: Topic) -> Report | None:
    return session.exec(select(Report).where(Report.topic_id == topic.id)).first()


def ensure_report(session: Session, topic: Topic) -> Report:
    """The topic's report, made on the first write (two first writers make one report)."""
    assert topic.id is not None
    report, _new = add_once(
        session,
        Report(event_id=topic.event_id, topic_id=topic.id),
        lambda: find_report(session, topic),
    )
    return report


def _open_for_writing(event: Event) -> None:
    if event.closed_at is not None:
        raise Refused(_("The event is closed: reports can no longer be changed here."))


Written = TypeVar("Written", Contribution, Action)


def _by_key(
    session: Session, table: type[Written], report: Report, write_key: str | None
) -> Written | None:
    if not write_key:
        return None
    return session.exec(
        select(table).where(table.report_id == report.id, table.write_key == write_key)
    ).first()


def _attendance(session: Session, report: Report, participant_id: int) -> Attendance | None:
    return session.exec(
        select(Attendance).where(
            Attendance.report_id == report.id, Attendance.participant_id == participant_id
        )
    ).first()


def _mark_present(
    session: Session, report: Report, participant_id: int | None, by: int | None
) -> None:
    assert report.id is not None and participant_id is not None
    row, new = add_once(
        session,
        Attendance(report_id=report.id, participant_id=participant_id, changed_by_id=by),
        lambda: _attendance(session, report, participant_id),
    )
    if not new and not row.present:
        row.present, row.changed_by_id, row.changed_at = True, by, utcnow()
        row.changed_by_facilitator = False
        session.add(row)
