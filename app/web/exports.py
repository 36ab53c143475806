"""Downloads for organisers and facilitators: action lists, the book of proceedings,
calendars, printable pages, and the whole event as an archive."""

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlmodel import Session

from app.config import ROOT, Settings
from app.i18n import _
from app.models import Event, Participant, Slot, Space
from app.models.base import utcnow
from app.models.outcomes import KIND_LABELS, STATUS_LABELS
from app.services import (
    archive,
    calendars,
    exports,
    marketplace,
    outcomes,
    proceedings,
    signups,
    wall,
)
from app.services import events as event_service
from app.services.marketplace import TopicCard
from app.templating import render_part
from app.web.audit import audited_download
from app.web.common import ICS, absolute, download, qr_inline
from app.web.deps import FacilitatedEvent, RowId, SessionDep, SettingsDep, SignerDep
from app.web.middleware import OneTripRoute
from app.web.participant import device_path
from app.web.routing import Router

router = Router(
    route_class=OneTripRoute,
    prefix="/events/{event_id}",
    dependencies=[Depends(audited_download)],
)

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "ics": ICS,
    "zip": "application/zip",
}
BOOK_FORMATS = ("html", "md", "docx")
# What `openspace export --format` offers: the action list, the book, the sessions' calendar,
# and the archive of everything.
EVENT_FORMATS = (*exports.FORMATS, *BOOK_FORMATS, "ics", "zip")


def file_name(name: str, what: str, fmt: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:60] or "event"
    return f"{slug}-{what}.{fmt}"


def _personal(request: Request) -> bool:
    return request.query_params.get("personal") != "0"


def _printed(template: str, context: dict[str, Any], *, standalone: bool) -> str:
    """A print page; `standalone` carries its stylesheet inside, for a file on its own."""
    css = (ROOT / "static" / "css" / "print.css").read_text() if standalone else ""
    return render_part(None, template, {"inline_css": css, **context})


def book_html(book: proceedings.Book, *, standalone: bool, query: str = "") -> str:
    return _printed(
        "print/proceedings.html",
        {
            "book": book,
            "query": query,
            "kind_labels": KIND_LABELS,
            "status_labels": STATUS_LABELS,
        },
        standalone=standalone,
    )


@dataclass
class RoomSign:
    space: Space
    link: str
    qr: Markup
    sessions: list[tuple[Slot, TopicCard | None]]


def _wall(session: Session, event: Event) -> wall.Wall:
    return wall.build_wall(
        session,
        event,
        marketplace.topic_cards(session, event),
        event_service.slots(session, event),
        event_service.spaces(session, event),
        warn=False,
    )


def agenda_html(
    session: Session, settings: Settings, event: Event, *, standalone: bool, personal: bool = True
) -> str:
    """The agenda poster: the wall as it stands (with conveners), and the QR code to join."""
    join = absolute(settings, f"/j/{event.join_code}")
    return _printed(
        "print/agenda.html",
        {
            "event": event,
            "wall": _wall(session, event),
            "join_link": join,
            "personal": personal,
            "join_qr": qr_inline(join, _("QR code to join %(name)s", name=event.name)),
            "made_at": utcnow().astimezone(event.zone).strftime("%H:%M"),
        },
        standalone=standalone,
    )


def rooms_html(session: Session, settings: Settings, event: Event, *, standalone: bool) -> str:
    """A sign per space: its name, what happens there when, and a QR code to its page."""
    grid = _wall(session, event)
    signs = []
    for space in grid.spaces:
        link = absolute(settings, f"/e/{event.join_code}/spaces/{space.id}")
        signs.append(
            RoomSign(
                space,
                link,
                qr_inline(link, _("QR code of what happens in %(space)s", space=space.name)),
                [(slot, grid.card(slot, space)) for slot in grid.slots],
            )
        )
    return _printed("print/rooms.html", {"event": event, "signs": signs}, standalone=standalone)


def event_file(
    session: Session, settings: Settings, event: Event, fmt: str, *, personal: bool = True
) -> bytes:
    """One of EVENT_FORMATS as a file; NoReportYet (a 404 page) for the book before the
    first report."""
    if fmt in exports.FORMATS:
        return exports.actions_file(session, event, fmt, exports.ActionFilter(), personal=personal)
    if fmt in BOOK_FORMATS:
        book = proceedings.book(session, event, personal=personal)
        if fmt == "html":
            return book_html(book, standalone=True).encode()
        return proceedings.to_markdown(book) if fmt == "md" else proceedings.to_docx(book)
    if fmt == "ics":
        return calendars.sessions(session, event, personal=personal)
    if fmt == "zip":
        return event_archive(session, settings, event, personal=personal)
    raise ValueError(f"unknown format {fmt!r}")


ARCHIVE_README = """{name}
{line}

{what}, as exported on {when}.

{book}actions.csv, actions.xlsx, actions.json   the action list (CSV opens in Excel)
action-due-dates.ics, sessions.ics        calendars
agenda-poster.html, room-signs.html       the printable agenda and room signs
{dump}"""


def event_archive(
    session: Session, settings: Settings, event: Event, *, personal: bool = True
) -> bytes:
    """A ZIP of every export, and (with personal data) the JSON dump `openspace import` loads."""
    files: dict[str, bytes] = {}
    lines = outcomes.action_lines(session, event)
    try:
        book = proceedings.book(session, event, personal=personal, lines=lines)
    except proceedings.NoReportYet:
        book_line = "(no book of proceedings: no report had been written)\n"
    else:
        files["proceedings.html"] = book_html(book, standalone=True).encode()
        files["proceedings.docx"] = proceedings.to_docx(book)
        files["proceedings.md"] = proceedings.to_markdown(book)
        book_line = "proceedings.html, .docx, .md           the book of proceedings\n"
    rows = exports.action_rows(
        session, event, exports.ActionFilter(), personal=personal, lines=lines
    )
    files["actions.csv"] = exports.to_csv(rows)
    files["actions.xlsx"] = exports.to_xlsx(rows, event)
    files["actions.json"] = exports.to_json(rows, event)
    files["action-due-dates.ics"] = calendars.action_due_dates(
        session, event, personal=personal, lines=lines
    )
    files["sessions.ics"] = calendars.sessions(session, event, personal=personal)
    files["agenda-poster.html"] = agenda_html(
        session, settings, event, standalone=True, personal=personal
    ).encode()
    files["room-signs.html"] = rooms_html(session, settings, event, standalone=True).encode()
    if personal:
        data = archive.dump(session, event, schema=archive.schema_revision(session))
        files["event.json"] = archive.dumps(data)
        dump_line = (
            "event.json                                every row of the event: "
            "`openspace import` loads it into another OpenSpace\n"
        )
    else:
        dump_line = "(without personal data: no event.json, which holds everyone's names)\n"
    files["README.txt"] = ARCHIVE_README.format(
        name=event.name,
        line="=" * len(event.name),
        when=utcnow().astimezone(event.zone).strftime("%d %B %Y, %H:%M"),
        what="Everything OpenSpace holds about this event"
        if personal
        else "This event without personal data (no participants' names or e-mails)",
        book=book_line,
        dump=dump_line,
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for name, content in files.items():
            # XLSX and DOCX are ZIP files already: compressing them again gains nothing.
            packed = name.endswith((".xlsx", ".docx"))
            bundle.writestr(name, content, zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED)
    return out.getvalue()


@router.get("/proceedings")
def proceedings_page(request: Request, event: FacilitatedEvent, session: SessionDep) -> Response:
    """The book of proceedings as a print-ready page (print it, or save it as PDF)."""
    personal = _personal(request)
    book = proceedings.book(session, event, personal=personal)
    html = book_html(book, standalone=False, query="" if personal else "?personal=0")
    return Response(html, media_type=MEDIA["html"])


@router.get("/print/agenda")
def agenda_poster(event: FacilitatedEvent, session: SessionDep, settings: SettingsDep) -> Response:
    return Response(
        agenda_html(session, settings, event, standalone=False), media_type=MEDIA["html"]
    )


@router.get("/print/rooms")
def room_signs(event: FacilitatedEvent, session: SessionDep, settings: SettingsDep) -> Response:
    return Response(
        rooms_html(session, settings, event, standalone=False), media_type=MEDIA["html"]
    )


@router.get("/export/proceedings.{fmt}")
def export_proceedings(
    request: Request, fmt: str, event: FacilitatedEvent, session: SessionDep, settings: SettingsDep
) -> Response:
    if fmt not in BOOK_FORMATS:
        raise HTTPException(404, _("The book of proceedings comes as html, md or docx."))
    personal = _personal(request)
    body = event_file(session, settings, event, fmt, personal=personal)
    what = "proceedings" if personal else "proceedings-anonymous"
    return download(body, MEDIA[fmt], file_name(event.name, what, fmt))


@router.get("/export/archive.zip")
def export_archive(
    request: Request, event: FacilitatedEvent, session: SessionDep, settings: SettingsDep
) -> Response:
    """Every export in one file, with the JSON dump of the whole event."""
    personal = _personal(request)
    body = event_archive(session, settings, event, personal=personal)
    what = "archive" if personal else "archive-anonymous"
    return download(body, MEDIA["zip"], file_name(event.name, what, "zip"))


@router.get("/export/actions.{fmt}")
def export_actions(
    request: Request, fmt: str, event: FacilitatedEvent, session: SessionDep
) -> Response:
    """The action list, filtered by theme, status, owner, session or slot; `personal=0` leaves
    out participants' names."""
    if fmt == "ics":
        return download(
            calendars.action_due_dates(session, event),
            ICS,
            file_name(event.name, "action-due-dates", "ics"),
        )
    if fmt not in exports.FORMATS:
        raise HTTPException(404, _("Actions can be exported as csv, xlsx, json or ics."))
    wanted = exports.ActionFilter.from_query(request.query_params)
    personal = _personal(request)
    body = exports.actions_file(session, event, fmt, wanted, personal=personal)
    name = file_name(event.name, "actions" if personal else "actions-anonymous", fmt)
    return download(body, MEDIA[fmt], name)


@router.get("/export/sessions.ics")
def export_sessions(event: FacilitatedEvent, session: SessionDep) -> Response:
    """Every plenary and session of the event, for a calendar."""
    return download(
        calendars.sessions(session, event), ICS, file_name(event.name, "sessions", "ics")
    )


@router.get("/print/person")
def personal_agenda(
    participant: RowId,
    event: FacilitatedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
) -> Response:
    """One person's agenda on paper, printed at the desk for someone without a phone: their
    session in each slot and where it is, their waitlist places and their own topics, and a
    QR code that brings them back as themselves on a phone they borrow later."""
    person = session.get(Participant, participant)
    if person is None or person.event_id != event.id:
        raise HTTPException(404, _("There is no such participant in this event."))
    link = absolute(settings, device_path(signer, event, person))
    cards = marketplace.topic_cards(session, event)
    return Response(
        _printed(
            "print/personal.html",
            {
                "event": event,
                "person": person,
                "agenda": signups.my_agenda(session, event, person),
                "my_topics": [c for c in cards if c.topic.convener_id == person.id],
                "link": link,
                "qr": qr_inline(
                    link, _("QR code to continue as %(name)s", name=person.display_name)
                ),
            },
            standalone=False,
        ),
        media_type=MEDIA["html"],
    )
