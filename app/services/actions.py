"""Actions agreed in a session: their owners, themes and progress, and the lines every list
of actions shows."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import (
    Action,
    ActionGroup,
    ActionStatus,
    ActionTheme,
    ActionUpdate,
    Event,
    Participant,
    Report,
    Slot,
    Space,
    Theme,
    Topic,
)
from app.models.base import utcnow
from app.models.outcomes import ActionForm, ProgressForm
from app.services import mail_causes, policy
from app.services.agenda import agenda_changed
from app.services.convergence import dot_counts
from app.services.errors import NotAllowed, NotFound, Refused
from app.services.marketplace import _themes_of_event, conveners
from app.services.report_writing import _by_key, _mark_present, _open_for_writing, ensure_report
from app.services.rows import add_once


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


def theme_ids(session: Session, action: Action) -> list[int]:
    return list(
        session.exec(select(ActionTheme.theme_id).where(ActionTheme.action_id == action.id))
    )


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
            ActionUpdate(
                action_id=action.id,
                status=data.status,
                written_by=by.display_name,
                author_id=by.id,
            )
        )
    if owner_id != owner_before:
        mail_causes.action_owned(session, event, action)
    agenda_changed(session, event.id)


def post_progress(
    session: Session,
    action: Action,
    data: ProgressForm,
    *,
    via_link: bool,
    written_by: str,
    via_mail: bool = False,
    author_id: int | None = None,
) -> ActionUpdate:
    """Progress on the action: a note and its status now (months later, through its link, or
    by replying to a reminder)."""
    if action.hidden:
        raise Refused(_("This action has been removed by the facilitators."))
    assert action.id is not None
    update_row = ActionUpdate(
        action_id=action.id,
        status=data.status,
        note=data.note,
        written_by=data.by or written_by,
        via_link=via_link,
        via_mail=via_mail,
        author_id=author_id,
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
