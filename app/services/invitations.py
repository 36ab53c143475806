"""Invitations to an event's team: a single-use link sent by mail, where the invitee chooses
their own password (no first password passed on by hand).

The link is the invitation's id and version signed with the installation's key (made by the
web layer); nothing secret is stored. It works once, until the invitation runs out, and not
after the organisers cancel it or invite the same address again once it ran out (a new
version). Inviting an address whose invitation is still open sends nothing new.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.i18n import _, lazy
from app.models import Event, EventStaff, Organiser, Role
from app.models.base import utcnow
from app.models.people import INVITE_DAYS, JoiningTeam, LinkState, OrganiserCreate, TeamInvite
from app.services import audit, mail_causes
from app.services.accounts import create_organiser, organiser_by_email
from app.services.errors import Gone, Invalid, NotAllowed, NotFound, Refused
from app.services.events import role_of

INVITE_LIFETIME = timedelta(days=INVITE_DAYS)
GONE = {
    LinkState.used: lazy("This invitation has been used already. If that was you, log in."),
    LinkState.expired: lazy(
        "This invitation ran out. Ask the event's organisers to invite you again."
    ),
    LinkState.cancelled: lazy("The event's organisers cancelled this invitation."),
    LinkState.replaced: lazy(
        "A newer invitation replaced this one: please use the link in the newest message."
    ),
}


@dataclass(frozen=True)
class Invited:
    """An invitation, and whether a message about it went now (False: it was still open)."""

    invite: TeamInvite
    sent: bool


def invite(
    session: Session, event: Event, inviter: Organiser, email: str, name: str, role: Role
) -> Invited:
    """Ask someone onto the event's team: a message with a link goes through the outbox."""
    assert event.id is not None
    address = email.strip().lower()
    account = organiser_by_email(session, address)
    if account is not None and role_of(session, event, account) is not None:
        raise Refused(_("This person is already on the team."), "email")
    now = utcnow()
    fields = {
        "name": name,
        "role": role.value,
        "invited_by_id": inviter.id,
        "sent_at": now,
        "expires_at": now + INVITE_LIFETIME,
    }
    found = _invite_of(session, event.id, address)
    created = found is None and _insert_invite(session, event.id, address, fields)
    if found is None:  # ours, or the one a second tap of the form wrote meanwhile
        found = _invite_of(session, event.id, address)
        assert found is not None
    if not created:
        if found.state(now) == LinkState.open:
            # The message already sent (or waiting) is the one: its link shows the role and
            # name as they are when it is opened.
            found.role, found.name = role.value, name or found.name
            session.add(found)
            return Invited(found, sent=False)
        # It ran out, was cancelled, or its invitee has left the team since: anew.
        found.sqlmodel_update({**fields, "accepted_at": None, "cancelled_at": None})
        found.version += 1
        session.add(found)
        session.flush()
    mail_causes.team_invited(session, event, found)
    return Invited(found, sent=True)


def _invite_of(session: Session, event_id: int, address: str) -> TeamInvite | None:
    return session.exec(
        select(TeamInvite)
        .where(TeamInvite.event_id == event_id, TeamInvite.email == address)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _insert_invite(session: Session, event_id: int, address: str, fields: dict[str, Any]) -> bool:
    """Write the event's invitation of the address unless there is one; whether it was
    written (two forms sent at once: one writes it, the other finds it)."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = (
        insert(TeamInvite)
        .values(event_id=event_id, email=address, version=1, **fields)
        .on_conflict_do_nothing(index_elements=["event_id", "email"])
        .returning(col(TeamInvite.id))
    )
    return session.execute(statement).first() is not None


def cancel(session: Session, event: Event, invite_id: int) -> TeamInvite:
    """Withdraw an invitation that is still open: its link stops working, and its message
    goes nowhere if it still waits."""
    found = session.get(TeamInvite, invite_id)
    if found is None or found.event_id != event.id or found.state(utcnow()) != LinkState.open:
        raise NotFound(_("There is no such invitation waiting."))
    found.cancelled_at = utcnow()
    session.add(found)
    mail_causes.team_invite_withdrawn(session, found)
    return found


@dataclass(frozen=True)
class Waiting:
    """An invitation not yet accepted, as the team page lists it."""

    invite: TeamInvite
    ran_out: bool
    # The message in the outbox (where the organiser can see and copy its link).
    message_id: int | None


def waiting(session: Session, event: Event) -> list[Waiting]:
    """The event's invitations not accepted or cancelled (those that ran out too)."""
    now = utcnow()
    rows = session.exec(
        select(TeamInvite)
        .where(
            TeamInvite.event_id == event.id,
            col(TeamInvite.accepted_at).is_(None),
            col(TeamInvite.cancelled_at).is_(None),
        )
        .order_by(col(TeamInvite.id))
    ).all()
    return [
        Waiting(
            row, row.state(now) == LinkState.expired, mail_causes.team_invite_message(session, row)
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Opened:
    """An invitation opened by its link: what it is for, and the account of its address."""

    invite: TeamInvite
    event: Event
    account: Organiser | None


def opened(session: Session, invite_id: int, version: int) -> Opened:
    """The invitation a link names, if it still works (Gone says why not)."""
    found = session.exec(
        select(TeamInvite).where(TeamInvite.id == invite_id).with_for_update()
    ).first()
    if found is None:
        raise NotFound(_("There is no such invitation."))
    state = found.state(utcnow(), version)
    if state != LinkState.open:
        raise Gone(str(GONE[state]))
    event = session.get_one(Event, found.event_id)
    return Opened(found, event, organiser_by_email(session, found.email))


def accept(
    session: Session,
    invite_id: int,
    version: int,
    signed_in: Organiser | None,
    chosen: JoiningTeam | None,
) -> tuple[Organiser, Event]:
    """Join the team by the link: with a new account (the name and password chosen), or,
    when the address has an account, signed in to it. The link works no more after."""
    found = opened(session, invite_id, version)
    account = found.account
    if account is None:
        if chosen is None:
            raise Invalid(_("Please choose a password."), "password")
        account = create_organiser(
            session,
            OrganiserCreate(email=found.invite.email, name=chosen.name, password=chosen.password),
        )
    elif signed_in is None or signed_in.id != account.id:
        raise NotAllowed(
            _(
                "This invitation is for %(email)s. Log in with that address to join.",
                email=found.invite.email,
            )
        )
    assert account.id is not None and found.event.id is not None
    if role_of(session, found.event, account) is None:
        session.add(
            EventStaff(
                event_id=found.event.id, organiser_id=account.id, role=Role(found.invite.role)
            )
        )
    found.invite.accepted_at = utcnow()
    session.add(found.invite)
    audit.record(
        session,
        found.event.id,
        f"{account.name} <{account.email}>",
        "team invitation accepted",
        f"role={found.invite.role}",
    )
    return account, found.event
