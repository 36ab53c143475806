"""The "one year on" report of an event: a page to print (or save as PDF) and a Word file."""

from fastapi import Depends, Request
from fastapi.responses import Response

from app.models.outcomes import STATUS_LABELS
from app.services import charts, one_year_on
from app.templating import render_part
from app.web.kit.audit import audited_download
from app.web.kit.common import download
from app.web.kit.deps import OrganisedEvent, SessionDep
from app.web.kit.routing import Router
from app.web.organiser.exports import MEDIA, file_name

router = Router(prefix="/organiser", dependencies=[Depends(audited_download)])


@router.get("/events/{event_id}/one-year-on")
def one_year_on_page(request: Request, event: OrganisedEvent, session: SessionDep) -> Response:
    the_report = one_year_on.report(session, event)
    page = render_part(
        request,
        "print/one_year_on.html",
        {
            "the_report": the_report,
            "charts": {f.key: charts.draw(f) for f in the_report.board.figures},
            "status_labels": STATUS_LABELS,
            "news": {
                line.action.id: one_year_on.news(line)
                for line in (*the_report.done, *the_report.still_open, *the_report.dropped)
            },
        },
    )
    return Response(page, media_type="text/html; charset=utf-8")


@router.get("/events/{event_id}/one-year-on.docx")
def one_year_on_docx(event: OrganisedEvent, session: SessionDep) -> Response:
    body = one_year_on.to_docx(one_year_on.report(session, event))
    return download(body, MEDIA["docx"], file_name(event.name, "one-year-on", "docx"))
