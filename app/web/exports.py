"""Downloads for organisers and facilitators: the action list as CSV, XLSX or JSON."""

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app.services import calendars, exports
from app.web.common import ICS, download
from app.web.deps import FacilitatedEvent, SessionDep

router = APIRouter(prefix="/events/{event_id}/export")

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def _file_name(name: str, what: str, fmt: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:60] or "event"
    return f"{slug}-{what}.{fmt}"


@router.get("/actions.{fmt}")
def export_actions(
    request: Request, fmt: str, event: FacilitatedEvent, session: SessionDep
) -> Response:
    """The action list, filtered by theme, status, owner, session or slot; `personal=0` leaves
    out participants' names."""
    if fmt == "ics":
        return download(
            calendars.action_due_dates(session, event),
            ICS,
            _file_name(event.name, "action-due-dates", "ics"),
        )
    if fmt not in exports.FORMATS:
        raise HTTPException(404, "Actions can be exported as csv, xlsx, json or ics.")
    wanted = exports.ActionFilter.from_query(request.query_params)
    personal = request.query_params.get("personal") != "0"
    body = exports.actions_file(session, event, fmt, wanted, personal=personal)
    name = _file_name(event.name, "actions" if personal else "actions-anonymous", fmt)
    return download(body, MEDIA[fmt], name)


@router.get("/sessions.ics")
def export_sessions(event: FacilitatedEvent, session: SessionDep) -> Response:
    """Every plenary and session of the event, for a calendar."""
    return download(
        calendars.sessions(session, event), ICS, _file_name(event.name, "sessions", "ics")
    )
