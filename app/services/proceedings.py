"""The book of proceedings: every session's report, its actions, and the actions by theme.

Read in a fixed handful of queries whatever the size of the event, then written out as Markdown
or DOCX (python-docx) here, or as a print-ready HTML page by the web layer. "Without personal
data" leaves out the names of participants; e-mail addresses appear only for people who agreed
to share them.
"""

import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import docx
from docx.oxml.ns import nsmap, qn
from docx.shared import Mm, Pt
from lxml import etree  # type: ignore[import-untyped]
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import lazy
from app.models import (
    CoConvener,
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
    KIND_NAMES,
    STATUS_NAMES,
    ActionStatus,
    Attendance,
    Contribution,
    ContributionKind,
    Pledge,
)
from app.services import outcomes, participants


class NoReportYet(Exception):
    """The book appears with the first report."""

    message = lazy(
        "No report is in yet: the book of proceedings appears as soon as the first session "
        "has written something."
    )


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
    actions: list[outcomes.ActionLine]

    @property
    def anchor(self) -> str:
        return f"session-{self.topic.id}"


@dataclass
class ThemeActions:
    name: str
    actions: list[outcomes.ActionLine]

    @property
    def done(self) -> int:
        return sum(line.action.status == ActionStatus.done for line in self.actions)


@dataclass
class Book:
    event: Event
    personal: bool
    figures: list[tuple[str, int]]
    chapters: list[Chapter]
    unreported: list[outcomes.SessionLine]
    themes: list[ThemeActions]
    made_at: datetime = field(default_factory=utcnow)

    def when(self, moment: datetime, fmt: str = "%H:%M") -> str:
        return moment.astimezone(self.event.zone).strftime(fmt)

    def owner(self, line: outcomes.ActionLine) -> str:
        """The owner as this book may show them."""
        return line.owner if self.personal or line.action.owner_id is None else ""


def book(
    session: Session,
    event: Event,
    *,
    personal: bool = True,
    lines: list[outcomes.ActionLine] | None = None,
) -> Book:
    """The book of proceedings of the event (`lines`: its actions, when read already);
    NoReportYet before the first report is in."""
    held = outcomes.sessions(session, event)
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
    actions: dict[int, list[outcomes.ActionLine]] = defaultdict(list)
    for action_line in outcomes.action_lines(session, event) if lines is None else lines:
        actions[action_line.action.report_id].append(action_line)
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
        present = outcomes.taking_part_ids(signed[topic_id], corrections[report_id])
        chapters.append(
            Chapter(
                topic=line.topic,
                slot=line.slot,
                space=line.space,
                complete=line.report.completed_at is not None,
                conveners=[names.get(pid, "?") for pid in convening[topic_id]] if personal else [],
                people=[
                    person.name
                    for person in outcomes.who_took_part(present, corrections[report_id], names)
                ],
                entries=entries[report_id],
                actions=actions[report_id],
            )
        )
    all_actions = [a for chapter in chapters for a in chapter.actions]
    return Book(
        event=event,
        personal=personal,
        figures=_figures(session, event, len(held), len(chapters), len(all_actions)),
        chapters=chapters,
        unreported=[line for line in held if line.topic.id not in topic_ids],
        themes=_by_theme(session, event, all_actions),
    )


def _people_names(session: Session, event: Event) -> dict[int, str]:
    """Every participant's name, with their e-mail where they agreed to share it."""
    return {
        pid: f"{name} ({email})" if email else name
        for pid, (name, email) in participants.contacts(session, event).items()
    }


def _figures(
    session: Session, event: Event, sessions: int, reports: int, actions: int
) -> list[tuple[str, int]]:
    def count(table: type[Participant] | type[Topic] | type[Pledge]) -> int:
        return session.exec(
            select(func.count()).select_from(table).where(table.event_id == event.id)
        ).one()

    return [
        ("people joined", count(Participant)),
        ("topics proposed", count(Topic)),
        ("sessions held", sessions),
        ("reports written", reports),
        ("actions agreed", actions),
        ("pledges made", count(Pledge)),
    ]


def _by_theme(
    session: Session, event: Event, actions: list[outcomes.ActionLine]
) -> list[ThemeActions]:
    """The actions under each theme of the event's framework (in its order), then the rest."""
    themes = session.exec(
        select(Theme.name).where(Theme.event_id == event.id).order_by(col(Theme.position))
    ).all()
    summary = [ThemeActions(name, [a for a in actions if name in a.themes]) for name in themes]
    rest = [a for a in actions if not a.themes]
    if rest:
        summary.append(ThemeActions("Not under a theme", rest))
    return [theme for theme in summary if theme.actions]


# --- Markdown ------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")
_LINE_START = re.compile(r"^(\s*)([-+]|\d+\.)(\s)", re.MULTILINE)


def _md(text: str) -> str:
    """Text that Markdown shows as typed: no emphasis, links, HTML or lists made by accident."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), text)
    return text.replace("\n", "  \n")


def _action_text(the_book: Book, line: outcomes.ActionLine) -> str:
    action = line.action
    facts = [STATUS_NAMES[ActionStatus(action.status)]]
    if owner := the_book.owner(line):
        facts.append(f"owner: {owner}")
    if action.due_on:
        facts.append(f"due {action.due_on.isoformat()}")
    text = f"{action.title} ({'; '.join(facts)})"
    if action.first_step:
        text += f" — first step: {action.first_step}"
    return text


def to_markdown(the_book: Book) -> bytes:
    event = the_book.event
    out = [f"# {_md(event.name)}", ""]
    if event.theme_question:
        out += [f"*{_md(event.theme_question)}*", ""]
    out += [
        f"Book of proceedings · {event.starts_on.strftime('%d %B %Y')}"
        + ("" if the_book.personal else " · without personal data")
        + (f" · {_md(event.venue)}" if event.venue else ""),
        "",
    ]
    out += [f"- **{n}** {label}" for label, n in the_book.figures] + ["", "## Contents", ""]
    for chapter in the_book.chapters:
        out.append(f"- [{_md(chapter.topic.title)}](#{chapter.anchor})")
    if the_book.themes:
        out.append("- Actions by theme")
    if the_book.unreported:
        out.append("- Sessions without a report")
    for chapter in the_book.chapters:
        out += ["", f'<a id="{chapter.anchor}"></a>', "", f"## {_md(chapter.topic.title)}", ""]
        out.append(
            f"{the_book.when(chapter.slot.starts_at, '%a %d %b %H:%M')} · {_md(chapter.space.name)}"
            + ("" if chapter.complete else " · *still being written*")
        )
        if chapter.conveners:
            out += ["", f"Convened by {_md(', '.join(chapter.conveners))}"]
        if chapter.people:
            out += ["", f"Taking part: {_md(', '.join(chapter.people))}"]
        for kind, label in KIND_NAMES.items():
            if chapter.entries[kind]:
                out += ["", f"### {label}", ""]
                out += [f"- {_md(body)}" for body in chapter.entries[kind]]
        if chapter.actions:
            out += ["", "### Actions", ""]
            out += [f"- {_md(_action_text(the_book, line))}" for line in chapter.actions]
    if the_book.themes:
        out += ["", "## Actions by theme"]
        for theme in the_book.themes:
            out += ["", f"### {_md(theme.name)} ({len(theme.actions)}, {theme.done} done)", ""]
            out += [
                f"- {_md(line.action.title)} — {_md(line.report_title)}" for line in theme.actions
            ]
    if the_book.unreported:
        out += ["", "## Sessions without a report", ""]
        out += [
            f"- {_md(line.topic.title)} ({the_book.when(line.slot.starts_at)}, "
            f"{_md(line.space.name)})"
            for line in the_book.unreported
        ]
    return ("\n".join(out) + "\n").encode()


# --- DOCX ----------------------------------------------------------------------------------


def _paragraph(end: Any, text: str, style_id: str, *, new_page: bool = False) -> None:
    """A paragraph in one of the template's styles (named by its id), before `end`: the
    section properties that close the document's body.

    Built as plain XML elements rather than through `add_paragraph`, which resolves the style
    by name and searches the body for its end on every call: that made a 600-page book take
    seconds. Line breaks stay line breaks; characters XML cannot hold are dropped.
    """
    paragraph = etree.Element(qn("w:p"), nsmap={"w": nsmap["w"]})
    properties = etree.SubElement(paragraph, qn("w:pPr"))
    etree.SubElement(properties, qn("w:pStyle")).set(qn("w:val"), style_id)
    if new_page:
        etree.SubElement(properties, qn("w:pageBreakBefore"))
    run = etree.SubElement(paragraph, qn("w:r"))
    for n, line in enumerate(as_typed(text).split("\n")):
        if n:
            etree.SubElement(run, qn("w:br"))
        piece = etree.SubElement(run, qn("w:t"))
        piece.set(qn("xml:space"), "preserve")
        piece.text = line
    end.addprevious(paragraph)


def to_docx(the_book: Book) -> bytes:
    """A Word document: cover with the figures, contents, a page per report, actions by theme."""
    event = the_book.event
    document = docx.Document()
    document.core_properties.title = as_typed(f"Book of proceedings: {event.name}")
    document.core_properties.author = "OpenSpace"
    page = document.sections[0]
    page.page_width, page.page_height = Mm(210), Mm(297)  # A4, not the template's Letter
    end = document.element.body.sectPr
    document.styles["Normal"].font.size = Pt(11)
    _paragraph(end, event.name, "Title")
    if event.theme_question:
        _paragraph(end, event.theme_question, "IntenseQuote")
    _paragraph(
        end,
        f"Book of proceedings · {event.starts_on.strftime('%d %B %Y')}"
        + (f" · {event.venue}" if event.venue else "")
        + ("" if the_book.personal else " · without personal data"),
        "Normal",
    )
    figures = document.add_table(rows=len(the_book.figures), cols=2)
    for row, (label, n) in zip(figures.rows, the_book.figures, strict=True):
        row.cells[0].text = str(n)
        row.cells[1].text = label
    _paragraph(end, "Contents", "Heading1")
    for chapter in the_book.chapters:
        _paragraph(
            end,
            f"{chapter.topic.title} — {the_book.when(chapter.slot.starts_at)}, "
            f"{chapter.space.name}",
            "ListNumber",
        )
    for chapter in the_book.chapters:
        _paragraph(end, chapter.topic.title, "Heading1", new_page=True)
        _paragraph(
            end,
            f"{the_book.when(chapter.slot.starts_at, '%a %d %b %H:%M')} · {chapter.space.name}"
            + ("" if chapter.complete else " · still being written"),
            "Normal",
        )
        if chapter.conveners:
            _paragraph(end, f"Convened by {', '.join(chapter.conveners)}", "Normal")
        if chapter.people:
            _paragraph(end, f"Taking part: {', '.join(chapter.people)}", "Normal")
        for kind, label in KIND_NAMES.items():
            if chapter.entries[kind]:
                _paragraph(end, label, "Heading2")
                for body in chapter.entries[kind]:
                    _paragraph(end, body, "ListBullet")
        if chapter.actions:
            _paragraph(end, "Actions", "Heading2")
            for line in chapter.actions:
                _paragraph(end, _action_text(the_book, line), "ListBullet")
    if the_book.themes:
        _paragraph(end, "Actions by theme", "Heading1", new_page=True)
        for theme in the_book.themes:
            _paragraph(end, f"{theme.name} ({len(theme.actions)}, {theme.done} done)", "Heading2")
            for line in theme.actions:
                _paragraph(end, f"{line.action.title} — {line.report_title}", "ListBullet")
    if the_book.unreported:
        _paragraph(end, "Sessions without a report", "Heading1")
        for unreported in the_book.unreported:
            _paragraph(
                end,
                f"{unreported.topic.title} ({the_book.when(unreported.slot.starts_at)}, "
                f"{unreported.space.name})",
                "ListBullet",
            )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
