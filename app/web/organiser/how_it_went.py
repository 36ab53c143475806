"""How the day went: the organiser's figures of the day, the morning after."""

from fastapi import Depends, Request
from fastapi.responses import Response

from app.services import charts, day_stats
from app.templating import render
from app.web.kit.audit import audited
from app.web.kit.deps import CurrentOrganiser, OrganisedEvent, SessionDep
from app.web.kit.routing import Router

router = Router(prefix="/organiser", dependencies=[Depends(audited)])


@router.get("/events/{event_id}/how-the-day-went")
def how_the_day_went(
    request: Request, event: OrganisedEvent, session: SessionDep, organiser: CurrentOrganiser
) -> Response:
    report = day_stats.day_report(session, event)
    return render(
        request,
        "organiser/how_it_went.html",
        {
            "organiser": organiser,
            "event": event,
            "report": report,
            "charts": {f.key: charts.draw(f) for f in report.figures} if report.ready else {},
        },
    )
