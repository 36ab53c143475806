"""A pledge's author answers "How did it go?" by the link in their postcard, months later;
at the organisers' next event, the same link lets them refresh it there.

The link only shows the pledge and a form; the answer is kept when the form is sent.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app.config import Settings
from app.i18n import _
from app.models import Event, Pledge
from app.models.outcomes import PledgeAnswerForm, PledgeForm
from app.security import LinkSigner
from app.services import carry_over, pledges
from app.services.errors import NotFound
from app.templating import render
from app.web.kit.common import absolute, see_other
from app.web.kit.deps import FormDep, SessionDep, SignerDep, verify_csrf
from app.web.kit.forms import FormErrors, valid
from app.web.kit.routing import Router
from app.web.participant.attendee import AttendeeDep

router = Router(dependencies=[Depends(verify_csrf)])


def answer_path(signer: LinkSigner, pledge: Pledge) -> str:
    assert pledge.id is not None
    return f"/p/{signer.sign('pledge-answer', pledge.id)}"


def answer_link(settings: Settings, signer: LinkSigner, pledge: Pledge) -> str:
    return absolute(settings, answer_path(signer, pledge))


def refresh_link(settings: Settings, signer: LinkSigner, event: Event, pledge: Pledge) -> str:
    """Where the pledge's author refreshes it in a later event it was brought into."""
    assert pledge.id is not None
    token = signer.sign("pledge-answer", pledge.id)
    return absolute(settings, f"/e/{event.join_code}/pledge/refresh/{token}")


def linked_pledge(token: str, session: SessionDep, signer: SignerDep) -> Pledge:
    pledge = pledges.pledge_from_link(session, signer.read("pledge-answer", token))
    if pledge is None:
        raise NotFound(_("This link no longer works: the pledge is no longer kept."))
    return pledge


LinkedPledge = Annotated[Pledge, Depends(linked_pledge)]


@router.get("/p/{token}")
def answer_page(
    request: Request,
    token: str,
    pledge: LinkedPledge,
    session: SessionDep,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    return render(
        request,
        "followup/pledge_answer.html",
        {
            "pledge": pledge,
            "event": session.get_one(Event, pledge.event_id),
            "values": values or {"answer": pledge.answer},
            "errors": errors or {},
            "saved": request.query_params.get("saved") == "1",
            "carried_into": carry_over.carried_into(session, pledge),
            "token": token,
        },
    )


@router.post("/p/{token}", again=answer_page)
def answer(token: str, pledge: LinkedPledge, session: SessionDep, form: FormDep) -> Response:
    pledges.answer_pledge(session, pledge, valid(PledgeAnswerForm, form, "answer"))
    return see_other(f"/p/{token}?saved=1")


@router.get("/e/{code}/pledge/refresh/{token}")
def refresh_page(
    request: Request,
    token: str,
    me: AttendeeDep,
    pledge: LinkedPledge,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    """Last time's pledge, and this time's beside it (or the form to write it)."""
    refresh = carry_over.refresh_of(me.session, me.event, pledge, me.participant)
    return render(
        request,
        "followup/pledge_refresh.html",
        {
            "event": me.event,
            "refresh": refresh,
            "values": values or {"text": refresh.new.text if refresh.new else ""},
            "errors": errors or {},
            "saved": request.query_params.get("saved") == "1",
            "action": f"{me.home}/pledge/refresh/{token}",
        },
    )


@router.post("/e/{code}/pledge/refresh/{token}", again=refresh_page)
def refresh(token: str, me: AttendeeDep, pledge: LinkedPledge, form: FormDep) -> Response:
    """Keep the new pledge beside the old one (the old one stays as it was)."""
    carry_over.refresh_pledge(
        me.session, me.event, me.participant, pledge, valid(PledgeForm, form, "text")
    )
    return see_other(f"{me.home}/pledge/refresh/{token}?saved=1")
