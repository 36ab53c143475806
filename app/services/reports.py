"""Session reports read whole: the report page, marking a report complete, the event's
sessions with their reports, and the news wall."""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import (
    Action,
    Attendance,
    Contribution,
    ContributionKind,
    ContributionRevision,
    Event,
    Participant,
    Report,
    Slot,
    Space,
    Topic,
)
from app.models.base import utcnow
from app.services import policy
from app.services.actions import ActionLine, action_lines
from app.services.agenda import agenda_changed
from app.services.errors import Refused
from app.services.marketplace import conveners, topic_of
from app.services.report_writing import ensure_report, find_report
from app.services.taking_part import Change, Person, _changes, _corrections, _names, _people, roll


def session_topic(session: Session, event: Event, topic_id: int) -> Topic:
    """A session of the event (a topic on the wall) whose report can be written."""
    topic = topic_of(session, event, topic_id)
    if topic.hidden:
        raise Refused(_("This session has been taken off the wall."))
    if not topic.placed:
        raise Refused(_("This topic is not on the wall yet, so it has no report."))
    return topic


def complete_report(
    session: Session, event: Event, topic: Topic, convener: Participant, done: bool
) -> None:
    """The convener marks the report complete (it stays open for additions) or not yet."""
    if convener.id not in conveners(session, topic):
        raise Refused(_("Only the session's conveners can mark its report complete."))
    report = ensure_report(session, topic)
    report.completed_at = utcnow() if done else None
    report.completed_by_id = convener.id if done else None
    session.add(report)
    agenda_changed(session, event.id)


@dataclass
class Entry:
    contribution: Contribution
    author: str
    edits: int = 0


@dataclass
class ReportView:
    topic: Topic
    report: Report | None
    slot: Slot | None
    space: Space | None
    conveners: list[int]
    convener_names: list[str]
    entries: dict[ContributionKind, list[Entry]]
    people: list[Person]
    actions: list[ActionLine]
    hidden_count: int = 0
    roll: policy.Roll = field(default_factory=lambda: policy.Roll(frozenset(), frozenset()))
    changes: list[Change] = field(default_factory=list)

    def may_take_off(self, participant: Participant, whom: Person) -> bool:
        who = policy.participant(participant)
        return policy.may_take_off(who, whom.participant_id, self.roll, typed_by=whom.typed_by)

    def may_add(self, participant: Participant, whom: int | None = None) -> bool:
        return policy.may_add(policy.participant(participant), whom, self.roll)

    @property
    def complete(self) -> bool:
        return self.report is not None and self.report.completed_at is not None

    @property
    def taking_part(self) -> set[int]:
        return {p.participant_id for p in self.people if p.participant_id is not None}


def report_view(
    session: Session, event: Event, topic: Topic, *, with_hidden: bool = False
) -> ReportView:
    """Everything the report page shows, in a handful of queries."""
    report = find_report(session, topic)
    contributions: list[Contribution] = []
    corrections: list[Attendance] = []
    edits: dict[int, int] = {}
    if report is not None:
        contributions = list(
            session.exec(
                select(Contribution)
                .where(Contribution.report_id == report.id)
                .order_by(col(Contribution.id))
            )
        )
        corrections = _corrections(session, report)
        edits = dict(
            session.exec(
                select(ContributionRevision.contribution_id, func.count())
                .join(Contribution, col(Contribution.id) == ContributionRevision.contribution_id)
                .where(Contribution.report_id == report.id)
                .group_by(col(ContributionRevision.contribution_id))
            ).all()
        )
    convener_ids = conveners(session, topic)
    authors = {c.author_id for c in contributions if c.author_id is not None}
    changers = {
        pid for row in corrections for pid in (row.participant_id, row.changed_by_id) if pid
    }
    names = _names(session, authors | changers | set(convener_ids))
    people = _people(session, topic, corrections)
    entries: dict[ContributionKind, list[Entry]] = {kind: [] for kind in ContributionKind}
    hidden = 0
    for c in contributions:
        if c.hidden:
            hidden += 1
            if not with_hidden:
                continue
        author = names.get(c.author_id or 0) or _("Someone who has left")
        entries[ContributionKind(c.kind)].append(Entry(c, author, edits.get(c.id or 0, 0)))
    actions = (
        action_lines(session, event, report_id=report.id, with_hidden=with_hidden)
        if report is not None
        else []
    )
    return ReportView(
        topic=topic,
        report=report,
        slot=session.get(Slot, topic.slot_id) if topic.slot_id else None,
        space=session.get(Space, topic.space_id) if topic.space_id else None,
        conveners=convener_ids,
        convener_names=[names.get(pid, "?") for pid in convener_ids],
        entries=entries,
        people=people,
        actions=actions,
        hidden_count=hidden,
        roll=roll(session, topic, corrections),
        changes=_changes(corrections, names),
    )


@dataclass
class SessionLine:
    topic: Topic
    slot: Slot
    space: Space
    report: Report | None
    contributions: int
    actions: int


def sessions(session: Session, event: Event) -> list[SessionLine]:
    """Every session of the event with how far its report has got, in time order."""
    rows = session.exec(
        select(Topic, Slot, Space, Report)
        .join(Slot, col(Slot.id) == Topic.slot_id)
        .join(Space, col(Space.id) == Topic.space_id)
        .join(Report, col(Report.topic_id) == Topic.id, isouter=True)
        .where(Topic.event_id == event.id, col(Topic.hidden).is_(False))
        .order_by(col(Slot.starts_at), col(Space.position), col(Space.id))
    ).all()
    report_ids = [r.id for _, _, _, r in rows if r is not None]
    counts = _count_by_report(session, Contribution, report_ids)
    action_counts = _count_by_report(session, Action, report_ids)
    return [
        SessionLine(
            topic,
            slot,
            space,
            report,
            counts.get(report.id or 0, 0) if report else 0,
            action_counts.get(report.id or 0, 0) if report else 0,
        )
        for topic, slot, space, report in rows
    ]


def _count_by_report(
    session: Session, table: type[Contribution] | type[Action], report_ids: list[int | None]
) -> dict[int, int]:
    if not report_ids:
        return {}
    return dict(
        session.exec(
            select(table.report_id, func.count())
            .where(col(table.report_id).in_(report_ids), col(table.hidden).is_(False))
            .group_by(col(table.report_id))
        ).all()
    )


@dataclass
class NewsItem:
    topic: Topic
    report: Report
    key_points: list[str]
    actions: int


def news(session: Session, event: Event, limit: int = 12) -> list[NewsItem]:
    """Completed reports, the newest first, with their key points (the news wall)."""
    rows = session.exec(
        select(Report, Topic)
        .join(Topic, col(Topic.id) == Report.topic_id)
        .where(
            Report.event_id == event.id,
            col(Report.completed_at).is_not(None),
            col(Topic.hidden).is_(False),
        )
        .order_by(col(Report.completed_at).desc())
        .limit(limit)
    ).all()
    ids = [report.id for report, _ in rows]
    points: dict[int, list[str]] = defaultdict(list)
    if ids:
        for report_id, body in session.exec(
            select(Contribution.report_id, Contribution.body)
            .where(
                col(Contribution.report_id).in_(ids),
                Contribution.kind == ContributionKind.key_point,
                col(Contribution.hidden).is_(False),
            )
            .order_by(col(Contribution.id))
        ):
            points[report_id].append(body)
    actions = _count_by_report(session, Action, list(ids))
    return [
        NewsItem(topic, report, points[report.id or 0], actions.get(report.id or 0, 0))
        for report, topic in rows
    ]


def report_states(session: Session, event: Event) -> dict[int, tuple[object, ...]]:
    """Per session (topic id), a summary that changes whenever anything in its report does:
    live report pages compare it to know when to fetch themselves again."""
    reports = session.exec(
        select(Report.id, Report.topic_id, Report.completed_at).where(Report.event_id == event.id)
    ).all()
    if not reports:
        return {}
    ids = [report_id for report_id, _, _ in reports]
    written = _by_report(
        session,
        sa_select(
            col(Contribution.report_id),
            func.count(),
            func.max(col(Contribution.id)),
            func.sum(col(Contribution.version)),
            func.count().filter(col(Contribution.hidden).is_(True)),
        ).where(col(Contribution.report_id).in_(ids)),
    )
    agreed = _by_report(
        session,
        sa_select(
            col(Action.report_id),
            func.count(),
            func.max(col(Action.updated_at)),
            func.count().filter(col(Action.hidden).is_(True)),
        ).where(col(Action.report_id).in_(ids)),
    )
    present = _by_report(
        session,
        sa_select(
            col(Attendance.report_id), func.count(), func.max(col(Attendance.changed_at))
        ).where(col(Attendance.report_id).in_(ids)),
    )
    return {
        topic_id: (completed, *(part.get(rid or 0) for part in (written, agreed, present)))
        for rid, topic_id, completed in reports
    }


def _by_report(session: Session, query: Any) -> dict[int, tuple[object, ...]]:
    rows = session.execute(query.group_by(query.selected_columns[0])).all()
    return {row[0]: tuple(row[1:]) for row in rows}
