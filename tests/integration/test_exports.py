"""Exports opened with real readers: csv, openpyxl, json — names in any script, formulas
neutralised, filters applied, only for the event's organisers and facilitators, and personal
data only for its organisers."""

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from icalendar import Calendar
from openpyxl import load_workbook

from app.config import Settings
from app.db import Database
from app.models import Event, EventStaff, Organiser, Role, Topic
from app.services import events
from tests.conftest import claim, log_in, post_form, text_of
from tests.factories import INJECTION, Factory
from tests.integration.test_errors_and_cli import _cli


def _download(client: TestClient, event: Event, fmt: str, **query: str) -> bytes:
    response = client.get(f"/events/{event.id}/export/actions.{fmt}", params=query)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    return response.content


def test_the_action_list_as_csv_opens_with_names_in_any_script_and_no_formulas(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic]
) -> None:
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    tracker = client.get(f"/organiser/events/{event.id}/actions").text
    assert f'action="/events/{event.id}/export/actions.csv"' in tracker
    content = _download(client, event, "csv")
    assert content.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [row["Action"] for row in rows] == [
        "Free bus passes for carers",
        "اردو میں معلومات",
        "'" + INJECTION,
    ]
    assert rows[0]["Owner"] == "Zażółć Gęślą" and rows[0]["Due"] == "2027-09-01"
    assert rows[0]["Owner e-mail"] == "zazolc@example.pl"  # she agreed to share it
    assert rows[1]["Owner"] == "عائشہ خان" and rows[1]["Owner e-mail"] == ""  # she did not
    assert rows[2]["Owner"] == "'-1+1"
    assert rows[0]["Session"] == "Transport" and rows[0]["Time"] == "2027-05-04 10:00"


def test_the_action_list_as_xlsx_has_a_frozen_header_filters_and_real_dates(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic]
) -> None:
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    book = load_workbook(io.BytesIO(_download(client, event, "xlsx")))
    sheet = book["Actions"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == sheet.dimensions
    assert sheet["A1"].value == "Action" and sheet["A3"].value == "اردو میں معلومات"
    assert sheet["E1"].value == "Due"
    assert sheet["E2"].is_date and sheet["E2"].value.date() == date(2027, 9, 1)
    assert sheet["A4"].value == "'" + INJECTION and sheet["A4"].data_type == "s"
    assert sheet.column_dimensions["A"].width >= 25 and sheet["A2"].alignment.wrap_text
    assert "By theme" in book.sheetnames


def test_the_action_list_as_xlsx_prints_landscape_one_page_wide_with_the_header_repeated(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic]
) -> None:
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    book = load_workbook(io.BytesIO(_download(client, event, "xlsx")))
    for sheet in (book["Actions"], book["By theme"]):
        setup = sheet.page_setup
        assert setup.orientation == "landscape" and setup.paperSize == 9  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert setup.fitToWidth == 1 and setup.fitToHeight == 0  # one page wide, any long
        assert sheet.print_title_rows == "$1:$1"  # the header on every printed page
        assert "&P" in sheet.oddFooter.center.text  # page numbers
    sheet = book["Actions"]
    # Fitted to a landscape A4 page at about two thirds of full size, not a fifth of it.
    total = sum(sheet.column_dimensions[c].width for c in "ABCDEFGHIJKLMN")
    assert 150 <= total <= 240, total
    assert sheet["E2"].number_format == "d mmm yyyy"  # 1 Sep 2027, on the page
    assert sheet.row_dimensions[2].height >= 15  # tall enough for its wrapped text


def test_filters_and_the_export_without_personal_data(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic]
) -> None:
    organiser, event, _, second = exported
    log_in(client, organiser.email)
    done = json.loads(_download(client, event, "json", status="done"))
    assert [a["action"] for a in done["actions"]] == ["اردو میں معلومات"]
    in_session = json.loads(_download(client, event, "json", session=str(second.id)))
    assert [a["session"] for a in in_session["actions"]] == ["Housing"]
    by_owner = json.loads(_download(client, event, "json", owner="zażółć"))
    assert len(by_owner["actions"]) == 1
    anonymous = _download(client, event, "csv", personal="0").decode("utf-8-sig")
    assert "Zażółć" not in anonymous and "عائشہ" not in anonymous
    assert "'-1+1" in anonymous  # a name typed for an organisation is not a participant's
    assert "zazolc@example.pl" not in anonymous


def test_only_organisers_and_facilitators_export(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic], make: Factory
) -> None:
    _, event, _, _ = exported
    url = f"/events/{event.id}/export/actions.csv"
    assert client.get(url).headers.get("location", "").startswith("/login")
    post_form(client, f"/e/{event.join_code}/join", {"display_name": "Curious"})
    assert client.get(url).status_code in (303, 403)
    stranger = make.organiser()
    log_in(client, stranger.email)
    assert client.get(url).status_code == 403
    assert client.get(f"/events/{event.id}/export/actions.exe").status_code in (403, 404)


def test_the_cli_writes_the_same_action_list(
    exported: tuple[Organiser, Event, Topic, Topic], settings: Settings, tmp_path: Path
) -> None:
    _, event, _, _ = exported
    target = tmp_path / "actions.xlsx"
    result = _cli(settings, "export", event.join_code, "--format", "xlsx", "--output", str(target))
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(target)["Actions"]
    assert sheet["A2"].value == "Free bus passes for carers"
    missing = _cli(settings, "export", "NOSUCH", "--format", "csv", "--output", str(target))
    assert missing.returncode == 2 and "There is no event" in missing.stderr
    unknown = _cli(settings, "export", str(event.id), "--format", "pdf", "--output", str(target))
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_calendars_of_the_sessions_my_agenda_and_the_due_dates(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic], make: Factory
) -> None:
    organiser, event, first, _ = exported
    post_form(client, f"/e/{event.join_code}/join", {"display_name": "Calendar Person"})
    assert (
        post_form(client, f"/e/{event.join_code}/topics/{first.id}/sign-up", {}).status_code == 303
    )  # type: ignore[attr-defined]
    everything = Calendar.from_ical(client.get(f"/e/{event.join_code}/sessions.ics").content)
    assert sorted(str(e["summary"]) for e in everything.walk("VEVENT")) == ["Housing", "Transport"]
    mine = Calendar.from_ical(client.get(f"/e/{event.join_code}/agenda.ics").content)
    [seat] = mine.walk("VEVENT")
    assert str(seat["summary"]) == "Transport" and "Hall" in str(seat["location"])
    assert seat.decoded("dtstart") == datetime(2027, 5, 4, 9, 0, tzinfo=UTC)  # 10:00 in London
    log_in(client, organiser.email)
    due = Calendar.from_ical(client.get(f"/events/{event.id}/export/actions.ics").content)
    [entry] = due.walk("VEVENT")
    assert str(entry["summary"]) == "Due: Free bus passes for carers"
    assert entry.decoded("dtstart") == date(2027, 9, 1)


# What the `exported` event holds that is personal: a participant's name in two scripts, an
# e-mail she agreed to share and one that was never to leave the organisers.
PERSONAL = ("Zażółć", "zazolc@example.pl", "عائشہ", "private@example.org")
EVERY_EXPORT = (
    "/export/actions.csv",
    "/export/actions.xlsx?personal=1",
    "/export/actions.json?personal=1",
    "/export/actions.ics?personal=1",
    "/export/sessions.ics?personal=1",
    "/export/proceedings.md?personal=1",
    "/export/proceedings.html?personal=1",
    "/export/proceedings.docx?personal=1",
    "/proceedings?personal=1",
    "/print/agenda?personal=1",
    "/export/archive.zip",
    "/export/archive.zip?personal=1",
)


def _readable(content: bytes) -> str:
    """All the text of a file, opening ZIP files (the archive, XLSX, DOCX) all the way down."""
    if content.startswith(b"PK"):
        bundle = zipfile.ZipFile(io.BytesIO(content))
        return "\n".join(_readable(bundle.read(name)) for name in bundle.namelist())
    return content.decode("utf-8", "replace")


def _nothing_personal_in_any_export(client: TestClient, event: Event) -> None:
    for path in EVERY_EXPORT:
        response = client.get(f"/events/{event.id}{path}")
        assert response.status_code == 200, path
        text = _readable(response.content)
        assert not [p for p in PERSONAL if p in text], path
        if "archive" in path:
            assert "event.json" not in zipfile.ZipFile(io.BytesIO(response.content)).namelist()


def test_exports_through_a_facilitator_link_hold_no_personal_data(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic], database: Database
) -> None:
    _, event, _, _ = exported
    with database.write() as session:
        link = events.create_facilitator_link(session, event, "Front desk")
    signer = client.app.state.signer  # type: ignore[attr-defined]
    assert claim(client, "/f/" + signer.sign("facilitator", link.id or 0)).status_code == 303
    _nothing_personal_in_any_export(client, event)
    page = client.get(f"/facilitate/{event.id}/outcomes").text
    assert f'href="/events/{event.id}/export/archive.zip"' not in page
    assert f'href="/events/{event.id}/export/archive.zip?personal=0"' in page
    assert "are for its organisers" in text_of(page)


def test_exports_for_a_facilitator_account_hold_no_personal_data(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic], make: Factory
) -> None:
    _, event, _, _ = exported
    facilitator = make.organiser()
    with make.database.write() as session:
        session.add(
            EventStaff(
                event_id=event.id or 0, organiser_id=facilitator.id or 0, role=Role.facilitator
            )
        )
    log_in(client, facilitator.email)
    _nothing_personal_in_any_export(client, event)


def test_an_organiser_gets_the_archive_with_personal_data_and_it_says_so(
    client: TestClient, exported: tuple[Organiser, Event, Topic, Topic]
) -> None:
    organiser, event, _, _ = exported
    log_in(client, organiser.email)
    page = text_of(client.get(f"/organiser/events/{event.id}").text)
    assert "Download the full archive (ZIP) — it holds personal data" in page
    response = client.get(f"/events/{event.id}/export/archive.zip")
    assert "archive-with-personal-data.zip" in response.headers["content-disposition"]
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    assert "PERSONAL DATA" in bundle.read("README.txt").decode()
    assert "private@example.org" in bundle.read("event.json").decode()  # for moving servers
    # The files meant for reading still carry only the e-mail she agreed to share.
    actions = bundle.read("actions.csv").decode("utf-8-sig")
    assert "zazolc@example.pl" in actions and "private@example.org" not in actions
    anonymous = client.get(f"/events/{event.id}/export/archive.zip?personal=0").content
    assert not [p for p in PERSONAL if p in _readable(anonymous)]
