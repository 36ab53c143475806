"""The "one year on" report: what became of an event, for the board or the next event —
actions done with their last news, what is still open and who carries it, pledges and their
answers, and the dashboard's figures — as a page to print and as a Word document."""

import io
from dataclasses import dataclass

import docx
from docx.shared import Mm, Pt
from sqlmodel import Session

from app import i18n
from app.i18n import _
from app.models import ActionStatus, Event
from app.models.event import as_typed
from app.models.outcomes import STATUS_LABELS
from app.services import followup_stats
from app.services.actions import ActionLine, action_lines
from app.services.followup_stats import Dashboard, Figure


@dataclass
class OneYearOn:
    """The report's parts, in the order it tells them."""

    event: Event
    board: Dashboard
    done: list[ActionLine]
    still_open: list[ActionLine]
    dropped: list[ActionLine]
    language: str

    def as_at(self) -> str:
        with i18n.speaking(self.language):
            return i18n.when(self.board.now, self.event.zone, "d MMMM y")


def report(session: Session, event: Event) -> OneYearOn:
    """The report of the event as at the app's clock."""
    lines = action_lines(session, event)
    by_status: dict[str, list[ActionLine]] = {"done": [], "open": [], "dropped": []}
    for line in lines:
        status = line.action.status
        key = status if status in (ActionStatus.done, ActionStatus.dropped) else "open"
        by_status[key].append(line)
    return OneYearOn(
        event=event,
        board=followup_stats.dashboard(session, event),
        done=by_status["done"],
        still_open=by_status["open"],
        dropped=by_status["dropped"],
        language=i18n.current(),
    )


def news(line: ActionLine) -> str:
    """An action's last update in a line: when, and what it said."""
    update = line.last_update
    if update is None:
        return _("No update since the day.")
    said = f": {update.note}" if update.note else ""
    return _("Last update %(date)s", date=i18n.when(update.created_at, None, "medium")) + said


def to_docx(the_report: OneYearOn) -> bytes:
    """The report as a Word document (A4): the figures as tables (Word takes no SVG chart)."""
    with i18n.speaking(the_report.language):
        return _docx(the_report)


def _docx(the_report: OneYearOn) -> bytes:
    event, board = the_report.event, the_report.board
    document = docx.Document()
    document.core_properties.title = as_typed(f"{_('One year on')}: {event.name}")
    document.core_properties.author = "OpenSpace"
    document.core_properties.language = the_report.language
    page = document.sections[0]
    page.page_width, page.page_height = Mm(210), Mm(297)
    document.styles["Normal"].font.size = Pt(11)

    def text(value: str, style: str = "Normal") -> None:
        document.add_paragraph(as_typed(value), style=style)

    text(f"{_('One year on')}: {event.name}", "Title")
    if event.theme_question:
        text(event.theme_question, "Intense Quote")
    text(_("As at %(date)s.", date=the_report.as_at()))
    counts = "; ".join(f"{STATUS_LABELS[status]}: {n}" for status, n in board.counts.items() if n)
    text(f"{_('Actions agreed')}: {board.total}. {counts}")

    for heading, lines, with_owner in (
        (_("Done"), the_report.done, False),
        (_("Still open, and who carries it"), the_report.still_open, True),
        (_("Dropped"), the_report.dropped, False),
    ):
        document.add_heading(as_typed(f"{heading} ({len(lines)})"), level=1)
        if not lines:
            text(_("None."))
        for line in lines:
            facts = [line.report_title]
            if with_owner:
                facts.append(f"{_('Owner:')} {line.owner}")
                facts.append(str(STATUS_LABELS[ActionStatus(line.action.status)]))
            text(f"{line.action.title} — {', '.join(facts)}. {news(line)}", "List Bullet")

    document.add_heading(as_typed(_("Pledges and how they went")), level=1)
    text(next(f.summary for f in board.figures if f.key == "pledges"))
    for answer in board.answers:
        text(f"{answer.text} — {answer.answer}", "List Bullet")

    document.add_heading(as_typed(_("Figures")), level=1)
    for figure in board.figures:
        _figure(document, figure)
    data = io.BytesIO()
    document.save(data)
    return data.getvalue()


def _figure(document: docx.document.Document, figure: Figure) -> None:
    document.add_heading(as_typed(figure.title), level=2)
    document.add_paragraph(as_typed(figure.summary))
    table = document.add_table(rows=1, cols=len(figure.columns) + 1)
    table.style = "Table Grid"
    for cell, heading in zip(table.rows[0].cells, [figure.label, *figure.columns], strict=True):
        cell.text = as_typed(heading)
    for label, values in figure.rows:
        cells = table.add_row().cells
        cells[0].text = as_typed(label)
        for cell, value in zip(cells[1:], values, strict=True):
            cell.text = str(value)
