"""The "one year on" report: the page to print and the Word file, read back as the organiser's
board would read them (python-docx; LibreOffice's PDF where it is installed)."""

import io
import shutil
import subprocess
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import log_in, text_of
from tests.factories import Factory
from tests.integration.test_followup_dashboard import a_year_on, clock  # noqa: F401


def test_report_page_tells_what_became_of_each_action_and_pledge(
    client: TestClient,
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    year = a_year_on(make)
    log_in(client, year.organiser.email)
    page = client.get(f"/organiser/events/{year.event.id}/one-year-on")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script" not in page.text
    text = text_of(page.text)
    assert "As at 20 November 2026." in text
    assert (
        "Done (2) Damp checks by GPs — Damp homes and health. Last update 2 Apr 2026: "
        "All practices. Insulation grants leaflet — Damp homes and health. Last update "
        "20 Jan 2026: Printed 5,000." in text
    )
    assert (
        "Night bus pilot — Buses after dark, Owner: Council team, In progress. "
        "Last update 10 Feb 2026: Operator agreed." in text
    )
    assert "Tenants' forum — Damp homes and health, Owner: Council team, Agreed. No update" in text
    assert "Dropped (1) Bus stop lighting audit" in text
    assert "Asked 40 families." in text
    assert page.text.count('role="img"') == 5
    dashboard = client.get(f"/organiser/events/{year.event.id}/dashboard").text
    assert f'href="/organiser/events/{year.event.id}/one-year-on.docx"' in dashboard


def test_report_as_word_opens_with_its_actions_and_the_figures_tables(
    client: TestClient,
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    year = a_year_on(make)
    log_in(client, year.organiser.email)
    got = client.get(f"/organiser/events/{year.event.id}/one-year-on.docx")
    assert got.status_code == 200
    assert 'filename="healthy-towns-2025-one-year-on.docx"' in got.headers["content-disposition"]
    document = docx.Document(io.BytesIO(got.content))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "One year on: Healthy towns 2025"
    assert "Still open, and who carries it (2)" in paragraphs
    assert any(
        p.startswith("Night bus pilot — Buses after dark, Owner: Council team") for p in paragraphs
    )
    assert any("Asked 40 families." in p for p in paragraphs)
    tables = [
        [[cell.text for cell in row.cells] for row in table.rows] for table in document.tables
    ]
    assert len(tables) == 5
    burn_down = tables[0]
    assert burn_down[0] == ["Date", "Open", "Done", "Dropped"]
    assert burn_down[-1] == ["20 Nov 2026", "2", "2", "1"]
    assert ["Warm homes", "1", "2", "0"] in tables[1]


def test_report_becomes_a_pdf_with_libreoffice(
    client: TestClient,
    make: Factory,
    tmp_path: Path,
    clock: None,  # noqa: F811
) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    year = a_year_on(make)
    log_in(client, year.organiser.email)
    source = tmp_path / "one-year-on.docx"
    source.write_bytes(client.get(f"/organiser/events/{year.event.id}/one-year-on.docx").content)
    subprocess.run(
        [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    pdf = (tmp_path / "one-year-on.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000


def test_report_is_for_the_events_organisers_only(
    client: TestClient,
    make: Factory,
    clock: None,  # noqa: F811
) -> None:
    year = a_year_on(make)
    log_in(client, make.organiser("someone@example.org").email)
    for suffix in ("", ".docx"):
        assert (
            client.get(f"/organiser/events/{year.event.id}/one-year-on{suffix}").status_code == 403
        )
