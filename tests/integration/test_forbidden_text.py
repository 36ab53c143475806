"""Characters XML forbids, lone surrogates, U+202E and very long text: what people type is
cleaned where it is read, and no export of the event breaks on any of it."""

import io
import json
import zipfile

import pytest
from docx import Document
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from app.models import Contribution, Event, Organiser, Topic
from app.models.event import as_typed
from tests.conftest import log_in, post_form, text_of
from tests.factories import Factory

# Every character XML 1.0 forbids that a person could paste, one of each kind: C0 controls,
# DEL, the non-characters of the first and last planes and of the Arabic block.
FORBIDDEN = [
    *map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]),
    "\ufffe",
    "\uffff",
    "\ufdd0",
    "\ufdef",
    "\U0001fffe",
    "\U0010ffff",
]
RLO = "\u202e"
EXPORTS = ["csv", "xlsx", "json", "md", "docx", "html", "ics", "zip"]


def _every_export(client: TestClient, event: Event) -> dict[str, bytes]:
    files = {}
    for fmt in EXPORTS:
        path = (
            f"/events/{event.id}/export/actions.{fmt}"
            if fmt in ("csv", "xlsx", "json")
            else f"/events/{event.id}/export/archive.zip"
            if fmt == "zip"
            else f"/events/{event.id}/export/sessions.ics"
            if fmt == "ics"
            else f"/events/{event.id}/export/proceedings.{fmt}"
        )
        answer = client.get(path)
        assert answer.status_code == 200, (fmt, answer.status_code)
        files[fmt] = answer.content
    assert client.get(f"/events/{event.id}/proceedings").status_code == 200
    return files


def _opens(files: dict[str, bytes]) -> str:
    """Every file opens in what people open it with; returns all their text."""
    book = load_workbook(io.BytesIO(files["xlsx"]))
    cells = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value]
    words = [p.text for p in Document(io.BytesIO(files["docx"])).paragraphs]
    with zipfile.ZipFile(io.BytesIO(files["zip"])) as bundle:
        assert bundle.testzip() is None
        names = bundle.namelist()
    json.loads(files["json"])
    return "\n".join([*cells, *words, *names, files["csv"].decode("utf-8-sig")])


@pytest.mark.parametrize("character", FORBIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_forbidden_character_is_dropped_where_it_is_typed(
    app: FastAPI, make: Factory, character: str
) -> None:
    event = make.event()
    browser = TestClient(app, follow_redirects=False)
    joined = post_form(browser, f"/e/{event.join_code}/join", {"display_name": f"Ad{character}a"})
    assert joined.status_code == 303  # type: ignore[attr-defined]
    assert "Ada" in text_of(browser.get(f"/e/{event.join_code}").text)


def test_no_export_breaks_on_text_nobody_could_type_well(
    app: FastAPI, make: Factory, exported: tuple[Organiser, Event, Topic, Topic]
) -> None:
    organiser, event, transport, _ = exported
    pasted = "Bus" + "".join(FORBIDDEN) + RLO + "pass"
    browser = TestClient(app, follow_redirects=False)
    post_form(browser, f"/e/{event.join_code}/join", {"display_name": pasted})
    post_form(
        browser,
        f"/e/{event.join_code}/reports/{transport.id}/contributions",
        {"kind": "key_point", "body": pasted},
    )
    # Text written before the cleaning existed, or by another program: the exports still
    # open, without the characters they cannot hold. (No database stores NUL or a lone
    # surrogate: PostgreSQL refuses the one, UTF-8 cannot hold the other.)
    stored = "".join(c for c in FORBIDDEN if c != "\x00")
    with make.database.write() as session:
        session.execute(update(Contribution).values(body="Old" + stored + "x" * 10_000))
        session.execute(
            update(Topic).where(Topic.id == transport.id).values(title="Tr\uffffansport")  # type: ignore[arg-type]
        )
    log_in(browser, organiser.email)
    text = _opens(_every_export(browser, event))
    assert "Bus" + RLO + "pass" in text
    assert "Transport" in text and "x" * 1000 in text
    assert not set(FORBIDDEN) & set(text)


def test_lone_surrogate_sent_as_json_is_dropped() -> None:
    assert as_typed("a\ud800b\udfffc") == "abc"
    assert as_typed("a" + RLO + "b") == "a" + RLO + "b"
