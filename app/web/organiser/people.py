"""The organiser and people's data: find a person, export what is kept about them, erase it
on their request (with the reason in the audit log), and the event's notice and retention."""

import json

from fastapi import Depends, Request
from fastapi.responses import Response

from app.i18n import _
from app.models import Event, Participant
from app.models.base import utcnow
from app.models.privacy import MODE_LABELS, ErasedBy, ErasureMode, OrganiserErasureForm, PrivacyForm
from app.services import participants, privacy
from app.services.errors import Invalid, NotFound
from app.templating import render
from app.web.kit.audit import audited, audited_download
from app.web.kit.common import download, see_other
from app.web.kit.deps import FormDep, OrganisedEvent, RowId, SessionDep, verify_csrf
from app.web.kit.forms import FormErrors, valid
from app.web.kit.routing import Router

router = Router(prefix="/organiser", dependencies=[Depends(verify_csrf), Depends(audited)])

FOUND_AT_MOST = 50
MODES = [(mode.value, MODE_LABELS[mode]) for mode in ErasureMode]
# Retention is shown as a warning on its page this long before it runs.
WARN_DAYS = 30


def _person(session: SessionDep, event: Event, participant_id: int) -> Participant:
    person = participants.of_event(session, event, participant_id)
    if person is None:
        raise NotFound(_("There is no such participant."))
    return person


@router.get("/events/{event_id}/people")
def people_page(request: Request, event: OrganisedEvent, session: SessionDep) -> Response:
    """Find a person to show, export or erase what is kept about them."""
    typed = request.query_params.get("q", "").strip()
    found = participants.find(session, event, typed, FOUND_AT_MOST) if typed else None
    ctx = {
        "event": event,
        "typed": typed,
        "found": found,
        "erasures": privacy.erasures_in(session, event),
        "retention": privacy.retention(session, event),
    }
    return render(request, "organiser/people.html", ctx)


@router.get("/events/{event_id}/people/{participant_id}")
def person_page(
    request: Request,
    event: OrganisedEvent,
    participant_id: RowId,
    session: SessionDep,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    person = _person(session, event, participant_id)
    ctx = {
        "event": event,
        "person": person,
        "data": privacy.my_data(session, event, person),
        "erased": privacy.is_erased(session, person),
        "modes": MODES,
        "values": values or {},
        "errors": errors or {},
    }
    return render(request, "organiser/person.html", ctx)


@router.get(
    "/events/{event_id}/people/{participant_id}/data.json",
    dependencies=[Depends(audited_download)],
)
def person_data_file(event: OrganisedEvent, participant_id: RowId, session: SessionDep) -> Response:
    """Export one person's data (for their request to have it)."""
    data = privacy.my_data(session, event, _person(session, event, participant_id))
    content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return download(content, "application/json", f"person-{participant_id}-data.json")


@router.post("/events/{event_id}/people/{participant_id}/erase", again=person_page)
def erase_person(
    event: OrganisedEvent, participant_id: RowId, session: SessionDep, form: FormDep
) -> Response:
    """Erase a person's data on their request (the reason stays in the audit log)."""
    data = valid(OrganiserErasureForm, form, "mode", "reason", "confirmed")
    if not data.confirmed:
        raise Invalid(_("Tick the box to say you understand this cannot be undone."), "confirmed")
    person = _person(session, event, participant_id)
    privacy.erase(session, event, person, data.mode, ErasedBy.organiser)
    return see_other(f"/organiser/events/{event.id}/people?erased={data.mode.value}")


@router.get("/events/{event_id}/privacy")
def privacy_page(
    request: Request,
    event: OrganisedEvent,
    session: SessionDep,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    """The event's privacy notice and retention, and what retention will remove when."""
    settings = privacy.settings_of(session, event)
    plan = privacy.retention(session, event)
    shown = values or {
        "controller": settings.controller,
        "contact": settings.contact,
        "notice": settings.notice,
        "retention_months": str(settings.retention_months),
    }
    soon = (
        plan.due is not None and plan.purged_at is None and ((plan.due - utcnow()).days < WARN_DAYS)
    )
    ctx = {
        "event": event,
        "retention": plan,
        "soon": soon,
        "values": shown,
        "errors": errors or {},
    }
    return render(request, "organiser/privacy.html", ctx)


@router.post("/events/{event_id}/privacy", again=privacy_page)
def save_privacy(event: OrganisedEvent, session: SessionDep, form: FormDep) -> Response:
    """Change the event's privacy notice and retention."""
    fields = ("controller", "contact", "notice", "retention_months")
    privacy.save_settings(session, event, valid(PrivacyForm, form, *fields))
    return see_other(f"/organiser/events/{event.id}/privacy?saved=1")
