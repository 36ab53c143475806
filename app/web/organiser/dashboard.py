"""The follow-up dashboard: what became of an event's actions, pledges and sessions, and of
every event an organiser runs, side by side."""

from fastapi import Depends, Request
from fastapi.responses import Response

from app.models.outcomes import STATUS_LABELS
from app.services import across_events, charts, followup_stats
from app.templating import render
from app.web.kit.audit import audited
from app.web.kit.deps import CurrentOrganiser, OrganisedEvent, SessionDep
from app.web.kit.routing import Router

router = Router(prefix="/organiser", dependencies=[Depends(audited)])


@router.get("/events/{event_id}/dashboard")
def followup_dashboard(
    request: Request, event: OrganisedEvent, session: SessionDep, organiser: CurrentOrganiser
) -> Response:
    board = followup_stats.dashboard(session, event)
    return render(
        request,
        "organiser/dashboard.html",
        {
            "organiser": organiser,
            "event": event,
            "board": board,
            "charts": {figure.key: charts.draw(figure) for figure in board.figures},
            "status_labels": STATUS_LABELS,
            "stale_days": followup_stats.STALE_AFTER.days,
        },
    )


@router.get("/dashboard")
def dashboard_across_events(
    request: Request, session: SessionDep, organiser: CurrentOrganiser
) -> Response:
    """What became of every event this organiser runs, side by side and in total."""
    board = across_events.across_events(session, organiser)
    return render(
        request,
        "organiser/across.html",
        {"organiser": organiser, "board": board, "stale_days": followup_stats.STALE_AFTER.days},
    )
