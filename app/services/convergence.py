"""Convergence: everyone places their dots on reports and actions; related actions are grouped.

A participant's dots are counted under a lock on their own row, so two taps at once can
never place more dots than they have.
"""

from collections import Counter

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import _, ngettext
from app.models import Action, ActionGroup, Dot, Event, Participant, Report
from app.models.base import utcnow
from app.models.outcomes import GroupForm
from app.services.agenda import agenda_changed
from app.services.errors import NotFound, Refused

DOTS_RANGE = (1, 20)


def open_vote(session: Session, event: Event, is_open: bool, dots: int | None = None) -> None:
    """Open (or close) the dot vote, with how many dots each person has."""
    if dots is not None:
        low, high = DOTS_RANGE
        if not low <= dots <= high:
            raise Refused(
                _("Give each person between %(low)s and %(high)s dots.", low=low, high=high),
                field="dots",
            )
        event.dots_per_person = dots
    event.vote_open = is_open
    session.add(event)
    agenda_changed(session, event.id)


def vote_held(session: Session, event: Event) -> bool:
    """The dot vote has been held: it is closed and dots were placed."""
    if event.vote_open:
        return False
    placed = session.exec(select(Dot.id).where(Dot.event_id == event.id).limit(1)).first()
    return placed is not None


Target = tuple[str, int]  # ("report", id) or ("action", id)


def _target(session: Session, event: Event, kind: str, target_id: int) -> Target:
    row: Report | Action | None = None
    if kind == "report":
        row = session.get(Report, target_id)
    elif kind == "action":
        row = session.get(Action, target_id)
    if row is None or row.event_id != event.id or getattr(row, "hidden", False):
        raise NotFound(_("There is no such report or action to vote on."))
    return kind, target_id


def place_dot(
    session: Session, event: Event, participant: Participant, kind: str, target_id: int
) -> None:
    """Put one of the participant's dots on a report or an action."""
    _target(session, event, kind, target_id)
    if not event.vote_open:
        raise Refused(_("The dot vote is not open."))
    # Lock the voter's row: their dots are counted and placed one request at a time.
    session.exec(select(Participant.id).where(Participant.id == participant.id).with_for_update())
    used = session.exec(
        select(func.count()).select_from(Dot).where(Dot.participant_id == participant.id)
    ).one()
    if used >= event.dots_per_person:
        raise Refused(
            ngettext(
                "You have placed your %(num)d dot. Take it back to place it elsewhere.",
                "You have placed all your %(num)d dots. Take one back to place it elsewhere.",
                event.dots_per_person,
            )
        )
    assert event.id is not None and participant.id is not None
    session.add(
        Dot(
            event_id=event.id,
            participant_id=participant.id,
            report_id=target_id if kind == "report" else None,
            action_id=target_id if kind == "action" else None,
        )
    )
    session.flush()
    agenda_changed(session, event.id)


def take_dot(
    session: Session, event: Event, participant: Participant, kind: str, target_id: int
) -> None:
    """Take back one of the participant's dots from a report or an action."""
    _target(session, event, kind, target_id)
    if not event.vote_open:
        raise Refused(_("The dot vote is not open."))
    column = Dot.report_id if kind == "report" else Dot.action_id
    dot = session.exec(
        select(Dot)
        .where(Dot.participant_id == participant.id, column == target_id)
        .order_by(col(Dot.id).desc())
    ).first()
    if dot is None:
        raise Refused(_("You have no dot there to take back."))
    session.delete(dot)
    agenda_changed(session, event.id)


def my_dots(session: Session, participant: Participant) -> Counter[Target]:
    """Where the participant's dots are."""
    counts: Counter[Target] = Counter()
    for report_id, action_id in session.exec(
        select(Dot.report_id, Dot.action_id).where(Dot.participant_id == participant.id)
    ):
        counts[("report", report_id) if report_id else ("action", action_id or 0)] += 1
    return counts


def dot_counts(session: Session, action_ids: list[int | None]) -> dict[int, int]:
    """Dots per action, of the given actions."""
    return dict(
        session.exec(  # type: ignore[arg-type]
            select(Dot.action_id, func.count())
            .where(col(Dot.action_id).in_(action_ids))
            .group_by(col(Dot.action_id))
        ).all()
    )


def group_actions(
    session: Session, event: Event, action_ids: list[int], data: GroupForm
) -> ActionGroup:
    """Gather related actions under a name and an initiator."""
    actions = [
        a
        for a in session.exec(select(Action).where(col(Action.id).in_(action_ids)))
        if a.event_id == event.id
    ]
    if len(actions) < 1:
        raise Refused(_("Tick the actions that belong together."), field="actions")
    assert event.id is not None
    group = ActionGroup(event_id=event.id, name=data.name, initiator=data.initiator)
    session.add(group)
    session.flush()
    for action in actions:
        action.group_id, action.updated_at = group.id, utcnow()
        session.add(action)
    agenda_changed(session, event.id)
    return group


def ungroup(session: Session, event: Event, group_id: int) -> None:
    """Undo a group: its actions stand on their own again."""
    group = session.get(ActionGroup, group_id)
    if group is None or group.event_id != event.id:
        raise NotFound(_("There is no such group."))
    for action in session.exec(select(Action).where(Action.group_id == group_id)):
        action.group_id, action.updated_at = None, utcnow()
        session.add(action)
    session.delete(group)
    agenda_changed(session, event.id)


def groups(session: Session, event: Event) -> list[ActionGroup]:
    return list(
        session.exec(
            select(ActionGroup)
            .where(ActionGroup.event_id == event.id)
            .order_by(col(ActionGroup.id))
        )
    )
