"""Organiser accounts: passwords, sign-ins and guessing, and their API tokens."""

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.i18n import _, lazy
from app.models import ApiToken, Organiser
from app.models.base import utcnow
from app.models.people import RESET_MINUTES, LinkState, OrganiserCreate, PasswordReset
from app.security import digest, hash_password, new_secret, password_mark, verify_password
from app.services import audit, mail_causes
from app.services.errors import Gone, NotFound, Refused


def organiser_by_email(session: Session, email: str) -> Organiser | None:
    """The account with this e-mail address, whatever its case."""
    address = email.strip().lower()
    if not address.isprintable():
        return None  # no account has one (and PostgreSQL could not even compare a NUL)
    return session.exec(select(Organiser).where(Organiser.email == address)).first()


def create_organiser(session: Session, data: OrganiserCreate) -> Organiser:
    """A new organiser account; refused if the e-mail address is taken."""
    if organiser_by_email(session, data.email):
        raise Refused(_("There is already an account with this e-mail address."), "email")
    organiser = Organiser(
        email=data.email, name=data.name, password_hash=hash_password(data.password)
    )
    session.add(organiser)
    session.flush()
    return organiser


def set_password(
    session: Session, organiser: Organiser, password: str, *, first: bool = False
) -> None:
    """Replace the organiser's password; every browser signed in with the old one is signed
    out, and a locked account opens. A `first` password (made by someone else) is to be
    changed at the next log-in."""
    organiser.password_hash = hash_password(password)
    organiser.must_change_password = first
    organiser.failed_logins = 0
    organiser.login_locked_until = None
    session.add(organiser)
    end_sign_ins(session, organiser)


def end_sign_ins(session: Session, organiser: Organiser) -> int:
    """End every browser's sign-in to the account; returns the generation to sign in under."""
    session.execute(
        update(Organiser)
        .where(col(Organiser.id) == organiser.id)
        .values(session_generation=Organiser.session_generation + 1)
    )
    session.refresh(organiser)
    return organiser.session_generation


# Guessing is limited per account, not per address: a whole venue shares one Wi-Fi address.
# After FREE_TRIES wrong passwords in a row the account takes no password for a while, twice
# as long after each further wrong one, up to LONGEST_PAUSE. The owner gets in again by
# waiting, or at once with a new password (`openspace create-organiser`, or a team member).
FREE_TRIES = 5
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(hours=1)


def paused_until(organiser: Organiser, now: datetime) -> datetime | None:
    """Until when the account takes no password, if it is paused now."""
    until = organiser.login_locked_until
    return until if until is not None and until > now else None


def record_wrong_password(session: Session, organiser_id: int, now: datetime) -> datetime | None:
    """Count a wrong password (atomically: guesses come in parallel); returns until when the
    account is now paused, if it is."""
    session.execute(
        update(Organiser)
        .where(col(Organiser.id) == organiser_id)
        .values(failed_logins=Organiser.failed_logins + 1)
    )
    organiser = session.get(Organiser, organiser_id, populate_existing=True)
    assert organiser is not None
    until = next_pause(organiser.failed_logins, now)
    if until is None:
        return None
    organiser.login_locked_until = until
    session.add(organiser)
    return until


def next_pause(failed: int, now: datetime) -> datetime | None:
    """Until when an account with `failed` wrong passwords in a row takes none, if at all."""
    over = failed - FREE_TRIES
    return None if over < 0 else now + min(FIRST_PAUSE * 2 ** min(over, 20), LONGEST_PAUSE)


class NoSuchAccounts:
    """Wrong passwords for addresses that have no account, paused exactly like an account's,
    so that a pause never tells a guesser which addresses have one. Kept in this process's
    memory (the newest `KEPT` addresses): nothing about them is written anywhere."""

    KEPT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()

    def paused_until(self, email: str, now: datetime) -> datetime | None:
        _count, until = self._failed.get(email.strip().casefold(), (0, None))
        return until if until is not None and until > now else None

    def record_wrong_password(self, email: str, now: datetime) -> datetime | None:
        key = email.strip().casefold()
        with self._lock:
            failed = self._failed.pop(key, (0, None))[0] + 1
            until = next_pause(failed, now)
            self._failed[key] = (failed, until)
            while len(self._failed) > self.KEPT:
                self._failed.popitem(last=False)
        return until


no_such_accounts = NoSuchAccounts()


def record_sign_in(session: Session, organiser_id: int) -> None:
    """A right password: the count of wrong ones starts again."""
    session.execute(
        update(Organiser)
        .where(col(Organiser.id) == organiser_id)
        .values(failed_logins=0, login_locked_until=None)
    )


def authenticate(session: Session, email: str, password: str) -> Organiser | None:
    """The organiser whose e-mail and password these are, or None."""
    organiser = organiser_by_email(session, email)
    if organiser is None:
        hash_password(password)  # the same work either way, so timing does not tell who exists
        return None
    return organiser if verify_password(organiser.password_hash, password) else None


def create_api_token(session: Session, organiser: Organiser, name: str) -> tuple[ApiToken, str]:
    """A new API token; the secret is returned once and only its digest is kept."""
    assert organiser.id is not None
    secret = "os_" + new_secret()
    token = ApiToken(
        organiser_id=organiser.id, name=name or _("API token"), token_hash=digest(secret)
    )
    session.add(token)
    session.flush()
    return token, secret


def api_tokens(session: Session, organiser: Organiser) -> list[ApiToken]:
    """The organiser's tokens that still work, newest first."""
    return list(
        session.exec(
            select(ApiToken)
            .where(ApiToken.organiser_id == organiser.id, col(ApiToken.revoked_at).is_(None))
            .order_by(col(ApiToken.id).desc())
        )
    )


def revoke_api_token(session: Session, organiser: Organiser, token_id: int) -> None:
    """Stop a token of this organiser's from working."""
    token = session.get(ApiToken, token_id)
    if token is None or token.organiser_id != organiser.id:
        raise NotFound(_("No such token."))
    token.revoked_at = utcnow()
    session.add(token)


def organiser_for_api_token(session: Session, secret: str) -> Organiser | None:
    """The organiser an API token belongs to, if it exists and is not revoked."""
    token = session.exec(
        select(ApiToken).where(
            ApiToken.token_hash == digest(secret), col(ApiToken.revoked_at).is_(None)
        )
    ).first()
    return session.get(Organiser, token.organiser_id) if token else None


# --- a forgotten password: a link by mail ------------------------------------------------------

RESET_LIFETIME = timedelta(minutes=RESET_MINUTES)
# However often it is asked for, an account gets one link in this long: the form cannot be
# used to fill someone's inbox.
RESET_EVERY = timedelta(minutes=5)
RESET_GONE = {
    LinkState.used: lazy(
        "This link has been used already. Log in with your new password, or ask for a new link."
    ),
    LinkState.expired: lazy("This link ran out: it works for one hour. Please ask for a new one."),
    LinkState.replaced: lazy(
        "The password was changed after this link was sent, so it no longer works. Ask for a "
        "new one if you need it."
    ),
}


def ask_password_reset(session: Session, email: str) -> None:
    """Send a link to set a new password if the address has an account (one link per
    `RESET_EVERY`). Neither the answer nor its timing tells whether it has one; a paused
    account gets its link too (it is the owner's way in)."""
    account = organiser_by_email(session, email)
    now = utcnow()
    recent = session.exec(
        select(PasswordReset.id).where(
            PasswordReset.organiser_id == (account.id if account else 0),
            col(PasswordReset.asked_at) > now - RESET_EVERY,
        )
    ).first()
    if account is not None and recent is None:
        _send_reset_link(session, account, now)
        audit.record(session, None, account.email, "password reset: link asked for", "")
        return
    # The same writes as for a link, undone (as `authenticate` hashes a password for an
    # address with no account), and a line of the log that waits for the disk alike: an
    # answer that wrote nothing would come back measurably sooner.
    trial = session.begin_nested()
    try:
        stand_in = Organiser(email=f"{new_secret()}@invalid", name="-", password_hash="-")
        session.add(stand_in)
        session.flush()
        _send_reset_link(session, stand_in, now)
    finally:
        trial.rollback()
    said = "asked again within minutes: none sent" if account else "no account: none sent"
    audit.record(session, None, "", f"password reset {said}", "")


def _send_reset_link(session: Session, account: Organiser, now: datetime) -> None:
    assert account.id is not None
    reset = PasswordReset(
        organiser_id=account.id,
        password_mark=password_mark(account.password_hash),
        asked_at=now,
        expires_at=now + RESET_LIFETIME,
    )
    session.add(reset)
    session.flush()
    mail_causes.password_reset_asked(session, reset, account)


def opened_reset(session: Session, reset_id: int, mark: int) -> Organiser:
    """The account a password-reset link is for, if the link still works (Gone says why not)."""
    reset = session.exec(
        select(PasswordReset).where(PasswordReset.id == reset_id).with_for_update()
    ).first()
    account = session.get(Organiser, reset.organiser_id) if reset else None
    if reset is None or account is None:
        raise NotFound(_("There is no such link."))
    state = reset.state(utcnow(), mark, password_mark(account.password_hash))
    if state != LinkState.open:
        raise Gone(str(RESET_GONE[state]))
    return account


def reset_password(session: Session, reset_id: int, mark: int, password: str) -> Organiser:
    """Set the new password by the link: it works no more, nor does any other made before,
    and every browser signed in to the account is signed out."""
    account = opened_reset(session, reset_id, mark)
    reset = session.get_one(PasswordReset, reset_id)
    reset.used_at = utcnow()
    session.add(reset)
    set_password(session, account, password)
    audit.record(session, None, account.email, "password reset by a link sent by e-mail", "")
    return account
