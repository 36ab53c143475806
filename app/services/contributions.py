"""What people write in a session's report: contributions, their edits and earlier versions.

Every contribution is its own row with its author and time, so people writing at once never
touch each other's text. An edit names the version it was made on: if someone else's edit
came first, it is refused and the person gets both texts back (nothing is written over), and
every edit keeps what was there before as a revision.
"""

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import Action, Contribution, ContributionRevision, Event, Participant, Report, Topic
from app.models.base import utcnow
from app.models.outcomes import ContributionCreate
from app.services import policy
from app.services.agenda import agenda_changed
from app.services.errors import NotFound, Refused
from app.services.report_writing import _by_key, _mark_present, _open_for_writing, ensure_report
from app.services.rows import add_once


class EditConflict(Exception):
    """Someone changed the contribution after the editor opened it; nothing was written."""

    def __init__(self, current: Contribution) -> None:
        super().__init__("edited meanwhile")
        self.current = current


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
