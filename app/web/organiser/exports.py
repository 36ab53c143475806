"""Downloads for organisers and facilitators: action lists, the book of proceedings,
calendars, printable pages, and the whole event as an archive."""

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlmodel import Session

from app.config import ROOT, Settings
from app.i18n import _, speaking
from app.models import Event, Participant, Role, Slot, Space
from app.models.base import utcnow
from app.models.outcomes import KIND_LABELS, STATUS_LABELS
from app.services import (
    actions,
    archive,
    calendars,
    exports,
    marketplace,
    proceedings,
    signups,
    wall,
)
from app.services import events as event_service
from app.services.errors import NotFound
from app.services.marketplace import TopicCard
from app.templating import render_part
from app.web.facilitator.day import agenda_printed
from app.web.kit.audit import audited_download
from app.web.kit.common import ICS, absolute, download, qr_inline
from app.web.kit.deps import (
    FacilitatedEvent,
    MaybeOrganiser,
    RowId,
    SessionDep,
    SettingsDep,
    SignerDep,
    VisitorDep,
)
from app.web.kit.routing import Router
from app.web.participant.join import device_path

router = Router(
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


def may_download_personal_data(role: Role | None) -> bool:
    """Whether files and prints with people's names and e-mail addresses (and the archive,
    which holds every e-mail address) may be downloaded: by the event's organisers only. A
    facilitator link is a URL anyone can be handed; facilitators run the day on its pages.
    `role` is the visitor's account's role on the event; None for a facilitator link."""
    return role == Role.organiser


def download_role(
    event: FacilitatedEvent, session: SessionDep, organiser: MaybeOrganiser
) -> Role | None:
    """The role of the visitor's account on the event; None when only a facilitator link
    lets them in."""
    return event_service.role_of(session, event, organiser) if organiser is not None else None


DownloadRole = Annotated[Role | None, Depends(download_role)]


def _personal(request: Request, role: Role | None) -> bool:
    """With personal data unless asked without (`?personal=0`); whoever may not have it gets
    the version without, whatever they ask for."""
    return request.query_params.get("personal") != "0" and may_download_personal_data(role)


def _printed(template: str, context: dict[str, Any], *, standalone: bool) -> str:
    """A print page; `standalone` carries its stylesheet inside, for a file on its own."""
    # Our own stylesheet, as is: escaped, its quotes became &#34; and the rules that hold
    # them (fonts, the page numbers) were dropped.
    css = Markup((ROOT / "static" / "css" / "print.css").read_text()) if standalone else ""
    return render_part(None, template, {"inline_css": css, **context})


def book_html(
    book: proceedings.Book, *, standalone: bool, query: str = "", with_names: bool = True
) -> str:
    """The book as HTML, in the book's language (whoever prints it, the board reads one);
    `with_names` offers the version with names (to those who may)."""
    with speaking(book.language):
        return _printed(
            "print/proceedings.html",
            {
                "book": book,
                "query": query,
                "with_names": with_names,
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
    hall = event_service.plenary_space(grid.spaces)
    return _printed(
        "print/rooms.html", {"event": event, "signs": signs, "hall": hall}, standalone=standalone
    )


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
{warning}

{book}actions.csv, actions.xlsx, actions.json   the action list (CSV opens in Excel)
action-due-dates.ics, sessions.ics        calendars
agenda-poster.html, room-signs.html       the printable agenda and room signs
{dump}"""


def event_archive(
    session: Session, settings: Settings, event: Event, *, personal: bool = True
) -> bytes:
    """A ZIP of every export, and (with personal data) the JSON dump `openspace import` loads."""
    files: dict[str, bytes] = {}
    lines = actions.action_lines(session, event)
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
    warning = (
        "\nPERSONAL DATA. This archive holds personal data: event.json has the name of every\n"
        "participant and every e-mail address they gave, shared or not, and the e-mail\n"
        "addresses of the event's organisers and facilitators. Keep it as safe as the\n"
        "server it came from, share it with no one who would not see it there, and delete\n"
        "it when it is no longer needed. (The version without personal data leaves it out.)\n"
        if personal
        else ""
    )
    files["README.txt"] = ARCHIVE_README.format(
        warning=warning,
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
def proceedings_page(
    request: Request, event: FacilitatedEvent, session: SessionDep, role: DownloadRole
) -> Response:
    """The book of proceedings as a print-ready page (print it, or save it as PDF)."""
    personal = _personal(request, role)
    book = proceedings.book(session, event, personal=personal)
    html = book_html(
        book,
        standalone=False,
        query="" if personal else "?personal=0",
        with_names=may_download_personal_data(role),
    )
    return Response(html, media_type=MEDIA["html"])


@router.get("/print/agenda")
def agenda_poster(
    request: Request,
    event: FacilitatedEvent,
    session: SessionDep,
    settings: SettingsDep,
    role: DownloadRole,
) -> Response:
    personal = _personal(request, role)
    return Response(
        agenda_html(session, settings, event, standalone=False, personal=personal),
        media_type=MEDIA["html"],
    )


@router.get("/print/rooms")
def room_signs(event: FacilitatedEvent, session: SessionDep, settings: SettingsDep) -> Response:
    return Response(
        rooms_html(session, settings, event, standalone=False), media_type=MEDIA["html"]
    )


@router.get("/export/proceedings.{fmt}")
def export_proceedings(
    request: Request,
    fmt: str,
    event: FacilitatedEvent,
    session: SessionDep,
    settings: SettingsDep,
    role: DownloadRole,
) -> Response:
    if fmt not in BOOK_FORMATS:
        raise NotFound(_("The book of proceedings comes as html, md or docx."))
    personal = _personal(request, role)
    body = event_file(session, settings, event, fmt, personal=personal)
    what = "proceedings" if personal else "proceedings-anonymous"
    return download(body, MEDIA[fmt], file_name(event.name, what, fmt))


@router.get("/export/archive.zip")
def export_archive(
    request: Request,
    event: FacilitatedEvent,
    session: SessionDep,
    settings: SettingsDep,
    role: DownloadRole,
) -> Response:
    """Every export in one file, with the JSON dump of the whole event (organisers only:
    it holds everyone's e-mail address)."""
    personal = _personal(request, role)
    body = event_archive(session, settings, event, personal=personal)
    what = "archive-with-personal-data" if personal else "archive-anonymous"
    return download(body, MEDIA["zip"], file_name(event.name, what, "zip"))


@router.get("/export/actions.{fmt}")
def export_actions(
    request: Request, fmt: str, event: FacilitatedEvent, session: SessionDep, role: DownloadRole
) -> Response:
    """The action list, filtered by theme, status, owner, session or slot; `personal=0` leaves
    out participants' names."""
    personal = _personal(request, role)
    if fmt == "ics":
        return download(
            calendars.action_due_dates(session, event, personal=personal),
            ICS,
            file_name(event.name, "action-due-dates", "ics"),
        )
    if fmt not in exports.FORMATS:
        raise NotFound(_("Actions can be exported as csv, xlsx, json or ics."))
    wanted = exports.ActionFilter.from_query(request.query_params)
    body = exports.actions_file(session, event, fmt, wanted, personal=personal)
    name = file_name(event.name, "actions" if personal else "actions-anonymous", fmt)
    return download(body, MEDIA[fmt], name)


@router.get("/export/sessions.ics")
def export_sessions(
    request: Request, event: FacilitatedEvent, session: SessionDep, role: DownloadRole
) -> Response:
    """Every plenary and session of the event, for a calendar."""
    return download(
        calendars.sessions(session, event, personal=_personal(request, role)),
        ICS,
        file_name(event.name, "sessions", "ics"),
    )


@router.get("/print/person", dependencies=[Depends(agenda_printed)])
def personal_agenda(
    participant: RowId,
    event: FacilitatedEvent,
    session: SessionDep,
    settings: SettingsDep,
    signer: SignerDep,
    visitor: VisitorDep,
    organiser: MaybeOrganiser,
) -> Response:
    """One person's agenda on paper, printed at the desk for someone without a phone: their
    session in each slot and where it is, their waitlist places and their own topics, and a
    QR code that brings them back as themselves on a phone they borrow later."""
    person = session.get(Participant, participant)
    if person is None or person.event_id != event.id:
        raise NotFound(_("There is no such participant in this event."))
    # Printed through a facilitator link, the QR code works only while that link does: the
    # link cannot go on acting as everyone it printed for once it is revoked.
    on_the_team = organiser is not None and event_service.role_of(session, event, organiser)
    printed_by = None if on_the_team else visitor.facilitator_links.get(str(event.id))
    link = absolute(settings, device_path(signer, event, person, printed_by))
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
