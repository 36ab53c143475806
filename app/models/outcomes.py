"""What the day produced: session reports written together, actions, dots and pledges."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.i18n import lazy
from app.models.base import UTCDateTime, utcnow
from app.models.event import Form
from app.models.people import check_email

CONTRIBUTION_MAX = 4000
ACTION_TITLE_MAX = 200
PLEDGE_MAX = 500
ANSWER_MAX = 1000
UPDATE_MAX = 2000
OWNER_NAME_MAX = 120


class ContributionKind(StrEnum):
    key_point = "key_point"
    note = "note"
    next_step = "next_step"


# Headings on pages, in the reader's language.
KIND_LABELS = {
    ContributionKind.key_point: lazy("Key points"),
    ContributionKind.note: lazy("Notes"),
    ContributionKind.next_step: lazy("Next steps"),
}
# One entry of each kind, as a form offers them.
KIND_LABEL = {
    ContributionKind.key_point: lazy("Key point"),
    ContributionKind.note: lazy("Note"),
    ContributionKind.next_step: lazy("Next step"),
}


class ActionStatus(StrEnum):
    proposed = "proposed"
    agreed = "agreed"
    in_progress = "in_progress"
    done = "done"
    dropped = "dropped"


# On pages, in the reader's language.
STATUS_LABELS = {
    ActionStatus.proposed: lazy("Proposed"),
    ActionStatus.agreed: lazy("Agreed"),
    ActionStatus.in_progress: lazy("In progress"),
    ActionStatus.done: lazy("Done"),
    ActionStatus.dropped: lazy("Dropped"),
}
# In the action lists (CSV, XLSX, JSON), which are written in English.
STATUS_NAMES = {
    ActionStatus.proposed: "Proposed",
    ActionStatus.agreed: "Agreed",
    ActionStatus.in_progress: "In progress",
    ActionStatus.done: "Done",
    ActionStatus.dropped: "Dropped",
}


class Report(SQLModel, table=True):
    """The report of one session (a placed topic); open for additions even when complete."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    topic_id: int = Field(foreign_key="topic.id", unique=True, ondelete="CASCADE")
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by_id: int | None = Field(
        default=None, foreign_key="participant.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContributionCreate(Form):
    kind: ContributionKind = ContributionKind.key_point
    body: str = Field(min_length=1, max_length=CONTRIBUTION_MAX)


class Contribution(SQLModel, table=True):
    """One person's addition to a report. Each is its own row, so writers never collide."""

    __table_args__ = (UniqueConstraint("report_id", "write_key"),)
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    kind: ContributionKind = Field(sa_type=String(16))
    body: str = Field(max_length=CONTRIBUTION_MAX, sa_type=Text)
    # Bumped by every edit: an edit made on an older copy is refused, never written over.
    version: int = Field(default=1)
    hidden: bool = Field(default=False)
    # Its author took it back: hidden like a facilitator's hiding, and only the author may
    # put it back.
    withdrawn: bool = Field(default=False)
    # The random key of the form that wrote it: a second tap finds this row.
    write_key: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ContributionRevision(SQLModel, table=True):
    """What a contribution said before an edit."""

    id: int | None = Field(default=None, primary_key=True)
    contribution_id: int = Field(foreign_key="contribution.id", index=True, ondelete="CASCADE")
    version: int
    body: str = Field(max_length=CONTRIBUTION_MAX, sa_type=Text)
    written_at: datetime = Field(sa_type=UTCDateTime)
    replaced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Attendance(SQLModel, table=True):
    """A correction to who took part: someone added (a participant, or a name) or removed.

    Who took part starts from the session's sign-ups; these rows change that list.
    """

    __table_args__ = (UniqueConstraint("report_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", ondelete="CASCADE"
    )
    name: str = Field(default="", max_length=OWNER_NAME_MAX)
    present: bool = Field(default=True)
    changed_by_id: int | None = Field(
        default=None, foreign_key="participant.id", ondelete="SET NULL"
    )
    # A facilitator is not a participant: the report says "by a facilitator".
    changed_by_facilitator: bool = Field(default=False)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ActionForm(Form):
    """An action as typed: what, who, when, the first step."""

    title: str = Field(min_length=1, max_length=ACTION_TITLE_MAX)
    first_step: str = Field(default="", max_length=300)
    due_on: date | None = None
    owner_name: str = Field(default="", max_length=OWNER_NAME_MAX)
    status: ActionStatus = ActionStatus.proposed

    @field_validator("due_on", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class ActionGroup(SQLModel, table=True):
    """Related actions gathered at convergence under a name, with someone to take it on."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    initiator: str = Field(default="", max_length=OWNER_NAME_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GroupForm(Form):
    name: str = Field(min_length=1, max_length=120)
    initiator: str = Field(default="", max_length=OWNER_NAME_MAX)


class Action(SQLModel, table=True):
    """What will be done, by whom and by when; followed up through a private link."""

    __table_args__ = (UniqueConstraint("report_id", "write_key"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=ACTION_TITLE_MAX)
    first_step: str = Field(default="", max_length=300)
    due_on: date | None = None
    # The owner is a participant, or a named person or organisation (owner_name).
    owner_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    owner_name: str = Field(default="", max_length=OWNER_NAME_MAX)
    status: ActionStatus = Field(default=ActionStatus.proposed, sa_type=String(16))
    group_id: int | None = Field(
        default=None, foreign_key="actiongroup.id", index=True, ondelete="SET NULL"
    )
    created_by_id: int | None = Field(
        default=None, foreign_key="participant.id", ondelete="SET NULL"
    )
    hidden: bool = Field(default=False)
    # Bumped to revoke the update link handed out before.
    link_version: int = Field(default=1)
    write_key: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ActionTheme(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("action_id", "theme_id"),)
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True, ondelete="CASCADE")
    theme_id: int = Field(foreign_key="theme.id", index=True, ondelete="CASCADE")


class ProgressForm(Form):
    status: ActionStatus
    note: str = Field(default="", max_length=UPDATE_MAX)
    by: str = Field(default="", max_length=OWNER_NAME_MAX)


class ActionUpdate(SQLModel, table=True):
    """Progress on an action: a note and the status it moved to, by whom, when."""

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True, ondelete="CASCADE")
    status: ActionStatus = Field(sa_type=String(16))
    note: str = Field(default="", max_length=UPDATE_MAX, sa_type=Text)
    written_by: str = Field(default="", max_length=OWNER_NAME_MAX)
    # The participant who wrote it in the app, if one did: what "delete what I wrote too"
    # finds once their name has gone (issue 26). None through the update link or by mail.
    author_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    via_link: bool = Field(default=False)
    # Posted by the owner replying to one of our e-mails (app/services/mail_replies.py).
    via_mail: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Dot(SQLModel, table=True):
    """One of a participant's dots at convergence, on a report or on an action."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    report_id: int | None = Field(
        default=None, foreign_key="report.id", index=True, ondelete="CASCADE"
    )
    action_id: int | None = Field(
        default=None, foreign_key="action.id", index=True, ondelete="CASCADE"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PledgeForm(Form):
    text: str = Field(min_length=1, max_length=PLEDGE_MAX)
    may_contact: bool = False
    # The person asked for their pledge by e-mail on the day they chose.
    postcard: bool = False
    remind_on: date | None = None
    email: str = Field(default="", max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value, required=False)

    @field_validator("remind_on", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class Pledge(SQLModel, table=True):
    """The one thing a participant will do differently, and when to remind them of it."""

    __table_args__ = (UniqueConstraint("event_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    participant_id: int = Field(foreign_key="participant.id", ondelete="CASCADE")
    text: str = Field(max_length=PLEDGE_MAX, sa_type=Text)
    may_contact: bool = Field(default=False)
    remind_on: date
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # "How did it go?": the author's answer, months later, by the link in their postcard.
    answer: str = Field(default="", max_length=ANSWER_MAX, sa_type=Text)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PledgeAnswerForm(Form):
    answer: str = Field(min_length=1, max_length=ANSWER_MAX)
