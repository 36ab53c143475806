"""The book of proceedings: a print-ready page, a Word file and Markdown, from the first report
on; names in any script, e-mails only where shared, nothing typed taken for markup."""

import io
import re
from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from fastapi.testclient import TestClient
from sqlmodel import select

from app.config import Settings
from app.db import Database
from app.models import Contribution, ContributionKind, Event, Organiser, Slot, Topic
from app.models.base import set_clock
from app.models.outcomes import PledgeForm
from app.services import actions, convergence, demo, pledges, proceedings, reports
from tests.conftest import log_in, text_of
from tests.factories import Factory, placed_topic
from tests.integration.test_errors_and_cli import _cli

Exported = tuple[Organiser, Event, Topic, Topic]


@pytest.fixture
def after_the_day(exported: Exported, database: Database) -> Iterator[Exported]:
    """The event of `exported`, read a week after its last session (the clock moved on)."""
    with database.read() as session:
        last = max(slot.ends_at for slot in session.exec(select(Slot)).all())
    set_clock(last + timedelta(days=7))
    yield exported
    set_clock(None)


def test_the_proceedings_page_has_a_cover_contents_and_a_report_per_session(
    client: TestClient, after_the_day: Exported
) -> None:
    organiser, event, _, _ = after_the_day
    log_in(client, organiser.email)
    event_page = client.get(f"/organiser/events/{event.id}").text
    assert f'href="/events/{event.id}/proceedings"' in event_page
    page = client.get(f"/events/{event.id}/proceedings")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "How do we leave nobody behind?" in text
    assert "2 actions agreed" in text and "2 sessions held" in text
    assert '<a href="#session-' in page.text  # the contents link to each report
    assert "Night buses # matter <b>most</b>" in text  # shown as typed, not as markup
    assert "<b>most</b>" not in page.text
    assert "Zażółć Gęślą (zazolc@example.pl)" in text  # shared
    assert "private@example.org" not in page.text  # not shared
    assert "عائشہ خان" in text
    assert "Mobility" in text and "Actions by theme" in text
    anonymous = text_of(client.get(f"/events/{event.id}/proceedings?personal=0").text)
    assert "Zażółć" not in anonymous and "zazolc@example.pl" not in anonymous
    assert "Free bus passes for carers" in anonymous and "without personal data" in anonymous


def test_the_book_as_docx_opens_in_a_word_reader(
    client: TestClient, after_the_day: Exported
) -> None:
    organiser, event, _, _ = after_the_day
    log_in(client, organiser.email)
    response = client.get(f"/events/{event.id}/export/proceedings.docx")
    assert response.status_code == 200
    assert "proceedings.docx" in response.headers["content-disposition"]
    document = Document(io.BytesIO(response.content))
    paragraphs = [p.text for p in document.paragraphs]
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert document.paragraphs[0].text == "Łódź — اردو day"
    assert {"Contents", "Transport", "Housing", "Key points", "Actions by theme"} <= set(headings)
    assert "بس کا کرایہ *آدھا* ہو" in paragraphs
    assert any(p.startswith("Taking part (") and "عائشہ خان" in p for p in paragraphs)
    assert any("Free bus passes for carers (Agreed; owner: Zażółć Gęślą" in p for p in paragraphs)
    assert "2 actions agreed" in paragraphs and "2 sessions held" in paragraphs
    anonymous = Document(
        io.BytesIO(client.get(f"/events/{event.id}/export/proceedings.docx?personal=0").content)
    )
    assert not any("Zażółć" in p.text for p in anonymous.paragraphs)
    assert any("without personal data" in p.text for p in anonymous.paragraphs)
    assert round(document.sections[0].page_width.mm) == 210  # A4, as printed in Europe


def test_the_book_as_markdown_keeps_what_people_typed_as_text(
    client: TestClient, exported: Exported
) -> None:
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    markdown = client.get(f"/events/{event.id}/export/proceedings.md").content.decode()
    assert markdown.startswith("# Łódź — اردو day\n")
    assert "## Transport" in markdown and "### Next steps\n\n- Meet the council in June" in markdown
    assert r"- بس کا کرایہ \*آدھا\* ہو" in markdown
    assert r"Night buses \# matter \<b\>most\</b\>" in markdown
    assert "## Sessions without a report" not in markdown  # both sessions wrote something


def test_the_book_appears_with_the_first_report(
    client: TestClient, make: Factory, settings: Settings, tmp_path: Path
) -> None:
    organiser = make.organiser()
    event = make.event(organiser)
    slot = make.slot(event, time(10), time(11))
    placed_topic(make, event, slot, make.space(event), "Nothing written yet")
    log_in(client, organiser.email)
    page = client.get(f"/events/{event.id}/proceedings")
    assert page.status_code == 404
    assert "appears as soon as the first session" in page.text
    assert client.get(f"/events/{event.id}/export/proceedings.docx").status_code == 404
    result = _cli(
        settings, "export", str(event.id), "--format", "md", "--output", str(tmp_path / "x.md")
    )
    assert result.returncode == 2 and "No report is in yet" in result.stderr


def test_the_cli_writes_the_book_in_each_format(
    exported: Exported, settings: Settings, tmp_path: Path
) -> None:
    _, event, _, _ = exported
    for fmt in ("html", "md", "docx"):
        target = tmp_path / f"book.{fmt}"
        result = _cli(settings, "export", event.join_code, "--format", fmt, "--output", str(target))
        assert result.returncode == 0, result.stderr
    html = (tmp_path / "book.html").read_text()
    assert "<style>" in html and "Free bus passes for carers" in html  # stands on its own
    assert Document(str(tmp_path / "book.docx")).paragraphs[0].text == "Łódź — اردو day"


def _votes_and_a_pledge(make: Factory, event: Event) -> None:
    """Three dots on the first action and one on its report, and one person's pledge."""
    voters = [make.participant(event, f"Voter {n}") for n in range(3)]
    with make.database.write() as session:
        event = session.get_one(Event, event.id)
        first = actions.action_lines(session, event)[0].action
        convergence.open_vote(session, event, True, 3)
        for voter in voters:
            convergence.place_dot(session, event, voter, "action", first.id or 0)
        convergence.place_dot(session, event, voters[0], "report", first.report_id)
        pledges.save_pledge(session, event, voters[0], PledgeForm(text="Ride the bus weekly"))


def _docx(client: TestClient, event: Event, query: str = "") -> DocxDocument:
    response = client.get(f"/events/{event.id}/export/proceedings.docx{query}")
    assert response.status_code == 200
    return Document(io.BytesIO(response.content))


def test_the_book_puts_each_figure_beside_its_label_counting_what_it_says(
    client: TestClient, make: Factory, after_the_day: Exported
) -> None:
    organiser, event, _, _ = after_the_day
    _votes_and_a_pledge(make, event)
    log_in(client, organiser.email)
    paragraphs = [p.text for p in _docx(client, event).paragraphs]
    # One pledge, in the singular; of three actions one is only proposed: two were agreed
    # (one of them is done since).
    for line in ("1 pledge made", "2 actions agreed", "2 sessions held", "2 reports written"):
        assert line in paragraphs  # the figure and its label in one line
    assert not any("pledges made" in p or "3 actions agreed" in p for p in paragraphs)
    markdown = client.get(f"/events/{event.id}/export/proceedings.md").content.decode()
    assert "- **1** pledge made\n" in markdown and "- **2** actions agreed\n" in markdown
    page = text_of(client.get(f"/events/{event.id}/proceedings").text)
    assert "1 pledge made" in page and "2 actions agreed" in page


def test_before_the_day_the_book_counts_sessions_to_come_not_held(
    client: TestClient, exported: Exported
) -> None:
    """Printed the evening before (to check it), the book does not say the day has happened."""
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    paragraphs = [p.text for p in _docx(client, event).paragraphs]
    assert "0 sessions held" in paragraphs and "2 sessions still to come" in paragraphs
    assert "2 sessions held" not in paragraphs


def test_the_book_writes_dates_in_words(client: TestClient, exported: Exported) -> None:
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    paragraphs = [p.text for p in _docx(client, event).paragraphs]
    assert any(
        p.startswith("Free bus passes for carers (Agreed;") and "due 1 September 2027" in p
        for p in paragraphs
    )
    assert any(p.startswith("Book of proceedings · Tuesday 4 May 2027") for p in paragraphs)
    assert not any("2027-09-01" in p for p in paragraphs)
    markdown = client.get(f"/events/{event.id}/export/proceedings.md").content.decode()
    assert "due 1 September 2027" in markdown and "2027-09-01" not in markdown
    page = client.get(f"/events/{event.id}/proceedings").text
    assert "1 September 2027" in text_of(page) and "2027-09-01" not in page


def test_the_book_of_a_polish_event_is_written_in_polish(
    client: TestClient, make: Factory, exported: Exported
) -> None:
    organiser, event, _, _ = exported
    with make.database.write() as session:
        session.get_one(Event, event.id).languages = "pl"
    log_in(client, organiser.email)  # the organiser reads the site in English
    document = _docx(client, event)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Spis treści" in headings  # Contents
    assert any("1 września 2027" in p.text for p in document.paragraphs)
    assert any("wtorek 4 maja 2027" in p.text for p in document.paragraphs)
    page = client.get(f"/events/{event.id}/proceedings").text
    assert '<html lang="pl"' in page and "1 września 2027" in text_of(page)


def test_the_docx_numbers_its_pages_and_its_contents_find_each_report(
    client: TestClient, exported: Exported
) -> None:
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    document = _docx(client, event)
    footer = document.sections[0].footer._element.xml
    codes = re.findall(r"<w:instrText[^>]*>([^<]*)</w:instrText>", footer)
    assert [code.strip() for code in codes] == ["PAGE", "NUMPAGES"]
    assert "Page " in document.sections[0].footer.paragraphs[0].text
    body = document.element.body
    marks = {}  # each heading's bookmark, which the contents look the page number up in
    for paragraph in document.paragraphs:
        for mark in paragraph._p.findall(qn("w:bookmarkStart")):
            marks[paragraph.text] = mark.get(qn("w:name"))
    assert {"Summary", "Transport", "Housing", "Actions by theme"} <= set(marks)
    references = [code.strip() for code in body.xpath(".//w:instrText/text()")]
    for title in ("Summary", "Transport", "Housing", "Actions by theme"):
        assert f"PAGEREF {marks[title]} \\h" in references
    links = [link.get(qn("w:anchor")) for link in body.iter(qn("w:hyperlink"))]
    assert marks["Transport"] in links and marks["Housing"] in links
    # Word works the page numbers out when it opens the file (LibreOffice always does).
    assert document.settings.element.find(qn("w:updateFields")) is not None


def test_the_book_opens_with_a_summary(
    client: TestClient, make: Factory, exported: Exported
) -> None:
    organiser, event, _, _ = exported
    _votes_and_a_pledge(make, event)
    log_in(client, organiser.email)
    document = _docx(client, event)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings.index("Summary") < headings.index("Contents") < headings.index("Transport")
    assert {"Top themes", "Most voted reports", "Most voted actions"} <= set(headings)
    paragraphs = [p.text for p in document.paragraphs]
    assert "Mobility — 1 action, 0 done" in paragraphs
    assert "1 dot — Transport" in paragraphs
    assert "3 dots — Free bus passes for carers (Transport)" in paragraphs
    statuses = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert statuses == {
        "Status": "Actions",
        "Proposed": "1",
        "Agreed": "1",
        "In progress": "0",
        "Done": "1",
        "Dropped": "0",
        "Total": "3",
    }
    page = client.get(f"/events/{event.id}/proceedings").text
    summary = text_of(page.split('id="summary"')[1].split("</section>")[0])
    assert "Mobility — 1 action, 0 done" in summary and "Proposed 1" in summary
    assert "3 dots — Free bus passes for carers (Transport)" in summary
    assert page.index('id="summary"') < page.index('id="contents-h"')


def test_the_printed_book_numbers_its_pages_and_lists_its_contents(
    exported: Exported, settings: Settings, tmp_path: Path
) -> None:
    _, event, _, _ = exported
    target = tmp_path / "book.html"
    result = _cli(settings, "export", event.join_code, "--format", "html", "--output", str(target))
    assert result.returncode == 0, result.stderr
    html = target.read_text()
    style = html.split("<style>")[1].split("</style>")[0]
    # The stylesheet travels as written: escaped, its quoted rules were lost.
    assert 'content: counter(page) " / " counter(pages)' in style and "&#34;" not in style
    contents = html.split('id="contents-h"')[1].split("</nav>")[0]
    assert '<a href="#summary">Summary</a>' in contents and "Transport" in contents


def test_each_report_of_the_demo_lists_only_its_own_key_points(database: Database) -> None:
    with database.write() as session:
        event, _, _ = demo.create_demo(session)
        the_book = proceedings.book(session, event)
        points = [chapter.entries[ContributionKind.key_point] for chapter in the_book.chapters]
        written = {
            report_id: session.exec(
                select(Contribution.body).where(
                    Contribution.report_id == report_id,
                    Contribution.kind == ContributionKind.key_point,
                )
            ).all()
            for report_id in [
                line.report.id for line in reports.sessions(session, event) if line.report
            ]
        }
    assert len(points) == 2 and all(points)
    assert not set(points[0]) & set(points[1])  # nothing of one session under another
    assert sorted(map(sorted, points)) == sorted(map(sorted, written.values()))
