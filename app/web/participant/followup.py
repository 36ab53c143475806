"""Follow-up without an account: an action's private update link, months after the event."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app.i18n import _
from app.models import Action, Event, Report, Topic
from app.models.outcomes import STATUS_LABELS, ProgressForm
from app.services import actions
from app.services.errors import NotFound
from app.templating import render
from app.web.kit.common import qr_svg, see_other
from app.web.kit.deps import FormDep, SessionDep, SettingsDep, SignerDep, verify_csrf
from app.web.kit.forms import FormErrors, valid
from app.web.kit.routing import Router
from app.web.participant.outcomes import STATUSES, update_link

router = Router(dependencies=[Depends(verify_csrf)])


def linked_action(token: str, session: SessionDep, signer: SignerDep) -> Action:
    action = actions.action_from_link(session, signer.read("action", token))
    if action is None:
        raise NotFound(
            _(
                "This update link no longer works: it may have been replaced by a newer one. "
                "Ask the event's organisers for the current link."
            ),
        )
    return action


LinkedAction = Annotated[Action, Depends(linked_action)]


def _page(
    request: Request,
    session: SessionDep,
    action: Action,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    error: str = "",
) -> Response:
    event = session.get_one(Event, action.event_id)
    report = session.get_one(Report, action.report_id)
    topic = session.get_one(Topic, report.topic_id)
    line = actions.action_line(session, action)
    return render(
        request,
        "followup/action.html",
        {
            "event": event,
            "topic": topic,
            "line": line,
            "action": action,
            "updates": actions.progress(session, action),
            "statuses": STATUSES,
            "status_labels": STATUS_LABELS,
            "values": values or {"status": action.status},
            "errors": errors or {},
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/a/{token}")
def action_update_page(request: Request, action: LinkedAction, session: SessionDep) -> Response:
    return _page(request, session, action)


@router.post("/a/{token}", again=_page)
def action_update(
    request: Request, token: str, action: LinkedAction, session: SessionDep, form: FormDep
) -> Response:
    data = valid(ProgressForm, form, "status", "note", "by")
    actions.post_progress(session, action, data, via_link=True, written_by="")
    return see_other(f"/a/{token}?saved=1#progress")


@router.get("/a/{token}/qr.svg")
def action_qr(action: LinkedAction, settings: SettingsDep, signer: SignerDep) -> Response:
    return qr_svg(update_link(settings, signer, action))
