"""The team's switches for mail after the day: send the book to those who asked, and the
organisers' weekly digest (per account, and per event)."""

from fastapi import Depends
from fastapi.responses import Response

from app.services import later_mail
from app.web.kit.audit import audited
from app.web.kit.common import safe_next, see_other
from app.web.kit.deps import (
    CurrentOrganiser,
    FacilitatedEvent,
    FormDep,
    OrganisedEvent,
    SessionDep,
    verify_csrf,
)
from app.web.kit.routing import Router

router = Router(dependencies=[Depends(verify_csrf), Depends(audited)])


@router.post("/events/{event_id}/book/send")
def send_book(event: FacilitatedEvent, session: SessionDep, form: FormDep) -> Response:
    """ "Send the book to those who asked": each of them gets it once, however often pressed."""
    made = later_mail.send_book(session, event)
    back = safe_next(str(form.get("back", "")), f"/organiser/events/{event.id}")
    return see_other(f"{back.partition('?')[0].partition('#')[0]}?book_sent={made}#export")


@router.post("/organiser/account/digest")
def account_digest(organiser: CurrentOrganiser, session: SessionDep, form: FormDep) -> Response:
    later_mail.set_digest(session, organiser, form.get("weekly_digest") == "1")
    return see_other("/organiser/account#digest")


@router.post("/organiser/events/{event_id}/digest")
def event_digest(event: OrganisedEvent, session: SessionDep, form: FormDep) -> Response:
    later_mail.set_event_digest(session, event, form.get("weekly_digest") == "1")
    return see_other(f"/organiser/events/{event.id}#digest")
