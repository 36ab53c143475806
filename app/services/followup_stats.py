"""What became of an event, in numbers: actions over time, by theme, late and quiet ones,
pledges answered, and sessions by who came and how much they wrote (the follow-up dashboard).

Every figure comes from rows the app already keeps: an action's status over time is read
from its updates (each status change writes one), never from tracking anybody.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app import i18n
from app.i18n import _, ngettext
from app.models import (
    ActionStatus,
    ActionTheme,
    ActionUpdate,
    Attendance,
    Contribution,
    Event,
    Pledge,
    Report,
    SignUp,
    Theme,
    Topic,
)
from app.models.base import utcnow
from app.services import actions as action_service
from app.services import reports
from app.services.actions import ActionLine
from app.services.pledges import months_after
from app.services.taking_part import taking_part_ids

# An open action nobody has touched for this long is "stale": the digest and the dashboard
# name it, so someone asks its owner.
STALE_AFTER = timedelta(days=60)
# Up to this many days after the day the burn-down has a point a week; later, one a month.
WEEKLY_UNTIL = 70
CLOSED = (ActionStatus.done, ActionStatus.dropped)


class Tally:
    """The three ways an action can stand, as the charts group them."""

    open = "open"
    done = "done"
    dropped = "dropped"
    ALL = (open, done, dropped)


def _tally_names() -> list[str]:
    return [_("Open"), _("Done"), _("Dropped")]


def _tally_of(status: str) -> str:
    if status == ActionStatus.done:
        return Tally.done
    if status == ActionStatus.dropped:
        return Tally.dropped
    return Tally.open


@dataclass
class Figure:
    """One chart's numbers: what it shows, a sentence that says it, and the table of it."""

    key: str
    title: str
    summary: str
    # The series' names (the table's columns after the first).
    columns: list[str]
    # One row per label (a date, a theme, a session): one number per column.
    rows: list[tuple[str, list[int]]]
    # "time": the rows follow each other in time (a stacked area); "bars": stacked bars side
    # by side; "grouped": a bar per column (counts that overlap, so they do not add up).
    kind: str = "bars"
    # What the first column of the table is.
    label: str = ""
    # The table's last row, when its rows add up to a whole (the events side by side).
    totals: list[int] | None = None

    @property
    def empty(self) -> bool:
        return not any(any(values) for _label, values in self.rows)


@dataclass
class Answer:
    """A pledge, and what its author said months later."""

    text: str
    answer: str
    answered_at: datetime | None


@dataclass
class Dashboard:
    """The follow-up dashboard of one event, as at `now`."""

    event: Event
    now: datetime
    total: int
    counts: dict[ActionStatus, int]
    figures: list[Figure]
    overdue: list[ActionLine]
    stale: list[ActionLine]
    answers: list[Answer] = field(default_factory=list)
    pledges: int = 0


def dashboard(session: Session, event: Event) -> Dashboard:
    """Everything the follow-up dashboard shows of the event, as at the app's clock."""
    now = utcnow()
    lines = action_service.action_lines(session, event)
    today = now.astimezone(event.zone).date()
    pledges = list(
        session.exec(select(Pledge).where(Pledge.event_id == event.id).order_by(col(Pledge.id)))
    )
    return Dashboard(
        event=event,
        now=now,
        total=len(lines),
        counts=action_service.status_counts(lines),
        figures=[
            burn_down(session, event, lines, now),
            by_theme(session, event, lines),
            pledges_answered(pledges),
            *sessions(session, event),
        ],
        overdue=[line for line in lines if _overdue(line, today)],
        stale=[line for line in lines if _stale(line, now)],
        answers=[
            Answer(p.text, p.answer, p.answered_at)
            for p in sorted(pledges, key=lambda p: p.answered_at or now, reverse=True)
            if p.answer
        ],
        pledges=len(pledges),
    )


def _overdue(line: ActionLine, today: date) -> bool:
    action = line.action
    return action.due_on is not None and action.due_on < today and action.status not in CLOSED


def last_touched(line: ActionLine) -> datetime:
    """When anyone last did something to the action: its last update, or its writing."""
    return line.last_update.created_at if line.last_update else line.action.created_at


def _stale(line: ActionLine, now: datetime) -> bool:
    return line.action.status not in CLOSED and now - last_touched(line) >= STALE_AFTER


# --- actions over time ----------------------------------------------------------------------


def points(first: date, last: date) -> list[date]:
    """The days the burn-down counts at: from the day, weekly (or monthly, over a longer
    span) up to `last`, which is always the last point."""
    if last <= first:
        return [first]
    found = [first]
    if (last - first).days <= WEEKLY_UNTIL:
        step = first + timedelta(days=7)
        while step < last:
            found.append(step)
            step += timedelta(days=7)
    else:
        months = 1
        while (step := months_after(first, months)) < last:
            found.append(step)
            months += 1
    return [*found, last]


def _history(session: Session, ids: list[int]) -> dict[int, list[ActionUpdate]]:
    found: dict[int, list[ActionUpdate]] = defaultdict(list)
    if ids:
        for row in session.exec(
            select(ActionUpdate)
            .where(col(ActionUpdate.action_id).in_(ids))
            .order_by(col(ActionUpdate.created_at), col(ActionUpdate.id))
        ):
            found[row.action_id].append(row)
    return found


def _status_at(current: str, history: list[ActionUpdate], moment: datetime) -> str:
    """The action's status at `moment`: that of the last update made by then. Before its first
    update an action was open (it was written on the day as proposed, agreed or under way);
    one never updated has always had the status it has."""
    if not history:
        return current
    status = ActionStatus.agreed.value
    for row in history:
        if row.created_at > moment:
            break
        status = row.status
    return status


def burn_down(session: Session, event: Event, lines: list[ActionLine], now: datetime) -> Figure:
    """How many actions were open, done and dropped at each point from the day to now."""
    today = now.astimezone(event.zone).date()
    history = _history(session, [line.action.id for line in lines if line.action.id])
    rows = []
    for day in points(event.starts_on, max(today, event.starts_on)):
        # The end of the day at the venue (now, for today).
        moment = min(datetime.combine(day + timedelta(days=1), time(), tzinfo=event.zone), now)
        counted = dict.fromkeys(Tally.ALL, 0)
        for line in lines:
            action = line.action
            if action.created_at <= moment:
                status = _status_at(action.status, history[action.id or 0], moment)
                counted[_tally_of(status)] += 1
        rows.append((i18n.when(day, None, "medium"), [counted[t] for t in Tally.ALL]))
    return over_time_figure("burn-down", _("Actions from the day to now"), rows)


def over_time_figure(key: str, title: str, rows: list[tuple[str, list[int]]]) -> Figure:
    """Open, done and dropped actions at each date (a stacked area), said as they stand now."""
    open_now, done_now, dropped_now = rows[-1][1]
    return Figure(
        key=key,
        title=title,
        summary=ngettext(
            "%(num)d action: %(done)d done, %(dropped)d dropped, %(open)d still open.",
            "%(num)d actions: %(done)d done, %(dropped)d dropped, %(open)d still open.",
            open_now + done_now + dropped_now,
            done=done_now,
            dropped=dropped_now,
            open=open_now,
        ),
        columns=_tally_names(),
        rows=rows,
        kind="time",
        label=_("Date"),
    )


# --- actions by theme -----------------------------------------------------------------------


def by_theme(session: Session, event: Event, lines: list[ActionLine]) -> Figure:
    """Open, done and dropped actions under each aim of the event's framework (an action
    under two aims counts under both), then those under none."""
    themes = list(
        session.exec(
            select(Theme)
            .where(Theme.event_id == event.id)
            .order_by(col(Theme.position), col(Theme.id))
        )
    )
    ids = [line.action.id for line in lines if line.action.id]
    under: dict[int, set[int]] = defaultdict(set)
    if ids:
        for action_id, theme_id in session.exec(
            select(ActionTheme.action_id, ActionTheme.theme_id).where(
                col(ActionTheme.action_id).in_(ids)
            )
        ):
            under[theme_id].add(action_id)
    status = {line.action.id: _tally_of(line.action.status) for line in lines}
    themed = set().union(*under.values()) if under else set()
    groups = [(theme.name, under[theme.id or 0]) for theme in themes]
    groups.append((_("No theme"), {i for i in ids if i not in themed}))
    rows = []
    for name, members in groups:
        counted = dict.fromkeys(Tally.ALL, 0)
        for action_id in members:
            counted[status[action_id]] += 1
        rows.append((name, [counted[t] for t in Tally.ALL]))
    rows = [row for row in rows if any(row[1]) or row[0] != _("No theme")]
    return Figure(
        key="themes",
        title=_("Actions by theme"),
        summary=_theme_summary(rows),
        columns=_tally_names(),
        rows=rows,
        label=_("Theme"),
    )


def _theme_summary(rows: list[tuple[str, list[int]]]) -> str:
    counted = [(name, values) for name, values in rows if sum(values)]
    if not counted:
        return _("No action has a theme yet.")
    ahead = max(counted, key=lambda row: (row[1][1] / sum(row[1]), row[1][1]))
    behind = max(counted, key=lambda row: (row[1][0], -row[1][1]))
    said = _(
        "Furthest on: %(theme)s (%(done)d of %(num)d done).",
        theme=ahead[0],
        done=ahead[1][1],
        num=sum(ahead[1]),
    )
    if behind[1][0]:
        said += " " + _(
            "Most still open: %(theme)s (%(open)d open).", theme=behind[0], open=behind[1][0]
        )
    return said


# --- pledges --------------------------------------------------------------------------------


def pledges_answered(pledges: list[Pledge]) -> Figure:
    answered = sum(1 for p in pledges if p.answer)
    return Figure(
        key="pledges",
        title=_("Pledges answered"),
        summary=ngettext(
            "%(num)d pledge; %(answered)d answered how it went.",
            "%(num)d pledges; %(answered)d answered how it went.",
            len(pledges),
            answered=answered,
        ),
        columns=[_("Pledges")],
        rows=[(_("Answered"), [answered]), (_("Not answered yet"), [len(pledges) - answered])],
        label=_("How it went"),
    )


# --- sessions -------------------------------------------------------------------------------


def sessions(session: Session, event: Event) -> list[Figure]:
    """Sessions by how many took part, and by how many words their reports hold."""
    held = reports.sessions(session, event)
    topic_ids = [line.topic.id for line in held if line.topic.id]
    signed: dict[int, set[int]] = defaultdict(set)
    corrections: dict[int, list[Attendance]] = defaultdict(list)
    words: dict[int, int] = defaultdict(int)
    if topic_ids:
        for topic_id, participant_id in session.exec(
            select(SignUp.topic_id, SignUp.participant_id).where(
                col(SignUp.topic_id).in_(topic_ids)
            )
        ):
            signed[topic_id].add(participant_id)
        for topic_id, row in session.exec(
            select(Report.topic_id, Attendance)
            .join(Attendance, col(Attendance.report_id) == Report.id)
            .where(col(Report.topic_id).in_(topic_ids))
            .order_by(col(Attendance.id))
        ):
            corrections[topic_id].append(row)
        for topic_id, body in session.exec(
            select(Report.topic_id, Contribution.body)
            .join(Contribution, col(Contribution.report_id) == Report.id)
            .where(
                col(Report.topic_id).in_(topic_ids),
                col(Contribution.hidden).is_(False),
                col(Contribution.withdrawn).is_(False),
            )
        ):
            words[topic_id] += len(body.split())
    came = {
        line.topic.id: len(
            taking_part_ids(signed[line.topic.id or 0], corrections[line.topic.id or 0])
        )
        + sum(
            1
            for row in corrections[line.topic.id or 0]
            if row.participant_id is None and row.present
        )
        for line in held
    }
    return [
        _ranked(
            "attendance",
            _("Sessions by attendance"),
            [(line.topic, came[line.topic.id]) for line in held],
            _("People"),
            lambda top, n: ngettext(
                "Most people: %(title)s (%(num)d person).",
                "Most people: %(title)s (%(num)d people).",
                n,
                title=top,
            ),
        ),
        _ranked(
            "writing",
            _("Sessions by how much they wrote"),
            [(line.topic, words[line.topic.id or 0]) for line in held],
            _("Words"),
            lambda top, n: ngettext(
                "The longest report: %(title)s (%(num)d word).",
                "The longest report: %(title)s (%(num)d words).",
                n,
                title=top,
            ),
        ),
    ]


def _ranked(
    key: str,
    title: str,
    counted: list[tuple[Topic, int]],
    column: str,
    top: Callable[[str, int], str],
) -> Figure:
    ranked = sorted(counted, key=lambda pair: -pair[1])
    quiet = sum(1 for _topic, n in ranked if n == 0)
    if ranked and ranked[0][1]:
        summary = top(ranked[0][0].title, ranked[0][1])
        if quiet:
            summary += " " + ngettext(
                "%(num)d session has none.", "%(num)d sessions have none.", quiet
            )
    else:
        summary = _("No session has any yet.")
    return Figure(
        key=key,
        title=title,
        summary=summary,
        columns=[column],
        rows=[(topic.title, [n]) for topic, n in ranked],
        label=_("Session"),
    )
