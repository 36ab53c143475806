"""The book of proceedings: every session's report, its actions, and the actions by theme.

Read in a fixed handful of queries whatever the size of the event, then written out as Markdown
or DOCX (python-docx) here, or as a print-ready HTML page by the web layer. "Without personal
data" leaves out the names of participants; e-mail addresses appear only for people who agreed
to share them.
"""

import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import docx
from babel.support import LazyProxy
from docx.oxml.ns import nsmap, qn
from docx.shared import Mm, Pt
from lxml import etree  # type: ignore[import-untyped]
from sqlalchemy import func
from sqlmodel import Session, col, select

from app import i18n
from app.i18n import _, lazy, ngettext
from app.models import (
    CoConvener,
    Dot,
    Event,
    Participant,
    SignUp,
    Slot,
    Space,
    Theme,
    Topic,
)
from app.models.base import utcnow
from app.models.event import as_typed
from app.models.outcomes import (
    KIND_LABELS,
    STATUS_LABELS,
    ActionStatus,
    Attendance,
    Contribution,
    ContributionKind,
    Pledge,
)
from app.services import actions as action_service
from app.services import check_out as check_out_service
from app.services import participants
from app.services import reports as report_service
from app.services import taking_part as taking_part_service
from app.services.errors import NotFound


class NoReportYet(NotFound):
    """The book appears with the first report."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "No report is in yet: the book of proceedings appears as soon as the first "
                "session has written something."
            )
        )


# An action counts as agreed once the group agreed it, whatever became of it since; one that
# is only proposed, or was dropped, is not (the summary counts every status on its own).
AGREED = frozenset({ActionStatus.agreed, ActionStatus.in_progress, ActionStatus.done})
TOP_THEMES, TOP_REPORTS, TOP_ACTIONS = 5, 3, 5


@dataclass
class Chapter:
    """One session's report as the book prints it."""

    topic: Topic
    slot: Slot
    space: Space
    complete: bool
    conveners: list[str]
    people: list[str]
    entries: dict[ContributionKind, list[str]]
    actions: list[action_service.ActionLine]
    dots: int = 0

    @property
    def anchor(self) -> str:
        return f"session-{self.topic.id}"


@dataclass
class ThemeActions:
    name: str | LazyProxy
    actions: list[action_service.ActionLine]
    in_framework: bool = True

    @property
    def done(self) -> int:
        return sum(line.action.status == ActionStatus.done for line in self.actions)


@dataclass
class Counts:
    """The figures of the day, each counting exactly what its label says."""

    people: int
    topics: int
    sessions: int  # held: their time has begun
    to_come: int  # on the agenda, their time still to come
    reports: int
    agreed: int
    pledges: int


@dataclass
class Book:
    event: Event
    personal: bool
    counts: Counts
    chapters: list[Chapter]
    unreported: list[report_service.SessionLine]
    themes: list[ThemeActions]
    # The closing circle's check-out (names only on a named answer, in a book with names).
    check_out: check_out_service.Answers | None = None
    made_at: datetime = field(default_factory=utcnow)

    @property
    def language(self) -> str:
        """The book is written in the event's first language (the projector's), for everyone."""
        return self.event.offered[0]

    def when(self, moment: datetime, style: str = "time") -> str:
        """A moment at the venue, written the way the book's language writes it."""
        return i18n.when(moment, self.event.zone, style)

    def day(self, value: date) -> str:
        """A date in words ("28 February 2027"), never as digits a reader must decode."""
        return i18n.when(value, None, "date")

    def owner(self, line: action_service.ActionLine) -> str:
        """The owner as this book may show them."""
        return line.owner if self.personal or line.action.owner_id is None else ""

    def figures(self) -> list[tuple[int, str]]:
        """Each figure with its label, counted in the language being written."""
        n = self.counts
        return [
            (n.people, ngettext("person joined", "people joined", n.people)),
            (n.topics, ngettext("topic proposed", "topics proposed", n.topics)),
            (n.sessions, ngettext("session held", "sessions held", n.sessions)),
            *(
                [
                    (
                        n.to_come,
                        ngettext("session still to come", "sessions still to come", n.to_come),
                    )
                ]
                if n.to_come
                else []
            ),
            (n.reports, ngettext("report written", "reports written", n.reports)),
            (n.agreed, ngettext("action agreed", "actions agreed", n.agreed)),
            (n.pledges, ngettext("pledge made", "pledges made", n.pledges)),
        ]

    @property
    def actions(self) -> list[action_service.ActionLine]:
        return [line for chapter in self.chapters for line in chapter.actions]

    def top_themes(self) -> list[ThemeActions]:
        """The framework's themes with the most actions (ties in the framework's order)."""
        framework = [theme for theme in self.themes if theme.in_framework]
        return sorted(framework, key=lambda theme: -len(theme.actions))[:TOP_THEMES]

    def by_status(self) -> list[tuple[ActionStatus, int]]:
        """How many actions are at each status, every status listed (a zero says something)."""
        counted = Counter(ActionStatus(line.action.status) for line in self.actions)
        return [(status, counted[status]) for status in ActionStatus]

    def most_voted_reports(self) -> list[Chapter]:
        voted = [chapter for chapter in self.chapters if chapter.dots]
        return sorted(voted, key=lambda chapter: -chapter.dots)[:TOP_REPORTS]

    def most_voted_actions(self) -> list[action_service.ActionLine]:
        voted = [line for line in self.actions if line.dots]
        return sorted(voted, key=lambda line: -line.dots)[:TOP_ACTIONS]

    def action_facts(self, line: action_service.ActionLine) -> str:
        """An action's status, owner, due date and first step, in one line of words."""
        action = line.action
        facts = [str(STATUS_LABELS[ActionStatus(action.status)])]
        if owner := self.owner(line):
            facts.append(_("owner: %(name)s", name=owner))
        if action.due_on:
            facts.append(_("due %(date)s", date=self.day(action.due_on)))
        text = f"({'; '.join(facts)})"
        if action.first_step:
            text += " — " + _("first step: %(step)s", step=action.first_step)
        return text

    def check_out_summary(self) -> str:
        """How many answered the check-out, and how useful they found the day."""
        answers = self.check_out
        if answers is None:
            return ""
        marks = ", ".join(f"{mark}: {n}" for mark, n in answers.marks)
        return ngettext(
            "%(num)d answer to “What will you take with you?”. How useful was today, "
            "from 1 to 5: %(average)s on average (%(marks)s).",
            "%(num)d answers to “What will you take with you?”. How useful was today, "
            "from 1 to 5: %(average)s on average (%(marks)s).",
            answers.count,
            average=f"{answers.average or 0:.1f}",
            marks=marks,
        )

    def check_out_lines(self) -> list[str]:
        """Each check-out answer that has words: the words, the mark, a name if it has one."""
        answers = self.check_out.lines if self.check_out else []
        return [
            f"{line.words} ({line.usefulness}/5" + (f", {line.name})" if line.name else ")")
            for line in answers
            if line.words
        ]

    def cover_line(self) -> str:
        """What the book is, of which day, where, and whether it holds names."""
        parts = [_("Book of proceedings"), i18n.when(self.event.starts_on, None, "weekday_year")]
        if self.event.venue:
            parts.append(self.event.venue)
        if not self.personal:
            parts.append(_("without personal data"))
        return " · ".join(parts)


def book(
    session: Session,
    event: Event,
    *,
    personal: bool = True,
    lines: list[action_service.ActionLine] | None = None,
) -> Book:
    """The book of proceedings of the event (`lines`: its actions, when read already);
    NoReportYet before the first report is in."""
    held = report_service.sessions(session, event)
    written = [line for line in held if line.report and (line.contributions or line.actions)]
    if not written:
        raise NoReportYet
    report_ids = [line.report.id for line in written if line.report]
    topic_ids = {line.topic.id for line in written}
    entries: dict[int, dict[ContributionKind, list[str]]] = defaultdict(
        lambda: {kind: [] for kind in ContributionKind}
    )
    for report_id, kind, body in session.exec(
        select(Contribution.report_id, Contribution.kind, Contribution.body)
        .where(col(Contribution.report_id).in_(report_ids), col(Contribution.hidden).is_(False))
        .order_by(col(Contribution.id))
    ):
        entries[report_id][ContributionKind(kind)].append(body)
    actions: dict[int, list[action_service.ActionLine]] = defaultdict(list)
    for action_line in action_service.action_lines(session, event) if lines is None else lines:
        actions[action_line.action.report_id].append(action_line)
    report_dots: dict[int, int] = dict(
        session.exec(  # type: ignore[arg-type]
            select(Dot.report_id, func.count())
            .where(col(Dot.report_id).in_(report_ids))
            .group_by(col(Dot.report_id))
        ).all()
    )
    names = _people_names(session, event) if personal else {}
    signed: dict[int, set[int]] = defaultdict(set)
    corrections: dict[int, list[Attendance]] = defaultdict(list)
    convening: dict[int, list[int]] = {
        line.topic.id or 0: [line.topic.convener_id] for line in written
    }
    if personal:
        for topic_id, participant_id in session.exec(
            select(SignUp.topic_id, SignUp.participant_id).where(
                col(SignUp.topic_id).in_(topic_ids)
            )
        ):
            signed[topic_id].add(participant_id)
        for row in session.exec(
            select(Attendance).where(col(Attendance.report_id).in_(report_ids))
        ):
            corrections[row.report_id].append(row)
        for topic_id, participant_id in session.exec(
            select(CoConvener.topic_id, CoConvener.participant_id).where(
                col(CoConvener.topic_id).in_(topic_ids)
            )
        ):
            convening[topic_id].append(participant_id)
    chapters = []
    for line in written:
        assert line.report is not None and line.report.id is not None
        topic_id, report_id = line.topic.id or 0, line.report.id
        present = taking_part_service.taking_part_ids(signed[topic_id], corrections[report_id])
        chapters.append(
            Chapter(
                topic=line.topic,
                slot=line.slot,
                space=line.space,
                complete=line.report.completed_at is not None,
                conveners=[names.get(pid, "?") for pid in convening[topic_id]] if personal else [],
                people=[
                    person.name
                    for person in taking_part_service.who_took_part(
                        present, corrections[report_id], names
                    )
                ],
                entries=entries[report_id],
                actions=actions[report_id],
                dots=report_dots.get(report_id, 0),
            )
        )
    all_actions = [a for chapter in chapters for a in chapter.actions]
    answers = check_out_service.answers(session, event)
    if not personal:
        for answer in answers.lines:
            answer.name = ""
    return Book(
        event=event,
        personal=personal,
        counts=_counts(session, event, [line.slot for line in held], len(chapters), all_actions),
        chapters=chapters,
        unreported=[line for line in held if line.topic.id not in topic_ids],
        themes=_by_theme(session, event, all_actions),
        check_out=answers if answers.lines else None,
    )


def _people_names(session: Session, event: Event) -> dict[int, str]:
    """Every participant's name, with their e-mail where they agreed to share it."""
    return {
        pid: f"{name} ({email})" if email else name
        for pid, (name, email) in participants.contacts(session, event).items()
    }


def _counts(
    session: Session,
    event: Event,
    slots: list[Slot],
    reports: int,
    actions: list[action_service.ActionLine],
) -> Counts:
    """The day's figures; a session on the agenda counts as held once its time has begun."""
    now = utcnow()
    held = sum(1 for slot in slots if slot.starts_at <= now)

    def count(table: type[Participant] | type[Topic] | type[Pledge]) -> int:
        return session.exec(
            select(func.count()).select_from(table).where(table.event_id == event.id)
        ).one()

    return Counts(
        people=count(Participant),
        topics=count(Topic),
        sessions=held,
        to_come=len(slots) - held,
        reports=reports,
        agreed=sum(ActionStatus(line.action.status) in AGREED for line in actions),
        pledges=count(Pledge),
    )


def _by_theme(
    session: Session, event: Event, actions: list[action_service.ActionLine]
) -> list[ThemeActions]:
    """The actions under each theme of the event's framework (in its order), then the rest."""
    themes = session.exec(
        select(Theme.name).where(Theme.event_id == event.id).order_by(col(Theme.position))
    ).all()
    summary = [ThemeActions(name, [a for a in actions if name in a.themes]) for name in themes]
    rest = [a for a in actions if not a.themes]
    if rest:
        summary.append(ThemeActions(lazy("Not under a theme"), rest, in_framework=False))
    return [theme for theme in summary if theme.actions]


# --- Markdown ------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")
_LINE_START = re.compile(r"^(\s*)([-+]|\d+\.)(\s)", re.MULTILINE)


def _md(text: str) -> str:
    """Text that Markdown shows as typed: no emphasis, links, HTML or lists made by accident."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), text)
    return text.replace("\n", "  \n")


def _summary_lines(the_book: Book) -> list[tuple[str, list[str]]]:
    """The summary's sections, each a heading and its lines (read the same in every format)."""
    themes = [f"{theme.name} — {_tally(theme)}" for theme in the_book.top_themes()] or [
        _("No action is under a theme of the framework yet.")
    ]
    reports = [
        f"{_dots(chapter.dots)} — {chapter.topic.title}"
        for chapter in the_book.most_voted_reports()
    ]
    actions = [
        f"{_dots(line.dots)} — {line.action.title} ({line.report_title})"
        for line in the_book.most_voted_actions()
    ]
    nothing = [_("No dots have been placed yet.")]
    return [
        (_("Top themes"), themes),
        (_("Most voted reports"), reports or nothing),
        (_("Most voted actions"), actions or nothing),
    ]


def _tally(theme: ThemeActions) -> str:
    return ngettext(
        "%(num)d action, %(done)d done",
        "%(num)d actions, %(done)d done",
        len(theme.actions),
        done=theme.done,
    )


def _dots(n: int) -> str:
    return ngettext("%(num)d dot", "%(num)d dots", n)


def to_markdown(the_book: Book) -> bytes:
    """The book as Markdown, in the book's language."""
    with i18n.speaking(the_book.language):
        return _markdown(the_book)


def _markdown(the_book: Book) -> bytes:
    event = the_book.event
    out = [f"# {_md(event.name)}", ""]
    if event.theme_question:
        out += [f"*{_md(event.theme_question)}*", ""]
    out += [_md(the_book.cover_line()), ""]
    out += [f"- **{n}** {label}" for n, label in the_book.figures()]
    out += ["", f"## {_('Summary')}"]
    for heading, lines in _summary_lines(the_book):
        out += ["", f"### {heading}", ""] + [f"- {_md(line)}" for line in lines]
    out += ["", f"### {_('Actions by status')}", ""]
    out += [f"- {STATUS_LABELS[status]}: {n}" for status, n in the_book.by_status()]
    out += ["", f"## {_('Contents')}", ""]
    for chapter in the_book.chapters:
        out.append(f"- [{_md(chapter.topic.title)}](#{chapter.anchor})")
    if the_book.themes:
        out.append(f"- {_('Actions by theme')}")
    if the_book.check_out:
        out.append(f"- {_('Check-out')}")
    if the_book.unreported:
        out.append(f"- {_('Sessions without a report')}")
    for chapter in the_book.chapters:
        out += ["", f'<a id="{chapter.anchor}"></a>', "", f"## {_md(chapter.topic.title)}", ""]
        out.append(
            f"{the_book.when(chapter.slot.starts_at, 'day_time')} · {_md(chapter.space.name)}"
            + ("" if chapter.complete else f" · *{_('still being written')}*")
        )
        if chapter.conveners:
            out += ["", f"{_('Convened by')} {_md(', '.join(chapter.conveners))}"]
        if chapter.people:
            taking_part = _("Taking part (%(count)s):", count=len(chapter.people))
            out += ["", f"{taking_part} {_md(', '.join(chapter.people))}"]
        for kind, label in KIND_LABELS.items():
            if chapter.entries[kind]:
                out += ["", f"### {label}", ""]
                out += [f"- {_md(body)}" for body in chapter.entries[kind]]
        if chapter.actions:
            out += ["", f"### {_('Actions')}", ""]
            out += [
                f"- {_md(line.action.title)} {_md(the_book.action_facts(line))}"
                for line in chapter.actions
            ]
    if the_book.themes:
        out += ["", f"## {_('Actions by theme')}"]
        for theme in the_book.themes:
            out += ["", f"### {_md(str(theme.name))} — {_tally(theme)}", ""]
            out += [
                f"- {_md(line.action.title)} — {_md(line.report_title)}" for line in theme.actions
            ]
    if the_book.check_out:
        out += ["", f"## {_('Check-out')}", "", _md(the_book.check_out_summary()), ""]
        out += [f"- {_md(line)}" for line in the_book.check_out_lines()]
    if the_book.unreported:
        out += ["", f"## {_('Sessions without a report')}", ""]
        out += [
            f"- {_md(line.topic.title)} ({the_book.when(line.slot.starts_at)}, "
            f"{_md(line.space.name)})"
            for line in the_book.unreported
        ]
    return ("\n".join(out) + "\n").encode()


# --- DOCX ----------------------------------------------------------------------------------

_W = {"w": nsmap["w"]}
_MARGIN = Mm(20)
_TEXT_WIDTH = Mm(170)  # A4 less the margins


def _element(parent: Any, tag: str, **attributes: str) -> Any:
    child = etree.SubElement(parent, qn(tag))
    for name, value in attributes.items():
        child.set(qn(f"w:{name}"), value)
    return child


def _run(parent: Any, text: str, *, bold: bool = False, size: int = 0) -> Any:
    """A run of text (`size` in points) with its line breaks kept and what XML forbids dropped."""
    run = _element(parent, "w:r")
    if bold or size:
        look = _element(run, "w:rPr")
        if bold:
            _element(look, "w:b")
        if size:
            _element(look, "w:sz", val=str(size * 2))
    for n, line in enumerate(as_typed(text).split("\n")):
        if n:
            _element(run, "w:br")
        piece = _element(run, "w:t")
        piece.set(qn("xml:space"), "preserve")
        piece.text = line
    return run


def _field(parent: Any, instruction: str, shown: str = "") -> None:
    """A field Word and LibreOffice work out when they lay the pages out (PAGE, PAGEREF…);
    `shown` until they do."""
    _element(_element(parent, "w:r"), "w:fldChar", fldCharType="begin")
    code = _element(_element(parent, "w:r"), "w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    _element(_element(parent, "w:r"), "w:fldChar", fldCharType="separate")
    _run(parent, shown)
    _element(_element(parent, "w:r"), "w:fldChar", fldCharType="end")


class _Writer:
    """Writes paragraphs before the section properties that close the document's body.

    Built as plain XML elements rather than through `add_paragraph`, which resolves the style
    by name and searches the body for its end on every call: that made a 600-page book take
    seconds.
    """

    def __init__(self, document: Any) -> None:
        self.document = document
        self.end = document.element.body.sectPr
        self.bookmarks = 0

    def paragraph(
        self, text: str, style_id: str, *, new_page: bool = False, bookmark: str = ""
    ) -> Any:
        paragraph = etree.Element(qn("w:p"), nsmap=_W)
        properties = _element(paragraph, "w:pPr")
        _element(properties, "w:pStyle", val=style_id)
        if new_page:
            _element(properties, "w:pageBreakBefore")
        if bookmark:  # what the contents link to, and take the page number of
            self.bookmarks += 1
            _element(paragraph, "w:bookmarkStart", id=str(self.bookmarks), name=bookmark)
        if text:
            _run(paragraph, text)
        if bookmark:
            _element(paragraph, "w:bookmarkEnd", id=str(self.bookmarks))
        self.end.addprevious(paragraph)
        return paragraph

    def figure(self, n: int, label: str) -> None:
        """A figure and its label in one line: the number is never far from what it counts."""
        paragraph = self.paragraph("", "Normal")
        _run(paragraph, str(n), bold=True, size=20)
        _run(paragraph, f" {label}", size=13)

    def contents_line(self, text: str, bookmark: str) -> None:
        """A line of the contents: a link to the part, dots, and the page it starts on."""
        paragraph = self.paragraph("", "Normal")
        tabs = _element(paragraph.find(qn("w:pPr")), "w:tabs")
        _element(tabs, "w:tab", val="right", leader="dot", pos=str(_TEXT_WIDTH.twips))
        link = _element(paragraph, "w:hyperlink", anchor=bookmark)
        _run(link, text)
        _element(_element(paragraph, "w:r"), "w:tab")
        _field(paragraph, f"PAGEREF {bookmark} \\h")

    def table(self, rows: list[tuple[str, str]], widths: tuple[Any, Any]) -> None:
        """A two-column table of the given widths, its first row the header."""
        table = self.document.add_table(rows=len(rows), cols=2)
        table.style = self.document.styles["Light List"]
        table.autofit = False
        for row, values in zip(table.rows, rows, strict=True):
            for cell, value, width in zip(row.cells, values, widths, strict=True):
                cell.width = width
                cell.text = as_typed(value)
            row.cells[1].paragraphs[0].alignment = 2  # figures line up on the right
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width


def _footer(document: Any) -> None:
    """ "Page 3 of 12" at the foot of every page, in the book's language."""
    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.alignment = 1  # centred
    pieces = re.split(r"(%\((?:page|pages)\)s)", _("Page %(page)s of %(pages)s"))
    for piece in pieces:
        if piece == "%(page)s":
            _field(paragraph._p, "PAGE", "1")
        elif piece == "%(pages)s":
            _field(paragraph._p, "NUMPAGES", "1")
        elif piece:
            _run(paragraph._p, piece)


def _update_fields_on_open(document: Any) -> None:
    """Ask Word to work out the contents' page numbers when the file is opened (LibreOffice
    always does); the element goes where the schema puts it, before the compatibility
    settings."""
    settings = document.settings.element
    update = etree.Element(qn("w:updateFields"), nsmap=_W)
    update.set(qn("w:val"), "true")
    compat = settings.find(qn("w:compat"))
    if compat is not None:
        compat.addprevious(update)
    else:
        settings.append(update)


def to_docx(the_book: Book) -> bytes:
    """A Word document: a cover with the figures, a one-page summary, contents with page
    numbers, a page per report and the actions by theme; page numbers at the foot."""
    with i18n.speaking(the_book.language):
        return _docx(the_book)


def _docx(the_book: Book) -> bytes:
    event = the_book.event
    document = docx.Document()
    document.core_properties.title = as_typed(f"{_('Book of proceedings')}: {event.name}")
    document.core_properties.author = "OpenSpace"
    document.core_properties.language = the_book.language
    page = document.sections[0]
    page.page_width, page.page_height = Mm(210), Mm(297)  # A4, not the template's Letter
    page.left_margin = page.right_margin = _MARGIN
    document.styles["Normal"].font.size = Pt(11)
    _footer(document)
    _update_fields_on_open(document)
    out = _Writer(document)
    out.paragraph(event.name, "Title")
    if event.theme_question:
        out.paragraph(event.theme_question, "IntenseQuote")
    out.paragraph(the_book.cover_line(), "Normal")
    for n, label in the_book.figures():
        out.figure(n, label)
    made = the_book.when(the_book.made_at, "d MMMM y, HH:mm")
    out.paragraph(_("Made %(time)s", time=made), "Normal")

    out.paragraph(_("Summary"), "Heading1", new_page=True, bookmark="summary")
    for heading, lines in _summary_lines(the_book):
        out.paragraph(heading, "Heading2")
        for text in lines:
            out.paragraph(text, "ListBullet")
    out.paragraph(_("Actions by status"), "Heading2")
    statuses = [(str(STATUS_LABELS[status]), str(n)) for status, n in the_book.by_status()]
    total = (_("Total"), str(len(the_book.actions)))
    out.table([(_("Status"), _("Actions")), *statuses, total], (Mm(60), Mm(25)))

    out.paragraph(_("Contents"), "Heading1", new_page=True)
    out.contents_line(_("Summary"), "summary")
    for chapter in the_book.chapters:
        out.contents_line(
            f"{chapter.topic.title} — {the_book.when(chapter.slot.starts_at)}, "
            f"{chapter.space.name}",
            _bookmark(chapter),
        )
    if the_book.themes:
        out.contents_line(_("Actions by theme"), "by_theme")
    if the_book.check_out:
        out.contents_line(_("Check-out"), "check_out")
    if the_book.unreported:
        out.contents_line(_("Sessions without a report"), "unreported")

    for chapter in the_book.chapters:
        out.paragraph(chapter.topic.title, "Heading1", new_page=True, bookmark=_bookmark(chapter))
        out.paragraph(
            f"{the_book.when(chapter.slot.starts_at, 'day_time')} · {chapter.space.name}"
            + ("" if chapter.complete else f" · {_('still being written')}"),
            "Normal",
        )
        if chapter.conveners:
            out.paragraph(f"{_('Convened by')} {', '.join(chapter.conveners)}", "Normal")
        if chapter.people:
            taking_part = _("Taking part (%(count)s):", count=len(chapter.people))
            out.paragraph(f"{taking_part} {', '.join(chapter.people)}", "Normal")
        for kind, kind_label in KIND_LABELS.items():
            if chapter.entries[kind]:
                out.paragraph(str(kind_label), "Heading2")
                for body in chapter.entries[kind]:
                    out.paragraph(body, "ListBullet")
        if chapter.actions:
            out.paragraph(_("Actions"), "Heading2")
            for line in chapter.actions:
                out.paragraph(f"{line.action.title} {the_book.action_facts(line)}", "ListBullet")
    if the_book.themes:
        out.paragraph(_("Actions by theme"), "Heading1", new_page=True, bookmark="by_theme")
        for theme in the_book.themes:
            out.paragraph(f"{theme.name} — {_tally(theme)}", "Heading2")
            for line in theme.actions:
                out.paragraph(f"{line.action.title} — {line.report_title}", "ListBullet")
    if the_book.check_out:
        out.paragraph(_("Check-out"), "Heading1", new_page=True, bookmark="check_out")
        out.paragraph(the_book.check_out_summary(), "Normal")
        for text in the_book.check_out_lines():
            out.paragraph(text, "ListBullet")
    if the_book.unreported:
        out.paragraph(_("Sessions without a report"), "Heading1", bookmark="unreported")
        for unreported in the_book.unreported:
            out.paragraph(
                f"{unreported.topic.title} ({the_book.when(unreported.slot.starts_at)}, "
                f"{unreported.space.name})",
                "ListBullet",
            )
    data = io.BytesIO()
    document.save(data)
    return data.getvalue()


def _bookmark(chapter: Chapter) -> str:
    return f"session_{chapter.topic.id}"  # Word's bookmark names take no hyphen
