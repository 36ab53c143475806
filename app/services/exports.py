"""The action list in the files people use: CSV (for Excel, in any script), XLSX and JSON.

Every cell that a spreadsheet would read as a formula (it begins with =, +, -, @, a tab or a
carriage return) is neutralised with a leading apostrophe. An owner's e-mail appears only when
they agreed to share it; "without personal data" leaves out participants' names and e-mails.
"""

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from app.models import ActionStatus, Event
from app.models.base import row_id
from app.models.event import as_typed
from app.models.outcomes import STATUS_NAMES
from app.services import actions, participants

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx", "json")


def neutralised(value: object) -> object:
    """A cell value a spreadsheet will show as text, never run as a formula (and without
    what XML cannot hold, in text stored before it was cleaned where it is typed)."""
    if isinstance(value, str):
        value = as_typed(value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


@dataclass
class ActionFilter:
    """Which actions to export: every field empty means all of them."""

    theme: str = ""
    status: str = ""
    owner: str = ""
    session: int | None = None
    slot: int | None = None

    @classmethod
    def from_query(cls, params: Any) -> "ActionFilter":
        status = str(params.get("status") or "")
        return cls(
            theme=str(params.get("theme") or "").strip(),
            status=status if status in ActionStatus.__members__ else "",
            owner=str(params.get("owner") or "").strip(),
            session=row_id(params.get("session")),
            slot=row_id(params.get("slot")),
        )

    def keeps(self, line: actions.ActionLine) -> bool:
        action = line.action
        return (
            (not self.theme or self.theme.casefold() in (t.casefold() for t in line.themes))
            and (not self.status or action.status == self.status)
            and (not self.owner or self.owner.casefold() in line.owner.casefold())
            and (self.session is None or (line.topic is not None and line.topic.id == self.session))
            and (self.slot is None or (line.slot is not None and line.slot.id == self.slot))
        )


# Each column's width (in characters) and whether its text wraps: sized so that the sheet,
# printed landscape and fitted to the page's width, stays readable (a long title wraps onto
# a second line rather than widening its column).
COLUMNS = [
    ("Action", 28, True),
    ("Status", 11, False),
    ("Owner", 14, True),
    ("Owner e-mail", 18, True),
    ("Due", 11, False),
    ("First step", 20, True),
    ("Themes", 16, True),
    ("Session", 18, True),
    ("Time", 11, True),
    ("Space", 11, True),
    ("Group", 11, True),
    ("Dots", 5, False),
    ("Latest update", 22, True),
    ("Updated", 11, False),
]
DATE_FORMAT = "d mmm yyyy"  # 1 Sep 2027: a date nobody reads the wrong way round


def action_rows(
    session: Session,
    event: Event,
    wanted: ActionFilter,
    *,
    personal: bool = True,
    lines: list[actions.ActionLine] | None = None,
) -> list[dict[str, Any]]:
    """The event's actions as rows (column name → value); `lines` when read already."""
    rows = []
    emails = {pid: email for pid, (_, email) in participants.contacts(session, event).items()}
    for line in actions.action_lines(session, event) if lines is None else lines:
        if not wanted.keeps(line):
            continue
        action = line.action
        owner = line.owner if personal or action.owner_id is None else ""
        latest = line.last_update
        rows.append(
            {
                "Action": action.title,
                "Status": STATUS_NAMES[ActionStatus(action.status)],
                "Owner": owner,
                "Owner e-mail": emails.get(action.owner_id or 0, "") if personal else "",
                "Due": action.due_on,
                "First step": action.first_step,
                "Themes": "; ".join(line.themes),
                "Session": line.report_title,
                "Time": line.slot.starts_at.astimezone(event.zone).strftime("%Y-%m-%d %H:%M")
                if line.slot
                else "",
                "Space": line.space.name if line.space else "",
                "Group": line.group,
                "Dots": line.dots,
                "Latest update": latest.note if latest else "",
                "Updated": action.updated_at.astimezone(event.zone).date(),
            }
        )
    return rows


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows names in any script."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, *_ in COLUMNS])
    for row in rows:
        writer.writerow([neutralised(_plain(row[name])) for name, *_ in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else ("" if value is None else value)


def to_xlsx(rows: list[dict[str, Any]], event: Event) -> bytes:
    """A workbook: every action on one sheet (header frozen, filters on, real dates), and a
    sheet of counts per theme for a quick overview; each prints landscape, as wide as the
    page, with the header on every page. Written row by row (openpyxl's write-only mode),
    which keeps thousands of actions well under a second."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Actions")
    for index, (_, width, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    _for_print(sheet, f"Actions of {event.name}")
    header = Font(name="Calibri", bold=True)  # the default font, else a reader picks a serif
    sheet.append([_cell(sheet, name, font=header, wrap=True) for name, *_ in COLUMNS])
    for number, row in enumerate(rows, start=2):
        values = [neutralised(row[name]) for name, *_ in COLUMNS]
        # A spreadsheet does not grow a row for its wrapped text when it opens the file
        # (LibreOffice's rows overlapped), so each row says how tall its longest cell is.
        sheet.row_dimensions[number].height = LINE_HEIGHT * _lines(values)
        sheet.append([_cell(sheet, v, wrap=c[2]) for v, c in zip(values, COLUMNS, strict=True)])
    by_theme = book.create_sheet("By theme")
    by_theme.column_dimensions["A"].width = 60
    by_theme.freeze_panes = "A2"
    _for_print(by_theme, f"Actions of {event.name}: by theme")
    by_theme.append([_cell(by_theme, name, font=header) for name in ("Theme", "Actions", "Done")])
    counts: dict[str, list[int]] = {}
    for row in rows:
        for theme in str(row["Themes"]).split("; ") if row["Themes"] else ["(no theme)"]:
            tally = counts.setdefault(theme, [0, 0])
            tally[0] += 1
            tally[1] += row["Status"] == STATUS_NAMES[ActionStatus.done]
    for theme, (total, done) in sorted(counts.items()):
        by_theme.append([_cell(by_theme, neutralised(theme), wrap=True), total, done])
    book.properties.title = as_typed(f"Actions of {event.name}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _for_print(sheet: Any, title: str) -> None:
    """Printed, a sheet is landscape A4, one page wide (as many long as it takes), with its
    header row on every page, its title at the top and page numbers at the foot: handed to
    a board as it is, not seven pages of two columns each."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as the rows need
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    sheet.page_margins.left = sheet.page_margins.right = 0.4  # inches
    sheet.print_options.gridLines = True
    # & starts a code in a header or footer (&P is the page number), so a name's own & doubles.
    sheet.oddHeader.center.text = as_typed(title).replace("&", "&&")
    sheet.oddFooter.center.text = "&P / &N"


LINE_HEIGHT = 15  # points, for the default 11-point font


def _lines(values: list[object]) -> int:
    """How many lines the row's tallest cell wraps onto, roughly (a character is about a
    unit of column width; a word is not split)."""
    tallest = 1
    for value, (_, width, wrap) in zip(values, COLUMNS, strict=True):
        if wrap and isinstance(value, str):
            lines = sum(_wrapped(part, int(width * 1.1)) for part in value.split("\n"))
            tallest = max(tallest, lines)
    return min(tallest, 20)


def _wrapped(text: str, width: int) -> int:
    lines, used = 1, 0
    for word in text.split(" "):
        size = max(len(word), 1)
        if used and used + 1 + size > width:
            lines, used = lines + 1, 0
        used += size + (1 if used else 0)
        while used > width:  # a word longer than the column breaks across lines
            lines, used = lines + 1, used - width
    return lines


# One style object for every cell of a kind: openpyxl then stores it once in the workbook.
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")


def _cell(sheet: Any, value: Any, *, font: Font | None = None, wrap: bool = False) -> Cell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.alignment = _WRAP if wrap else _TOP
    if font is not None:
        cell.font = font
    if isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def json_key(column: str) -> str:
    """A column's name as a JSON key: "Owner e-mail" → "owner_email"."""
    return column.lower().replace("-", "").replace(" ", "_")


def as_document(rows: list[dict[str, Any]], event: Event) -> dict[str, Any]:
    """The action list as JSON data: the event, then each action with snake_case keys."""
    return {
        "event": {"id": event.id, "name": event.name, "starts_on": event.starts_on.isoformat()},
        "actions": [{json_key(k): _plain(v) for k, v in row.items()} for row in rows],
    }


def to_json(rows: list[dict[str, Any]], event: Event) -> bytes:
    return json.dumps(as_document(rows, event), ensure_ascii=False, indent=2).encode()


def actions_file(
    session: Session, event: Event, fmt: str, wanted: ActionFilter, *, personal: bool = True
) -> bytes:
    """The action list in one of FORMATS."""
    rows = action_rows(session, event, wanted, personal=personal)
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "xlsx":
        return to_xlsx(rows, event)
    if fmt == "json":
        return to_json(rows, event)
    raise ValueError(f"unknown format {fmt!r}")
