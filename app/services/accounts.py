"""Organiser accounts and their API tokens."""

from sqlmodel import Session, col, select

from app.i18n import _
from app.models import ApiToken, Organiser
from app.models.base import utcnow
from app.models.people import OrganiserCreate
from app.security import digest, hash_password, new_secret, verify_password
from app.services.errors import NotFound, Refused


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


def set_password(session: Session, organiser: Organiser, password: str) -> None:
    """Replace the organiser's password."""
    organiser.password_hash = hash_password(password)
    session.add(organiser)


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
