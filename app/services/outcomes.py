"""Session reports written together, the actions agreed in them, and their follow-up.

Every contribution is its own row with its author and time, so people writing at once never
touch each other's text. An edit names the version it was made on: if someone else's edit
came first, it is refused and the person gets both texts back (nothing is written over), and
every edit keeps what was there before as a revision.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.i18n import _, lazy
from app.models import (
    Action,
    ActionGroup,
    ActionStatus,
    ActionTheme,
    ActionUpdate,
    Attendance,
    Contribution,
    ContributionKind,
    ContributionRevision,
    Event,
    Participant,
    Report,
    SignUp,
    Slot,
    Space,
    Theme,
    Topic,
)
from app.models.base import utcnow
from app.models.event import as_typed
from app.models.outcomes import ActionForm, ContributionCreate, ProgressForm
from app.services import mail_causes, policy
from app.services.agenda import agenda_changed
from app.services.convergence import dot_counts
from app.services.errors import NotAllowed, NotFound, Refused
from app.services.marketplace import _themes_of_event, conveners, topic_of
from app.services.rows import add_once


class EditConflict(Exception):
    """Someone changed the contribution after the editor opened it; nothing was written."""

    def __init__(self, current: Contribution) -> None:
        super().__init__("edited meanwhile")
        self.current = current


# --- reports -------------------------------------------------------------------------------


def session_topic(session: Session, event: Event, topic_id: int) -> Topic:
    """A session of the event (a topic on the wall) whose report can be written."""
    topic = topic_of(session, event, topic_id)
    if topic.hidden:
        raise Refused(_("This session has been taken off the wall."))
    if not topic.placed:
        raise Refused(_("This topic is not on the wall yet, so it has no report."))
    return topic


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


def contribute(
    session: Session,
    event: Event,
    topic: Topic,
    author: Participant,
    data: ContributionCreate,
    write_key: str | None = None,
) -> Contribution:
    """Add to the report; whoever writes to it took part. One form sent twice adds once."""
    _open_for_writing(event)
    report = ensure_report(session, topic)
    assert report.id is not None
    row = Contribution(
        report_id=report.id,
        author_id=author.id,
        kind=data.kind,
        body=data.body,
        write_key=write_key,
    )
    kept, new = add_once(session, row, lambda: _by_key(session, Contribution, report, write_key))
    if new:
        _mark_present(session, report, author.id, author.id)
        agenda_changed(session, event.id)
    return kept


Written = TypeVar("Written", Contribution, Action)


def _by_key(
    session: Session, table: type[Written], report: Report, write_key: str | None
) -> Written | None:
    if not write_key:
        return None
    return session.exec(
        select(table).where(table.report_id == report.id, table.write_key == write_key)
    ).first()


def contribution_in(session: Session, event: Event, contribution_id: int) -> Contribution:
    found = session.exec(
        select(Contribution)
        .join(Report, col(Report.id) == Contribution.report_id)
        .where(Contribution.id == contribution_id, Report.event_id == event.id)
    ).first()
    if found is None:
        raise NotFound(_("There is no such contribution."))
    return found


def edit_contribution(
    session: Session,
    event: Event,
    contribution_id: int,
    editor: Participant,
    body: str,
    version: int,
) -> Contribution:
    """Change one's own contribution, if nobody changed it since `version` was read."""
    _open_for_writing(event)
    current = contribution_in(session, event, contribution_id)
    if current.author_id != editor.id:
        raise Refused(_("You can only edit what you wrote yourself."))
    if current.hidden:
        raise Refused(_("A facilitator has hidden this contribution."))
    if current.version != version:
        raise EditConflict(current)
    # The text this edit replaces, kept as a revision if the edit goes through: the update
    # below only changes the row if nobody else has changed it since it was read.
    replaced = ContributionRevision(
        contribution_id=contribution_id,
        version=version,
        body=current.body,
        written_at=current.edited_at or current.created_at,
    )
    changed = session.execute(
        update(Contribution)
        .where(col(Contribution.id) == contribution_id, col(Contribution.version) == version)
        .values(body=body, version=Contribution.version + 1, edited_at=utcnow())
    )
    session.expire(current)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise EditConflict(session.get_one(Contribution, contribution_id))
    session.add(replaced)
    agenda_changed(session, event.id)
    return session.get_one(Contribution, contribution_id)


def history(session: Session, contribution: Contribution) -> list[ContributionRevision]:
    """Earlier texts of a contribution, newest first."""
    return list(
        session.exec(
            select(ContributionRevision)
            .where(ContributionRevision.contribution_id == contribution.id)
            .order_by(col(ContributionRevision.version).desc())
        )
    )


def withdraw_contribution(
    session: Session, event: Event, contribution_id: int, author: Participant, withdrawn: bool
) -> Contribution:
    """The author takes back what they wrote (its earlier versions go with it from every
    page and export), or puts it back."""
    _open_for_writing(event)
    current = contribution_in(session, event, contribution_id)
    policy.check_may_withdraw(policy.participant(author), current)
    current.withdrawn = current.hidden = withdrawn
    session.add(current)
    agenda_changed(session, event.id)
    return current


def hide(session: Session, event: Event, row: Contribution | Action, hidden: bool) -> None:
    """A facilitator hides (or shows again) any contribution or action; what its author took
    back stays theirs to put back."""
    if isinstance(row, Contribution) and row.withdrawn:
        raise Refused(_("Its author took this back; only they can put it back."))
    row.hidden = hidden
    session.add(row)
    agenda_changed(session, event.id)


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


# --- reading a report ----------------------------------------------------------------------


@dataclass
class Entry:
    contribution: Contribution
    author: str
    edits: int = 0


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


@dataclass
class ActionLine:
    action: Action
    owner: str
    report_title: str = ""
    themes: list[str] = field(default_factory=list)
    group: str = ""
    dots: int = 0
    last_update: ActionUpdate | None = None
    topic: Topic | None = None
    slot: Slot | None = None
    space: Space | None = None


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


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(
        select(Participant.id, Participant.display_name).where(col(Participant.id).in_(ids))
    )
    return {pid: name for pid, name in rows if pid is not None}


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


def theme_ids(session: Session, action: Action) -> list[int]:
    return list(
        session.exec(select(ActionTheme.theme_id).where(ActionTheme.action_id == action.id))
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


# --- actions -------------------------------------------------------------------------------


def add_action(
    session: Session,
    event: Event,
    topic: Topic,
    by: Participant,
    data: ActionForm,
    *,
    owner_id: int | None = None,
    theme_ids: list[int] | None = None,
    write_key: str | None = None,
) -> Action:
    """Record an action agreed in the session. One form sent twice adds once."""
    _open_for_writing(event)
    assert event.id is not None
    owner_id = _owner(session, event, owner_id, data.owner_name)
    report = ensure_report(session, topic)
    assert report.id is not None
    row = Action(
        event_id=event.id,
        report_id=report.id,
        title=data.title,
        first_step=data.first_step,
        due_on=data.due_on,
        owner_id=owner_id,
        owner_name="" if owner_id else data.owner_name,
        status=data.status,
        created_by_id=by.id,
        write_key=write_key,
    )
    action, new = add_once(session, row, lambda: _by_key(session, Action, report, write_key))
    if new:
        assert action.id is not None
        _set_themes(session, event, action.id, theme_ids or [])
        _mark_present(session, report, by.id, by.id)
        agenda_changed(session, event.id)
        mail_causes.action_owned(session, event, action)
    return action


def _owner(session: Session, event: Event, owner_id: int | None, owner_name: str) -> int | None:
    if owner_id is not None:
        person = session.get(Participant, owner_id)
        if person is None or person.event_id != event.id:
            raise Refused(_("Choose the owner from the list, or type a name."), field="owner")
        return owner_id
    if not owner_name:
        raise Refused(_("Who will do it? Choose a person or type a name."), field="owner")
    return None


def _set_themes(session: Session, event: Event, action_id: int, theme_ids: list[int]) -> None:
    for row in session.exec(select(ActionTheme).where(ActionTheme.action_id == action_id)):
        session.delete(row)
    session.flush()
    for theme_id in _themes_of_event(session, event, theme_ids):
        session.add(ActionTheme(action_id=action_id, theme_id=theme_id))


def action_in(session: Session, event: Event, action_id: int) -> Action:
    action = session.get(Action, action_id)
    if action is None or action.event_id != event.id:
        raise NotFound(_("There is no such action."))
    return action


def may_change(session: Session, action: Action, participant: Participant) -> bool:
    """Whether the participant may change the action (the rule is policy.may_change_action)."""
    report = session.get_one(Report, action.report_id)
    topic = session.get_one(Topic, report.topic_id)
    return policy.may_change_action(
        policy.participant(participant), action, frozenset(conveners(session, topic))
    )


def check_may_change(session: Session, action: Action, participant: Participant) -> None:
    if not may_change(session, action, participant):
        raise NotAllowed(
            _("Only who wrote the action, its owner and the session's conveners can change it.")
        )


def edit_action(
    session: Session,
    event: Event,
    action: Action,
    by: Participant,
    data: ActionForm,
    *,
    owner_id: int | None = None,
    theme_ids: list[int] | None = None,
) -> None:
    _open_for_writing(event)
    check_may_change(session, action, by)
    owner_id = _owner(session, event, owner_id, data.owner_name)
    status_before, owner_before = action.status, action.owner_id
    action.title, action.first_step, action.due_on = data.title, data.first_step, data.due_on
    action.owner_id, action.owner_name = owner_id, "" if owner_id else data.owner_name
    action.status, action.updated_at = data.status, utcnow()
    session.add(action)
    assert action.id is not None
    _set_themes(session, event, action.id, theme_ids or [])
    if status_before != data.status:
        session.add(
            ActionUpdate(action_id=action.id, status=data.status, written_by=by.display_name)
        )
    if owner_id != owner_before:
        mail_causes.action_owned(session, event, action)
    agenda_changed(session, event.id)


def post_progress(
    session: Session, action: Action, data: ProgressForm, *, via_link: bool, written_by: str
) -> ActionUpdate:
    """Progress on the action: a note and its status now (months later, through its link)."""
    if action.hidden:
        raise Refused(_("This action has been removed by the facilitators."))
    assert action.id is not None
    update_row = ActionUpdate(
        action_id=action.id,
        status=data.status,
        note=data.note,
        written_by=data.by or written_by,
        via_link=via_link,
    )
    session.add(update_row)
    action.status, action.updated_at = data.status, utcnow()
    session.add(action)
    session.flush()
    agenda_changed(session, action.event_id)
    return update_row


def progress(session: Session, action: Action) -> list[ActionUpdate]:
    """The action's updates, newest first."""
    return list(
        session.exec(
            select(ActionUpdate)
            .where(ActionUpdate.action_id == action.id)
            .order_by(col(ActionUpdate.id).desc())
        )
    )


def renew_link(session: Session, action: Action) -> None:
    """Revoke the action's update link; a new one replaces it."""
    action.link_version += 1
    session.add(action)


def action_from_link(session: Session, values: list[int] | None) -> Action | None:
    """The action an update link names, if the link is still its current one."""
    if not values or len(values) != 2:
        return None
    action = session.get(Action, values[0])
    if action is None or action.link_version != values[1]:
        return None
    return action


def action_lines(
    session: Session,
    event: Event | None = None,
    *,
    report_id: int | None = None,
    action_id: int | None = None,
    event_ids: list[int] | None = None,
    owner_id: int | None = None,
    written_by: int | None = None,
    with_hidden: bool = False,
) -> list[ActionLine]:
    """Actions with their owner, themes, group, dots and latest update, in a few queries."""
    query = (
        sa_select(Action, col(Participant.display_name), Topic, col(ActionGroup.name), Slot, Space)
        .join(Report, col(Report.id) == Action.report_id)
        .join(Topic, col(Topic.id) == Report.topic_id)
        .join(Participant, col(Participant.id) == Action.owner_id, isouter=True)
        .join(ActionGroup, col(ActionGroup.id) == Action.group_id, isouter=True)
        .join(Slot, col(Slot.id) == Topic.slot_id, isouter=True)
        .join(Space, col(Space.id) == Topic.space_id, isouter=True)
        .order_by(col(Action.event_id), col(Action.id))
    )
    if event is not None:
        query = query.where(col(Action.event_id) == event.id)
    if event_ids is not None:
        query = query.where(col(Action.event_id).in_(event_ids))
    if report_id is not None:
        query = query.where(col(Action.report_id) == report_id)
    if action_id is not None:
        query = query.where(col(Action.id) == action_id)
    if owner_id is not None:
        query = query.where(col(Action.owner_id) == owner_id)
    if written_by is not None:
        query = query.where(
            col(Action.created_by_id) == written_by,
            or_(col(Action.owner_id).is_(None), col(Action.owner_id) != written_by),
        )
    if not with_hidden:
        query = query.where(col(Action.hidden).is_(False))
    rows = session.execute(query).all()
    ids = [row[0].id for row in rows]
    themes: dict[int, list[str]] = defaultdict(list)
    dots: dict[int, int] = {}
    latest: dict[int, ActionUpdate] = {}
    if ids:
        for action_id, name in session.exec(
            select(ActionTheme.action_id, Theme.name)
            .join(Theme, col(Theme.id) == ActionTheme.theme_id)
            .where(col(ActionTheme.action_id).in_(ids))
            .order_by(col(Theme.position), col(Theme.id))
        ):
            themes[action_id].append(name)
        dots = dot_counts(session, ids)
        for row in session.exec(
            select(ActionUpdate)
            .where(col(ActionUpdate.action_id).in_(ids))
            .order_by(col(ActionUpdate.id))
        ):
            latest[row.action_id] = row
    return [
        ActionLine(
            action,
            owner or action.owner_name,
            topic.title,
            themes[action.id or 0],
            group or "",
            dots.get(action.id or 0, 0),
            latest.get(action.id or 0),
            topic=topic,
            slot=slot,
            space=space,
        )
        for action, owner, topic, group, slot, space in rows
    ]


def action_line(session: Session, action: Action) -> ActionLine:
    """One action as lists show it (hidden or not)."""
    [line] = action_lines(session, action_id=action.id, with_hidden=True)
    return line


STATUS_ORDER = list(ActionStatus)


def status_counts(lines: list[ActionLine]) -> dict[ActionStatus, int]:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for line in lines:
        counts[ActionStatus(line.action.status)] += 1
    return counts


def overdue(line: ActionLine, today: datetime) -> bool:
    action = line.action
    return (
        action.due_on is not None
        and action.due_on < today.date()
        and action.status not in (ActionStatus.done, ActionStatus.dropped)
    )


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
