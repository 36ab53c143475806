"""A person's e-mail choices, by the signed link in every message: see what you get, stop it.

A GET only shows the page and its buttons; only a POST changes anything, since mail scanners
and link previews open every link in a message. The one-click address of the
List-Unsubscribe header (RFC 8058) takes the mail program's POST, which carries no cookie and
no CSRF token: its signed token is what proves it.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.config import Settings
from app.i18n import _
from app.models import Organiser, Participant
from app.models.mail import PURPOSE_HINTS, PURPOSE_LABELS, Purpose
from app.security import LinkSigner
from app.services import later_mail, mail_choices
from app.services.errors import Invalid, NotFound
from app.templating import render
from app.web.kit.common import absolute, see_other
from app.web.kit.deps import FormDep, SessionDep, SignerDep, verify_csrf
from app.web.kit.routing import Router
from app.web.organiser.exports import book_html

router = Router(prefix="/mail")

# The number a purpose is signed as in a one-click link; a new purpose takes the next number.
SIGNED_AS = {Purpose.pledge: 1, Purpose.actions: 2, Purpose.sessions: 3, Purpose.book: 4}


def choices_path(signer: LinkSigner, participant_id: int) -> str:
    return f"/mail/{signer.sign('mail-choices', participant_id)}"


def stop_path(signer: LinkSigner, participant_id: int, purpose: Purpose) -> str:
    return f"/mail/stop/{signer.sign('mail-stop', participant_id, SIGNED_AS[purpose])}"


def choices_link(settings: Settings, signer: LinkSigner, participant_id: int) -> str:
    return absolute(settings, choices_path(signer, participant_id))


def stop_link(settings: Settings, signer: LinkSigner, participant_id: int, purpose: Purpose) -> str:
    return absolute(settings, stop_path(signer, participant_id, purpose))


def digest_stop_link(settings: Settings, signer: LinkSigner, organiser_id: int) -> str:
    """Where an organiser turns their weekly digest off, by one click or a mail program."""
    return absolute(settings, f"/mail/digest/{signer.sign('digest-stop', organiser_id)}")


def _gone() -> NotFound:
    return NotFound(_("This link does not work. Use the link in your most recent e-mail."))


def linked_person(token: str, session: SessionDep, signer: SignerDep) -> Participant:
    values = signer.read("mail-choices", token)
    if not values or len(values) != 1:
        raise _gone()
    return mail_choices.person(session, values[0])


def stop_request(token: str, session: SessionDep, signer: SignerDep) -> tuple[Participant, Purpose]:
    values = signer.read("mail-stop", token)
    purpose = next((p for p, n in SIGNED_AS.items() if values and values[1:] == [n]), None)
    if not values or len(values) != 2 or purpose is None:
        raise _gone()
    return mail_choices.person(session, values[0]), purpose


LinkedPerson = Annotated[Participant, Depends(linked_person)]
StopRequest = Annotated[tuple[Participant, Purpose], Depends(stop_request)]


def _page(
    request: Request,
    session: SessionDep,
    signer: SignerDep,
    person: Participant,
    *,
    asked: Purpose | None = None,
    done: str = "",
) -> Response:
    assert person.id is not None
    return render(
        request,
        "followup/mail_choices.html",
        {
            "choices": mail_choices.choices(session, person),
            "labels": PURPOSE_LABELS,
            "hints": PURPOSE_HINTS,
            "asked": asked,
            "done": done,
            "action": choices_path(signer, person.id),
        },
    )


@router.get("/{token}")
def choices_page(
    request: Request, person: LinkedPerson, session: SessionDep, signer: SignerDep
) -> Response:
    return _page(request, session, signer, person, done=request.query_params.get("done", ""))


@router.post("/{token}", dependencies=[Depends(verify_csrf)])
def change_choices(
    token: str, person: LinkedPerson, session: SessionDep, form: FormDep
) -> Response:
    """The page's buttons: stop one kind of mail, or forget the address."""
    done = _change(session, person, form)
    return see_other(f"/mail/{token}?done={done}")


def _change(session: SessionDep, person: Participant, form: FormData) -> str:
    if form.get("remove") == "address":
        mail_choices.remove_address(session, person)
        return "removed"
    purpose = next((p for p in Purpose if p.value == form.get("stop")), None)
    if purpose is None:
        raise Invalid(_("Choose what to stop."), "stop")
    mail_choices.stop(session, person, purpose)
    return "stopped"


@router.get("/{token}/book")
def book_page(person: LinkedPerson, session: SessionDep) -> Response:
    """The book of proceedings for someone it was sent to (without people's names)."""
    book = mail_choices.book_of(session, person)
    html = book_html(book, standalone=False, query="?personal=0", with_names=False)
    return Response(html, media_type="text/html; charset=utf-8")


def digest_organiser(token: str, session: SessionDep, signer: SignerDep) -> Organiser:
    values = signer.read("digest-stop", token)
    if not values or len(values) != 1:
        raise _gone()
    return later_mail.organiser(session, values[0])


DigestOrganiser = Annotated[Organiser, Depends(digest_organiser)]


@router.get("/digest/{token}")
def digest_stop_page(request: Request, organiser: DigestOrganiser) -> Response:
    """What a link scanner (or the organiser) gets: the page and its button; nothing changes."""
    return render(request, "followup/digest_stop.html", {"organiser": organiser, "done": False})


@router.post("/digest/{token}")
def digest_stop(request: Request, organiser: DigestOrganiser, session: SessionDep) -> Response:
    """RFC 8058's one-click unsubscribe from the weekly digest (and the page's button)."""
    later_mail.set_digest(session, organiser, False)
    return render(request, "followup/digest_stop.html", {"organiser": organiser, "done": True})


@router.get("/stop/{token}")
def stop_page(
    request: Request, asked: StopRequest, session: SessionDep, signer: SignerDep
) -> Response:
    """What a link scanner (or a person) gets from the one-click address: the page, and a
    button; nothing changes."""
    person, purpose = asked
    return _page(request, session, signer, person, asked=purpose)


@router.post("/stop/{token}")
def stop_one_click(
    request: Request, asked: StopRequest, session: SessionDep, signer: SignerDep
) -> Response:
    """RFC 8058's one-click unsubscribe (and the button of the page above)."""
    person, purpose = asked
    mail_choices.stop(session, person, purpose)
    return _page(request, session, signer, person, done="stopped")
