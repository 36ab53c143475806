"""Organiser accounts by mail: joining a team by an invitation's link, and a new password by
a link asked for on the log-in page. Both links are single use and run out."""

from fastapi import Depends, Request
from fastapi.responses import Response

from app.config import Settings
from app.i18n import _
from app.models.people import (
    ForgotPassword,
    JoiningTeam,
    NewPassword,
    PasswordReset,
    TeamInvite,
)
from app.security import LinkSigner
from app.services import accounts, invitations
from app.services.errors import NotFound
from app.templating import render
from app.web.kit.common import absolute
from app.web.kit.deps import (
    FormDep,
    MaybeOrganiser,
    SessionDep,
    SettingsDep,
    SignerDep,
    VisitorDep,
    remember_and_go,
    verify_csrf,
)
from app.web.kit.forms import valid
from app.web.kit.routing import Router

router = Router(dependencies=[Depends(verify_csrf)])
INVITE = "team-invite"
RESET = "password-reset"
PASSWORDS = ("password", "password_again")


def team_invite_link(settings: Settings, signer: LinkSigner, invite: TeamInvite) -> str:
    """The invitation's link: its id and version, signed."""
    assert invite.id is not None
    return absolute(settings, "/invite/" + signer.sign(INVITE, invite.id, invite.version))


def password_reset_link(settings: Settings, signer: LinkSigner, reset: PasswordReset) -> str:
    """The link to set a new password: its id and the mark of the password it replaces."""
    assert reset.id is not None
    return absolute(settings, "/password/new/" + signer.sign(RESET, reset.id, reset.password_mark))


def _named(signer: LinkSigner, purpose: str, token: str) -> tuple[int, int]:
    values = signer.read(purpose, token)
    if values is None or len(values) != 2:
        raise NotFound(_("This link is not one of ours, or it was copied only in part."))
    return values[0], values[1]


def _without_passwords(values: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (values or {}).items() if k not in PASSWORDS}


@router.get("/invite/{token}")
def invite_page(
    request: Request,
    token: str,
    session: SessionDep,
    signer: SignerDep,
    organiser: MaybeOrganiser,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """An invitation to a team, opened: choose a name and password, or log in and join."""
    found = invitations.opened(session, *_named(signer, INVITE, token))
    shown = _without_passwords(values) or {"name": found.invite.name}
    ctx = {"found": found, "organiser": organiser, "values": shown, "errors": errors or {}}
    return render(request, "public/invite.html", ctx)


@router.post("/invite/{token}", again=invite_page)
def join_team(
    token: str,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    organiser: MaybeOrganiser,
    form: FormDep,
) -> Response:
    """Join an event's team by an invitation's link."""
    chosen = valid(JoiningTeam, form, "name", *PASSWORDS) if "password" in form else None
    account, _event = invitations.accept(session, *_named(signer, INVITE, token), organiser, chosen)
    visitor.as_organiser(account.id, account.session_generation)
    return remember_and_go("/organiser", visitor, settings)


@router.get("/password/forgot")
def forgot_password_page(
    request: Request,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """Ask for a link to set a new password."""
    ctx = {"values": values or {}, "errors": errors or {}, "asked": False}
    return render(request, "public/forgot_password.html", ctx)


@router.post("/password/forgot", again=forgot_password_page)
def ask_for_password_link(request: Request, session: SessionDep, form: FormDep) -> Response:
    """Ask for a link to set a new password: the answer is the same whether or not the
    address has an account."""
    email = valid(ForgotPassword, form, "email").email
    accounts.ask_password_reset(session, email)
    ctx = {"values": {"email": email}, "errors": {}, "asked": True}
    return render(request, "public/forgot_password.html", ctx)


@router.get("/password/new/{token}")
def new_password_page(
    request: Request,
    token: str,
    session: SessionDep,
    signer: SignerDep,
    errors: dict[str, str] | None = None,
) -> Response:
    """The page a password-reset link opens: choose a new password."""
    account = accounts.opened_reset(session, *_named(signer, RESET, token))
    ctx = {"account": account, "values": {}, "errors": errors or {}}
    return render(request, "public/new_password.html", ctx)


@router.post("/password/new/{token}", again=new_password_page)
def set_new_password(
    token: str,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    visitor: VisitorDep,
    form: FormDep,
) -> Response:
    """Set a new password by a link sent by mail: every other sign-in ends."""
    chosen = valid(NewPassword, form, *PASSWORDS)
    account = accounts.reset_password(session, *_named(signer, RESET, token), chosen.password)
    visitor.as_organiser(account.id, account.session_generation)
    return remember_and_go("/organiser", visitor, settings)
