"""The book of proceedings: a print-ready page, a Word file and Markdown, from the first report
on; names in any script, e-mails only where shared, nothing typed taken for markup."""

import io
from datetime import time
from pathlib import Path

from docx import Document
from fastapi.testclient import TestClient

from app.config import Settings
from app.models import Event, Organiser, Topic
from tests.conftest import log_in, text_of
from tests.factories import Factory, placed_topic
from tests.integration.test_errors_and_cli import _cli

Exported = tuple[Organiser, Event, Topic, Topic]


def test_the_proceedings_page_has_a_cover_contents_and_a_report_per_session(
    client: TestClient, exported: Exported
) -> None:
    organiser, event, _, _ = exported
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


def test_the_book_as_docx_opens_in_a_word_reader(client: TestClient, exported: Exported) -> None:
    organiser, event, _, _ = exported
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
